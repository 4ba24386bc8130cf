// The controller on the real control plane: instances, repartitioning, rollouts, drift, garbage
// collection, name clashes and invalid specs.
import { describe, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { Watch, type V1Deployment } from '@kubernetes/client-node';
import { kubeConfig, newNamespace, waitFor } from '../support/env.js';
import {
  ConsumerClient,
  apiRequestCounts,
  operatorWrites,
  operatorForThisFile,
  startOperator,
  totalWrites,
} from '../support/operator.js';
import { ClusterView, env } from '../support/cluster.js';
import { baseSpec } from '../support/consumers.js';
import { KubeWriter } from '../../src/controller/kube.js';
import { KubeClient } from '../../src/kube/client.js';

const consumers = new ConsumerClient();
const cluster = new ClusterView();
const running = operatorForThisFile();

/** Waits for the operator to settle, then counts its writes over `quietMs`. */
async function writesDuring(quietMs: number): Promise<Record<string, number>> {
  const before = await apiRequestCounts();
  await new Promise((r) => setTimeout(r, quietMs));
  return operatorWrites(before, await apiRequestCounts());
}

describe('instances', () => {
  test('10 partitions at 3 per instance run as 4 Deployments with running pods', async () => {
    const ns = await newNamespace('instances');
    const created = await consumers.create(ns, 'orders', baseSpec({ namespace: ns }));
    await consumers.waitReady(ns, 'orders');
    await cluster.waitAllRunning(ns, 4);
    const deployments = await cluster.deployments(ns);
    assert.deepEqual(
      deployments.map((d) => d.metadata!.name),
      ['orders-0', 'orders-1', 'orders-2', 'orders-3'],
    );
    assert.deepEqual(
      deployments.map((d) => env(d).KONSUMERATOR_PARTITION),
      ['0,1,2', '3,4,5', '6,7', '8,9'],
    );
    for (const [i, d] of deployments.entries()) {
      assert.equal(env(d).KONSUMERATOR_INSTANCE, String(i));
      assert.equal(env(d).KONSUMERATOR_NUM_PARTITIONS, '10');
      assert.equal(env(d).KONSUMERATOR_NUM_INSTANCES, '4');
      assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/consumer-id'], String(i));
      assert.equal(d.metadata!.labels!.controller, 'orders');
      const owner = d.metadata!.ownerReferences![0]!;
      assert.equal(owner.uid, created.metadata.uid);
      assert.equal(owner.controller, true);
    }
    const status = (await consumers.get(ns, 'orders')).status!;
    assert.equal(status.expected, 4);
    assert.equal(status.observedGeneration, 1);
  });
});

describe('repartitioning', () => {
  test('a spec change that renders the same Deployments changes nothing and keeps the pods', async () => {
    const ns = await newNamespace('same-render');
    await consumers.create(
      ns,
      'orders',
      baseSpec({ namespace: ns, numPartitions: 12, numPartitionsPerInstance: 4 }),
    );
    await consumers.waitReady(ns, 'orders');
    await cluster.waitAllRunning(ns, 3);
    const pods = await cluster.podUidsByDeployment(ns);
    const before = await apiRequestCounts();
    // ceil(12/5) = 3 buckets of 4: the same instances as 4 per instance.
    const generation = await consumers.setSpec(
      ns,
      'orders',
      baseSpec({ namespace: ns, numPartitions: 12, numPartitionsPerInstance: 5 }),
    );
    await waitFor(
      `status for generation ${generation}`,
      async () => (await consumers.get(ns, 'orders')).status?.observedGeneration === generation,
    );
    const writes = operatorWrites(before, await apiRequestCounts());
    delete writes['PUT konsumerator.lwolf.org/consumers']; // the test's own spec change
    assert.deepEqual(
      Object.keys(writes).filter((k) => k.includes('deployments')),
      [],
      'no Deployment written',
    );
    assert.deepEqual(await cluster.podUidsByDeployment(ns), pods);
  });

  test('changing numPartitionsPerInstance creates and updates before it deletes, and never leaves a partition without a Deployment', async () => {
    const ns = await newNamespace('repartition');
    await consumers.create(ns, 'orders', baseSpec({ namespace: ns }));
    await consumers.waitReady(ns, 'orders');
    await cluster.waitAllRunning(ns, 4);

    const timeline: string[] = [];
    const uncovered: string[] = [];
    const listed = await cluster.apps.listNamespacedDeployment({ namespace: ns });
    const state = new Map<string, V1Deployment>(listed.items.map((d) => [d.metadata!.name!, d]));
    const rolledOutWithNew = (d: V1Deployment) =>
      (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
      (d.status?.availableReplicas ?? 0) >= 1 &&
      (d.status?.updatedReplicas ?? 0) >= 1;
    const watch = await new Watch(kubeConfig()).watch(
      `/apis/apps/v1/namespaces/${ns}/deployments`,
      { resourceVersion: listed.metadata!.resourceVersion },
      (phase: string, d: V1Deployment) => {
        if (phase === 'DELETED') state.delete(d.metadata!.name!);
        else state.set(d.metadata!.name!, d);
        const partitions = d.metadata!.annotations!['konsumerator.lwolf.org/partition'];
        timeline.push(
          `${phase} ${d.metadata!.name} [${partitions}]${rolledOutWithNew(d) ? ' rolled-out' : ''}`,
        );
        const covered = new Set(
          [...state.values()].flatMap((x) =>
            x.metadata!.annotations!['konsumerator.lwolf.org/partition']!.split(','),
          ),
        );
        for (let p = 0; p < 10; p++)
          if (!covered.has(String(p))) uncovered.push(`partition ${p} after ${timeline.at(-1)}`);
      },
      () => undefined,
    );
    try {
      // 10 at 3 → [0,1,2][3,4,5][6,7][8,9]; 10 at 5 → [0..4][5..9]: orders-2 and orders-3 go away.
      await consumers.setSpec(ns, 'orders', baseSpec({ namespace: ns, numPartitionsPerInstance: 5 }));
      // Wait on the watch itself, so the timeline below holds both deletions.
      await waitFor(
        'the watch saw orders-2 and orders-3 deleted',
        async () => timeline.filter((e) => e.startsWith('DELETED')).length === 2,
        60_000,
      );
      await consumers.waitReady(ns, 'orders');
    } finally {
      watch.abort();
    }
    assert.deepEqual(uncovered, [], timeline.join('\n'));
    const firstDelete = timeline.findIndex((e) => e.startsWith('DELETED'));
    const readyBefore = (name: string, partitions: string) =>
      timeline.slice(0, firstDelete).some((e) => e.startsWith(`MODIFIED ${name} [${partitions}] rolled-out`));
    assert.ok(
      readyBefore('orders-0', '0,1,2,3,4') && readyBefore('orders-1', '5,6,7,8,9'),
      timeline.join('\n'),
    );
    const deployments = await cluster.deployments(ns);
    assert.deepEqual(
      deployments.map((d) => env(d).KONSUMERATOR_NUM_INSTANCES),
      ['2', '2'],
    );
  });

  test('adding partitions adds instances and refreshes the env of the others', async () => {
    const ns = await newNamespace('grow');
    await consumers.create(
      ns,
      'orders',
      baseSpec({ namespace: ns, numPartitions: 4, numPartitionsPerInstance: 2 }),
    );
    await consumers.waitReady(ns, 'orders');
    await consumers.setSpec(
      ns,
      'orders',
      baseSpec({ namespace: ns, numPartitions: 6, numPartitionsPerInstance: 2 }),
    );
    await waitFor('3 instances', async () => (await cluster.deploymentNames(ns)).length === 3);
    await consumers.waitReady(ns, 'orders');
    const deployments = await cluster.deployments(ns);
    assert.deepEqual(
      deployments.map((d) => env(d).KONSUMERATOR_PARTITION),
      ['0,1', '2,3', '4,5'],
    );
    assert.deepEqual(
      deployments.map((d) => env(d).KONSUMERATOR_NUM_PARTITIONS),
      ['6', '6', '6'],
    );
  });
});

describe('rollouts and idleness', () => {
  test('a template change rolls every instance exactly once; afterwards nothing is written', async () => {
    const ns = await newNamespace('rollout');
    const spec = baseSpec({ namespace: ns });
    await consumers.create(ns, 'orders', spec);
    await consumers.waitReady(ns, 'orders');
    await cluster.waitAllRunning(ns, 4);
    const generations = (await cluster.deployments(ns)).map((d) => d.metadata!.generation!);
    const changed = structuredClone(spec);
    changed.deploymentTemplate.template.spec!.containers[0]!.image = 'example.com/orders-consumer:2.0';
    const before = await apiRequestCounts();
    const generation = await consumers.setSpec(ns, 'orders', changed);
    await waitFor(
      `status for generation ${generation}`,
      async () => (await consumers.get(ns, 'orders')).status?.observedGeneration === generation,
    );
    await consumers.waitReady(ns, 'orders');
    await cluster.waitAllRunning(ns, 4);
    const writes = operatorWrites(before, await apiRequestCounts());
    const deployments = await cluster.deployments(ns);
    assert.deepEqual(
      deployments.map((d) => d.metadata!.generation),
      generations.map((g) => g + 1),
      'one spec change each',
    );
    assert.ok(
      deployments.every(
        (d) => d.spec!.template.spec!.containers[0]!.image === 'example.com/orders-consumer:2.0',
      ),
    );
    assert.equal(writes['APPLY apps/deployments'], 4, JSON.stringify(writes));
    const idle = await writesDuring(3000);
    assert.deepEqual(idle, {}, 'a second reconcile writes nothing');
  });
});

describe('drift and ownership', () => {
  test('a deleted instance is recreated and a hand edit is reverted', async () => {
    const ns = await newNamespace('drift');
    await consumers.create(
      ns,
      'orders',
      baseSpec({ namespace: ns, numPartitions: 2, numPartitionsPerInstance: 1 }),
    );
    await consumers.waitReady(ns, 'orders');
    const original = (await cluster.deployments(ns))[0]!;
    await cluster.apps.deleteNamespacedDeployment({ namespace: ns, name: 'orders-0' });
    await waitFor('orders-0 recreated', async () => {
      const d = (await cluster.deployments(ns)).find((x) => x.metadata!.name === 'orders-0');
      return d && d.metadata!.uid !== original.metadata!.uid ? d : undefined;
    });
    const edited = (await cluster.deployments(ns)).find((x) => x.metadata!.name === 'orders-1')!;
    edited.spec!.template.spec!.containers[0]!.image = 'evil:1';
    await cluster.apps.replaceNamespacedDeployment({ namespace: ns, name: 'orders-1', body: edited });
    await waitFor('hand edit reverted', async () => {
      const d = (await cluster.deployments(ns)).find((x) => x.metadata!.name === 'orders-1');
      return d?.spec!.template.spec!.containers[0]!.image === 'example.com/orders-consumer:1.0';
    });
  });

  test('deleting the Consumer garbage-collects its Deployments', async () => {
    const ns = await newNamespace('gc');
    await consumers.create(ns, 'orders', baseSpec({ namespace: ns, numPartitions: 2 }));
    await consumers.waitReady(ns, 'orders');
    await consumers.delete(ns, 'orders');
    await waitFor(
      'Deployments collected',
      async () => (await cluster.deploymentNames(ns)).length === 0,
      60_000,
    );
  });

  test('a same-named Deployment the Consumer does not own is untouched and reported', async () => {
    const ns = await newNamespace('clash');
    const foreign: V1Deployment = {
      metadata: { name: 'orders-1', namespace: ns, labels: { team: 'other' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'other' } },
        template: {
          metadata: { labels: { app: 'other' } },
          spec: { containers: [{ name: 'main', image: 'other:1' }] },
        },
      },
    };
    const created = await cluster.apps.createNamespacedDeployment({ namespace: ns, body: foreign });
    await consumers.create(
      ns,
      'orders',
      baseSpec({ namespace: ns, numPartitions: 4, numPartitionsPerInstance: 2 }),
    );
    const consumer = await consumers.waitCondition(ns, 'orders', 'Degraded', 'NameConflict');
    assert.match(consumer.status!.conditions!.find((c) => c.type === 'Degraded')!.message, /orders-1/);
    assert.equal(consumer.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'False');
    await waitFor('orders-0 created', async () => (await cluster.deploymentNames(ns)).includes('orders-0'));
    const after = (await cluster.deployments(ns)).find((d) => d.metadata!.name === 'orders-1')!;
    assert.equal(after.metadata!.generation, created.metadata!.generation, 'spec not written');
    assert.deepEqual(after.metadata!.labels, { team: 'other' });
    assert.equal(after.metadata!.ownerReferences, undefined);
    assert.ok(
      !after.metadata!.managedFields!.some((f) => f.manager === 'konsumerator'),
      'no field owned by the operator',
    );
  });
});

test('a create is one request that never touches a Deployment holding the name, and leaves later applies owning every field', async () => {
  // The reconciler creates without reading the name first (its cache may not have seen a
  // Deployment created a moment ago): the write itself must refuse a taken name.
  const ns = await newNamespace('create-only');
  const writer = new KubeWriter(KubeClient.of(kubeConfig()));
  const foreign: V1Deployment = {
    metadata: { name: 'orders-0', namespace: ns, labels: { team: 'other' } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'other' } },
      template: {
        metadata: { labels: { app: 'other' } },
        spec: { containers: [{ name: 'main', image: 'other:1' }] },
      },
    },
  };
  const held = await cluster.apps.createNamespacedDeployment({ namespace: ns, body: foreign });
  const ours = (name: string, labels: Record<string, string>): V1Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'orders' } },
      template: {
        metadata: { labels: { app: 'orders' } },
        spec: { containers: [{ name: 'main', image: 'orders:1' }] },
      },
    },
  });
  assert.equal(await writer.createDeployment(ours('orders-0', { team: 'orders' })), undefined);
  const after = await cluster.apps.readNamespacedDeployment({ namespace: ns, name: 'orders-0' });
  assert.equal(after.metadata!.generation, held.metadata!.generation, 'spec not written');
  assert.deepEqual(after.metadata!.labels, { team: 'other' });
  assert.ok(
    !after.metadata!.managedFields!.some((f) => f.manager === 'konsumerator'),
    'no field owned by the operator',
  );

  const created = await writer.createDeployment(ours('orders-1', { team: 'orders', extra: 'x' }));
  assert.ok(created?.metadata?.uid, 'a free name is created');
  assert.equal(await writer.createDeployment(ours('orders-1', { team: 'orders' })), undefined, 'only once');
  await writer.applyDeployment(ours('orders-1', { team: 'orders' }));
  const applied = await cluster.apps.readNamespacedDeployment({ namespace: ns, name: 'orders-1' });
  assert.deepEqual(
    applied.metadata!.labels,
    { team: 'orders' },
    'a label left out of a later apply is removed',
  );
});

