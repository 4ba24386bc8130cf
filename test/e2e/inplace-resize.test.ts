// In-place actuation on the real control plane (kwok plays the kubelet, see docs/testplane.md):
// the operator's decisions reach the running pods through pods/resize, the pod template stays, a
// replacement pod is resized on sight, a rollout the user causes carries the current size, and a
// restarted operator writes nothing.
import { describe, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { Annotation } from '../../src/api/constants.js';
import { kubeConfig, newNamespace, waitFor } from '../support/env.js';
import {
  ConsumerClient,
  apiRequestCounts,
  operatorForThisFile,
  operatorWrites,
  startOperator,
} from '../support/operator.js';
import {
  busy,
  calm,
  cluster,
  envOf,
  instancePods,
  replicaSetUids,
  resourcesAnnotation,
  restartsOf,
  sized,
  specOf,
  staticSpec,
  statusOf,
  templateOf,
  waitPodAt,
} from '../support/in-place.js';
import { normalized } from '../support/pod-resize.js';

const consumers = new ConsumerClient();
const running = operatorForThisFile();

const small = { requests: { cpu: '100m', memory: '100M' }, limits: { cpu: '1', memory: '100M' } };
const threeCores = sized('3', '300M');

const eventsWith = async (namespace: string, reason: string) =>
  (await kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({ namespace })).items.filter(
    (e) => e.reason === reason && e.source?.component === 'konsumerator',
  );

describe('a Consumer of three instances resized in place', () => {
  let ns = '';
  const spec = (partitions: Record<string, typeof calm>) => staticSpec(ns, { partitions, sidecar: true });

  test('the hot instance grows in place: same pods, no restart, no new ReplicaSet, template and sidecar untouched', async () => {
    ns = await newNamespace('inplace');
    await consumers.create(ns, 'orders', spec({ '0': calm, '1': calm, '2': calm }));
    await consumers.waitReady(ns, 'orders');
    await cluster.waitAllRunning(ns, 3);
    for (const name of ['orders-0', 'orders-1', 'orders-2']) await waitPodAt(ns, name, small);
    const before = await instancePods(ns);
    const replicaSets = await replicaSetUids(ns);

    await consumers.setSpec(ns, 'orders', spec({ '0': calm, '1': busy(3), '2': calm }));
    const pod = await waitPodAt(ns, 'orders-1', threeCores);

    const after = await instancePods(ns);
    for (const [name, { deployment, pods }] of after) {
      const was = before.get(name)!;
      assert.deepEqual(
        pods.map((p) => p.metadata!.uid),
        was.pods.map((p) => p.metadata!.uid),
        `${name}: the same pods`,
      );
      assert.deepEqual(restartsOf(pods[0]!), { consumer: 0, side: 0 }, `${name}: no restart`);
      // (An annotation change bumps a Deployment's generation, but its template stays.)
      assert.equal(
        deployment.metadata!.annotations!['deployment.kubernetes.io/revision'],
        was.deployment.metadata!.annotations!['deployment.kubernetes.io/revision'],
        `${name}: no new revision`,
      );
      assert.deepEqual(templateOf(deployment), small, `${name}: the template keeps its resources`);
      assert.deepEqual(specOf(pods[0]!, 'side'), specOf(was.pods[0]!, 'side'), `${name}: sidecar spec`);
      assert.deepEqual(statusOf(pods[0]!, 'side'), statusOf(was.pods[0]!, 'side'), `${name}: sidecar status`);
    }
    assert.deepEqual(await replicaSetUids(ns), replicaSets, 'no new ReplicaSet');
    assert.deepEqual(specOf(pod), threeCores, 'the scaled container’s spec');
    assert.deepEqual(statusOf(pod), threeCores, 'and what the node reports');
    for (const name of ['orders-0', 'orders-2']) {
      const [other] = after.get(name)!.pods;
      assert.deepEqual(specOf(other!), small, `${name} untouched`);
    }
    const d1 = after.get('orders-1')!.deployment;
    assert.deepEqual(resourcesAnnotation(d1), { container: 'consumer', ...threeCores });
    assert.equal(d1.metadata!.annotations![Annotation.scalingStatus], 'RUNNING');
    assert.equal(after.get('orders-0')!.deployment.metadata!.annotations![Annotation.resources], undefined);
    // GOMEMLIMIT was fixed at start from the 100M limit; the new limit is above it.
    assert.equal(envOf(pod).GOMEMLIMIT, '76MiB');

    const consumer = await waitFor('status.instances shows the new size', async () => {
      const c = await consumers.get(ns, 'orders');
      return c.status?.instances?.find((i) => i.id === 1)?.cpu === '3' ? c : undefined;
    });
    const condition = consumer.status!.conditions!.find((c) => c.type === 'InPlaceResize')!;
    assert.equal(condition.status, 'True');
    assert.equal(condition.reason, 'InPlace');
    const resizedEvents = await waitFor('a ResizedInPlace event', async () => {
      const list = await eventsWith(ns, 'ResizedInPlace');
      return list.length > 0 ? list : undefined;
    });
    assert.match(resizedEvents[0]!.message!, /orders-1 to cpu 3\/3, memory 300M\/300M/);
    assert.equal((await eventsWith(ns, 'Updated')).length, 0, 'no Deployment update event');
  });

  test('a pod deleted by hand comes back at the current size', async () => {
    const [pod] = (await instancePods(ns)).get('orders-1')!.pods;
    const replicaSets = await replicaSetUids(ns);
    const started = performance.now();
    await cluster.core.deleteNamespacedPod({ name: pod!.metadata!.name!, namespace: ns });
    const replacement = await waitFor('the replacement pod at 3 cores', async () => {
      const [p] = (await instancePods(ns)).get('orders-1')!.pods;
      return p &&
        p.metadata!.uid !== pod!.metadata!.uid &&
        JSON.stringify(statusOf(p)) === JSON.stringify(threeCores)
        ? p
        : undefined;
    });
    console.log(
      `replacement pod at the current size ${((performance.now() - started) / 1000).toFixed(1)} s after the delete`,
    );
    assert.deepEqual(specOf(replacement), threeCores);
    assert.deepEqual(restartsOf(replacement), { consumer: 0, side: 0 });
    // It started from the template (GOMEMLIMIT of 100M) and was resized, not rolled.
    assert.equal(envOf(replacement).GOMEMLIMIT, '76MiB');
    assert.deepEqual(await replicaSetUids(ns), replicaSets, 'no new ReplicaSet');
  });

  test('a restarted operator knows every size and writes nothing', async () => {
    await new Promise((r) => setTimeout(r, 2000)); // let the operator settle
    await running.operator!.stop();
    const before = await apiRequestCounts();
    running.operator = await startOperator();
    await new Promise((r) => setTimeout(r, 6000));
    const writes = operatorWrites(before, await apiRequestCounts());
    assert.deepEqual(writes, {}, `writes after restart: ${JSON.stringify(writes)}`);
  });

  test('the user’s image change rolls each instance once, carrying the current size', async () => {
    const replicaSets = await replicaSetUids(ns);
    const before = await instancePods(ns);
    const changed = spec({ '0': calm, '1': busy(3), '2': calm });
    changed.deploymentTemplate.template.spec!.containers[0]!.image = 'example.com/orders-consumer:2.0';
    const counts = await apiRequestCounts();
    // (Not a literal: the first test's change made generation 2, so this is 3. A wait for 2 passed
    // at once, or never when the operator answered before the first read.)
    const generation = await consumers.setSpec(ns, 'orders', changed);
    await waitFor(
      'status for the new generation',
      async () => (await consumers.get(ns, 'orders')).status?.observedGeneration === generation,
    );
    await consumers.waitReady(ns, 'orders');
    await cluster.waitAllRunning(ns, 3);
    const pod = await waitPodAt(ns, 'orders-1', threeCores);
    const writes = operatorWrites(counts, await apiRequestCounts());
    delete writes['PUT konsumerator.lwolf.org/consumers'];
    assert.equal(writes['APPLY apps/deployments'], 3, JSON.stringify(writes));
    assert.equal(
      writes['PATCH /pods/resize'],
      undefined,
      `the new pods start at their size: ${JSON.stringify(writes)}`,
    );
    const after = await instancePods(ns);
    for (const [name, { deployment }] of after)
      assert.equal(
        Number(deployment.metadata!.annotations!['deployment.kubernetes.io/revision']),
        Number(before.get(name)!.deployment.metadata!.annotations!['deployment.kubernetes.io/revision']) + 1,
        `${name}: one new revision`,
      );
    assert.equal((await replicaSetUids(ns)).length, replicaSets.length + 3, 'one new ReplicaSet each');
    const d1 = after.get('orders-1')!.deployment;
    assert.deepEqual(templateOf(d1), threeCores, 'the template carries the current size');
    assert.equal(d1.metadata!.annotations![Annotation.resources], undefined, 'no separate size any more');
    assert.equal(pod.spec!.containers[0]!.image, 'example.com/orders-consumer:2.0');
    assert.equal(envOf(pod).GOMEMLIMIT, '228MiB', 'GOMEMLIMIT from the 300M it starts with');
    assert.equal(envOf(pod).GOMAXPROCS, '8', 'GOMAXPROCS: the policy maximum, for later in-place growth');
    assert.deepEqual(
      normalized(pod.spec!.containers[1]!.resources),
      normalized(before.get('orders-1')!.pods[0]!.spec!.containers[1]!.resources),
    );
  });

  test('the hot instance shrinks back in place without a restart', async () => {
    const [pod] = (await instancePods(ns)).get('orders-1')!.pods;
    const replicaSets = await replicaSetUids(ns);
    const calmSpec = spec({ '0': calm, '1': calm, '2': calm });
    calmSpec.deploymentTemplate.template.spec!.containers[0]!.image = 'example.com/orders-consumer:2.0';
    await consumers.setSpec(ns, 'orders', calmSpec);
    // The pod started at 300M with GOMEMLIMIT 228MiB: its memory limit stays at 285MiB (228MiB ÷ 0.8).
    const held = { requests: { cpu: '100m', memory: '100M' }, limits: { cpu: '1', memory: '285Mi' } };
    const shrunk = await waitPodAt(ns, 'orders-1', held);
    assert.equal(shrunk.metadata!.uid, pod!.metadata!.uid, 'the same pod');
    assert.deepEqual(restartsOf(shrunk), { consumer: 0, side: 0 });
    assert.deepEqual(await replicaSetUids(ns), replicaSets);
    const d1 = (await instancePods(ns)).get('orders-1')!.deployment;
    assert.deepEqual(resourcesAnnotation(d1), { container: 'consumer', ...small }, 'the decision');
  });
});
