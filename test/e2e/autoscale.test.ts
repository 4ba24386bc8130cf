// Autoscaling on the real control plane with the static metrics source: the lagging instance
// grows, calm ones shrink, and an unreachable Prometheus resizes nothing (applied as the original
// did, by rollout).
import { test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { kubeConfig, newNamespace, waitFor } from '../support/env.js';
import { ConsumerClient, operatorForThisFile } from '../support/operator.js';
import { ClusterView, currentResources } from '../support/cluster.js';
import { baseSpec, consumerPolicy } from '../support/consumers.js';

const consumers = new ConsumerClient();
const cluster = new ClusterView();
operatorForThisFile();

const estimation = {
  minSyncPeriod: '1s',
  ratePerCore: 100,
  ramPerCore: '100M',
  tolerableLag: '1m',
  criticalLag: '1h',
  recoveryTime: '10m',
};
const calm = { production: 10, consumption: 10, behind: 0 };

function staticSpec(ns: string, partitions: Record<string, typeof calm>): ConsumerSpec {
  return baseSpec({
    namespace: ns,
    numPartitions: 3,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'static',
      // The figures below are the original formula's (the default is the proactive predictor).
      predictor: 'naive',
      // And its way of applying them: a new pod template (rolling update), GOMAXPROCS from the CPU
      // limit. In-place resizes (the default) are in inplace-*.test.ts.
      actuation: 'Rollout',
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      scaleDownAfterLagFreeSyncs: 1,
      static: { partitions, ...estimation },
    },
    resourcePolicy: consumerPolicy('4'),
  });
}

/** Events are recorded right after the write they describe: wait for them. */
const eventWithReason = (namespace: string, reason: string) =>
  waitFor(`a ${reason} event in ${namespace}`, async () =>
    (await kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({ namespace })).items.find(
      (e) => e.reason === reason,
    ),
  );

const cpuOf = async (ns: string) =>
  (await cluster.deployments(ns)).map((d) => String(currentResources(d).requests?.cpu));

test('the lagging instance grows and shrinks back when the lag is gone; the others are untouched', async () => {
  const ns = await newNamespace('autoscale');
  await consumers.create(ns, 'orders', staticSpec(ns, { '0': calm, '1': calm, '2': calm }));
  await consumers.waitReady(ns, 'orders');
  await waitFor('calm instances at 100m', async () => (await cpuOf(ns)).join() === '100m,100m,100m');

  // Partition 1: 150 msg/s with 10 minutes of backlog → (600·150 + 150·600)/600 = 300 msg/s → 3 cores.
  await consumers.setSpec(
    ns,
    'orders',
    staticSpec(ns, { '0': calm, '1': { production: 150, consumption: 100, behind: 150 * 600 }, '2': calm }),
  );
  await waitFor('instance 1 scaled up', async () => (await cpuOf(ns)).join() === '100m,3,100m', 30_000);
  const lagging = await waitFor('status counts one lagging instance', async () => {
    const c = await consumers.get(ns, 'orders');
    return c.status?.lagging === 1 ? c : undefined;
  });
  assert.equal(lagging.status!.lastSyncState!['1']!.messageBehind, 90_000);
  assert.equal(lagging.status!.conditions!.find((c) => c.type === 'MetricsAvailable')!.status, 'True');
  const d1 = (await cluster.deployments(ns))[1]!;
  assert.equal(
    d1.spec!.template.spec!.containers[0]!.resources!.limits!.memory,
    '300M',
    'memory = ramPerCore × limit cores',
  );
  assert.equal(d1.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === 'GOMAXPROCS')!.value, '3');
  const up = await eventWithReason(ns, 'ScaledUp');
  assert.match(up.message!, /orders-1: cpu 100m\/1, memory 100M → cpu 3\/3, memory 300M \(lagging/);

  await consumers.setSpec(ns, 'orders', staticSpec(ns, { '0': calm, '1': calm, '2': calm }));
  await waitFor(
    'instance 1 scaled back down',
    async () => (await cpuOf(ns)).join() === '100m,100m,100m',
    30_000,
  );
  assert.match((await eventWithReason(ns, 'ScaledDown')).message!, /orders-1: cpu 3\/3, memory 300M → /);
});

test('an unreachable Prometheus is reported and resizes nothing', async () => {
  const ns = await newNamespace('noprom');
  const spec = baseSpec({
    namespace: ns,
    numPartitions: 2,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'prometheus',
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      prometheus: {
        address: ['http://127.0.0.1:1'],
        offset: { query: 'lag', partitionLabel: 'partition' },
        production: { query: 'production', partitionLabel: 'partition' },
        consumption: { query: 'consumption', partitionLabel: 'partition' },
        ...estimation,
      },
    },
  });
  await consumers.create(ns, 'orders', spec);
  const consumer = await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'ReadFailed');
  assert.match(
    consumer.status!.conditions!.find((c) => c.type === 'MetricsAvailable')!.message,
    /127\.0\.0\.1:1/,
  );
  await consumers.waitReady(ns, 'orders');
  assert.deepEqual(await cpuOf(ns), ['100m', '100m'], 'instances run with the fallback');
});

test('dry-run: the recommendation appears in status and nothing changes', async () => {
  const ns = await newNamespace('dryrun');
  const spec = staticSpec(ns, {
    '0': calm,
    '1': { production: 150, consumption: 100, behind: 150 * 600 },
    '2': calm,
  });
  spec.autoscaler.dryRun = true;
  await consumers.create(ns, 'orders', spec);
  await consumers.waitReady(ns, 'orders');
  const consumer = await waitFor('a recommendation in status', async () => {
    const c = await consumers.get(ns, 'orders');
    return c.status?.instances?.some((i) => i.action === 'would-scale-up') ? c : undefined;
  });
  const first = consumer.status!.instances![0]!;
  assert.deepEqual(
    {
      id: first.id,
      action: first.action,
      cpu: first.cpu,
      targetCpu: first.targetCpu,
      lagSeconds: first.lagSeconds,
    },
    { id: 1, action: 'would-scale-up', cpu: '100m', targetCpu: '3', lagSeconds: 600 },
  );
  await new Promise((r) => setTimeout(r, 3000)); // a few more reads
  assert.deepEqual(await cpuOf(ns), ['100m', '100m', '100m'], 'fallback resources, untouched');
});
