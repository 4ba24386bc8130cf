// Drop-in compatibility with the original operator: its sample Consumers apply unchanged and
// give the Deployments it would give, and Deployments it created are adopted without restarts.
import { after, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import type { Operator } from '../../src/controller/operator.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { kubeConfig, newNamespace, waitFor, deleteTestNamespaces } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient, startOperator } from '../support/operator.js';
import { ClusterView, env, rawGet } from '../support/cluster.js';
import { originalCiConsumer, originalSampleConsumer } from '../fixtures/original/consumers.js';
import { originalDeployment } from '../fixtures/original/deployments.js';

const consumers = new ConsumerClient();
const cluster = new ClusterView();
let operator: Operator | undefined;
after(async () => {
  await deleteTestNamespaces();
  await operator?.stop();
});

/** Typed client objects as plain JSON, for deep comparisons. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

async function ensureNamespace(name: string): Promise<void> {
  try {
    await cluster.core.readNamespace({ name });
  } catch {
    await cluster.core.createNamespace({ body: { metadata: { name } } });
  }
  await waitFor(`serviceaccount ${name}/default`, () =>
    cluster.core.readNamespacedServiceAccount({ name: 'default', namespace: name }),
  );
}

test("the original's sample Consumers apply unchanged and give the original's Deployments", async () => {
  await installCrd(kubeConfig());
  operator ??= await startOperator();
  for (const [readSample, instances, containers] of [
    [originalSampleConsumer, 10, ['consumer']],
    [originalCiConsumer, 4, ['busybox-info', 'consumer']],
  ] as const) {
    const sample = readSample();
    const ns = sample.spec.namespace;
    await ensureNamespace(ns);
    await consumers.custom.createNamespacedCustomObject({
      group: 'konsumerator.lwolf.org',
      version: 'v1',
      plural: 'consumers',
      namespace: ns,
      body: sample,
    });
    try {
      await consumers.waitReady(ns, sample.metadata.name, 90_000);
      await cluster.waitAllRunning(ns, instances);
      const deployments = (await cluster.deployments(ns)).filter(
        (d) => d.metadata!.labels?.controller === sample.metadata.name,
      );
      assert.deepEqual(
        deployments.map((d) => d.metadata!.name),
        Array.from({ length: instances }, (_, i) => `test-consumer-${i}`),
      );
      for (const [i, d] of deployments.entries()) {
        assert.deepEqual(
          d.spec!.template.spec!.containers.map((c) => c.name),
          containers,
        );
        for (const [index] of containers.entries()) {
          const vars = env(d, index);
          assert.equal(vars.KONSUMERATOR_PARTITION, String(i));
          assert.equal(vars.KONSUMERATOR_INSTANCE, String(i));
          assert.equal(vars.KONSUMERATOR_NUM_PARTITIONS, String(sample.spec.numPartitions));
          assert.equal(vars.KONSUMERATOR_NUM_INSTANCES, String(instances));
          assert.equal(vars.GOMAXPROCS, '1');
          // Every container of the samples has a policy: the min fallback, 100m and 100M.
          assert.deepEqual(plain(d.spec!.template.spec!.containers[index]!.resources), {
            requests: { cpu: '100m', memory: '100M' },
            limits: { cpu: '100m', memory: '100M' },
          });
        }
        assert.equal(env(d, containers.indexOf('consumer')).TEST_KEY, 'test-value');
        assert.deepEqual(d.metadata!.labels, {
          app: 'test-consumer',
          controller: 'consumer-sample',
          partitions: String(i),
        });
        assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/partition'], String(i));
        assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/consumer-id'], String(i));
        assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/scaling-status'], 'RUNNING');
        assert.match(d.metadata!.annotations!['konsumerator.lwolf.org/generation']!, /^\d+$/);
      }
    } finally {
      await consumers.delete(ns, sample.metadata.name);
      await waitFor(
        `${ns} cleaned`,
        async () => (await cluster.deploymentNames(ns)).every((n) => !n.startsWith('test-consumer-')),
        60_000,
      );
    }
  }
});

test('Deployments created by the original operator are adopted without restarting their pods', async () => {
  await installCrd(kubeConfig());
  await operator?.stop();
  operator = undefined;
  const ns = await newNamespace('adopt');
  const spec: ConsumerSpec = {
    ...originalSampleConsumer().spec,
    namespace: ns,
    numPartitions: 4,
    numPartitionsPerInstance: 2,
  };
  const consumer = await consumers.create(ns, 'legacy', spec);
  for (const [id, partitions] of [
    [0, [0, 1]],
    [1, [2, 3]],
  ] as const) {
    await cluster.apps.createNamespacedDeployment({
      namespace: ns,
      body: originalDeployment(consumer, id, [...partitions], 2),
      fieldManager: 'manager',
    });
  }
  await cluster.waitAllRunning(ns, 2);
  const before = await cluster.deployments(ns);
  const rawBefore = await rawGet<{ items: V1Deployment[] }>(`/apis/apps/v1/namespaces/${ns}/deployments`);
  const pods = await cluster.podUidsByDeployment(ns);
  const replicaSets = (await cluster.apps.listNamespacedReplicaSet({ namespace: ns })).items
    .map((r) => r.metadata!.name)
    .sort();

  operator = await startOperator();
  await consumers.waitReady(ns, 'legacy');
  const adopted = await cluster.deployments(ns);
  for (const [i, d] of adopted.entries()) {
    assert.ok(d.metadata!.annotations!['konsumerator.lwolf.org/render-hash'], 'stamped as managed');
    assert.deepEqual(
      plain(d.spec!.template),
      plain(before[i]!.spec!.template),
      'the pod template was not changed',
    );
    const rawAfter = await rawGet<{ items: V1Deployment[] }>(`/apis/apps/v1/namespaces/${ns}/deployments`);
    assert.deepEqual(rawAfter.items[i]!.spec, rawBefore.items[i]!.spec);
    // metadata.generation moves anyway: Deployments count annotation changes as generations.
    assert.equal(env(d).GOMEMLIMIT, '240MiB', "the original's GOMEMLIMIT stays while the limit stays");
  }
  assert.deepEqual(await cluster.podUidsByDeployment(ns), pods, 'same pods');
  assert.deepEqual(
    (await cluster.apps.listNamespacedReplicaSet({ namespace: ns })).items
      .map((r) => r.metadata!.name)
      .sort(),
    replicaSets,
  );
});
