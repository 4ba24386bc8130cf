// The closed loop through a real Prometheus with the original's sample queries, unchanged: only
// the instance whose partition falls behind grows, and it shrinks back once the lag is gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Operator } from '../../src/controller/operator.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, testEnv, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient, startOperator } from '../support/operator.js';
import { ClusterView, currentResources } from '../support/cluster.js';
import { baseSpec } from '../support/consumers.js';
import { cpuMillis } from '../../src/util/units.js';
import { FakeExporter } from '../support/faker.js';

const env = testEnv();
const consumers = new ConsumerClient();
const cluster = new ClusterView();
let operator: Operator | undefined;
let faker: FakeExporter | undefined;

before(async () => {
  if (!env.prometheusUrl) return;
  await installCrd(kubeConfig());
  operator = await startOperator();
});
after(async () => {
  await faker?.stop();
  await deleteTestNamespaces();
  await operator?.stop();
});

// The original's config/samples queries, word for word.
const SAMPLE_QUERIES = {
  offset: {
    query:
      'max(konsumerator_messages_production_offset) by (partition) - max(konsumerator_messages_consumption_offset) by (partition)',
    partitionLabel: 'partition',
  },
  production: {
    query: 'sum(rate(konsumerator_messages_production_offset[2m])) by (partition)',
    partitionLabel: 'partition',
  },
  consumption: {
    query: 'sum(rate(konsumerator_messages_consumption_offset[2m])) by (partition)',
    partitionLabel: 'partition',
  },
};

function spec(ns: string): ConsumerSpec {
  return baseSpec({
    namespace: ns,
    numPartitions: 3,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'prometheus',
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      scaleDownAfterLagFreeSyncs: 2,
      prometheus: {
        address: [env.prometheusUrl ?? 'http://127.0.0.1:1'],
        ...SAMPLE_QUERIES,
        minSyncPeriod: '2s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '5s',
        criticalLag: '1h',
        // Short, so that the backlog term dominates the target while the partition lags.
        recoveryTime: '10s',
      },
    },
  });
}

const cpuOf = async (ns: string) =>
  (await cluster.deployments(ns)).map((d) => String(currentResources(d).requests?.cpu));

test(
  'Prometheus: the lagging instance scales up, then down after the lag-free syncs',
  { skip: !env.prometheusUrl && 'no Prometheus in the test plane' },
  async (t) => {
    faker = new FakeExporter([
      { production: 10, consumption: 10 },
      { production: 100, consumption: 100 },
      { production: 10, consumption: 10 },
    ]);
    await faker.start();
    const scrapedSince = Date.now();
    const ns = await newNamespace('prom-loop');
    await consumers.create(ns, 'orders', spec(ns));
    await consumers.waitReady(ns, 'orders');
    await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'Read', 60_000);
    const calm = await cpuOf(ns);
    assert.equal(calm.length, 3);

    // Partition 1 stops consuming for a while: 100 msg/s pile up.
    // rate(...[2m]) divides by the whole window: on a young series it reads low and keeps rising
    // while the window fills. Give it a minute, so that the rise does not hide the scale-down.
    await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - scrapedSince))));
    const stalledAt = Date.now();
    faker.set(1, { consumption: 0 });
    await waitFor('partition 1 about 8 s behind', async () => faker!.behind(1) >= 800, 20_000);
    faker.set(1, { consumption: 60 });
    await waitFor(
      'instance 1 scaled up',
      async () => {
        const cpu = await cpuOf(ns);
        return cpu[0] === calm[0] && cpu[2] === calm[2] && cpu[1] !== calm[1] ? cpu : undefined;
      },
      60_000,
    );
    const grown = currentResources((await cluster.deployments(ns))[1]!).requests!.cpu;
    const laggingAt = stalledAt + 5000; // tolerableLag: 5 s behind at 100 msg/s
    t.diagnostic(
      `scale-up applied ${((Date.now() - laggingAt) / 1000).toFixed(1)} s after the partition reached tolerableLag (minSyncPeriod 2 s, scrape 1 s): cpu ${calm[1]} → ${grown}`,
    );
    const shrinkStart = Date.now();

    // It catches up, then consumes at the production rate: no lag, less needed → it shrinks.
    faker.set(1, { consumption: 400 });
    await waitFor('partition 1 caught up', async () => faker!.behind(1) <= 5, 30_000);
    faker.set(1, { consumption: 100 });
    await waitFor(
      'instance 1 scaled down',
      async () => {
        const cpu = await cpuOf(ns);
        return cpuMillis(cpu[1]!) < cpuMillis(grown!) ? cpu : undefined;
      },
      90_000,
    );
    const final = await cpuOf(ns);
    t.diagnostic(
      `scale-down applied ${((Date.now() - shrinkStart) / 1000).toFixed(1)} s after catch-up began: cpu ${grown} → ${final[1]}; others ${final[0]}, ${final[2]}`,
    );
    assert.equal(final[0], calm[0], 'instance 0 untouched');
    assert.equal(final[2], calm[2], 'instance 2 untouched');
    const status = (await consumers.get(ns, 'orders')).status!;
    assert.ok(status.lastSyncTime, 'lastSyncTime written');
    assert.equal(Object.keys(status.lastSyncState!).length, 3);
  },
);