describe('failure isolation', () => {
  test('an invalid Consumer is reported on its status while a valid one in the same namespace converges', async () => {
    const ns = await newNamespace('isolation');
    // The schema cannot compare spec.namespace with the object's namespace; the controller does.
    await consumers.create(ns, 'broken', baseSpec({ namespace: 'somewhere-else', name: 'broken' }));
    await consumers.create(ns, 'orders', baseSpec({ namespace: ns, numPartitions: 2 }));
    const broken = await consumers.waitCondition(ns, 'broken', 'Degraded', 'InvalidSpec');
    assert.match(broken.status!.conditions!.find((c) => c.type === 'Degraded')!.message, /spec\.namespace/);
    await consumers.waitReady(ns, 'orders');
    assert.deepEqual(await cluster.deploymentNames(ns), ['orders-0']);
  });
});

describe('restart', () => {
  test('after an operator restart with nothing changed, the operator writes nothing', async () => {
    const ns = await newNamespace('restart');
    await consumers.create(ns, 'orders', baseSpec({ namespace: ns }));
    await consumers.waitReady(ns, 'orders');
    await cluster.waitAllRunning(ns, 4);
    await writesDuring(1000); // let the first operator settle
    await running.operator!.stop();
    const before = await apiRequestCounts();
    running.operator = await startOperator();
    await new Promise((r) => setTimeout(r, 5000));
    const writes = operatorWrites(before, await apiRequestCounts());
    assert.deepEqual(writes, {}, `writes after restart: ${JSON.stringify(writes)}`);
    assert.equal(totalWrites(writes), 0);
  });
});
