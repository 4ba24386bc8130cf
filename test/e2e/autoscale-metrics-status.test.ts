// MetricsAvailable tells the truth, against the plane's real Prometheus: while the Consumer's
// queries match no series at all, every partition is unknown, which is MetricsAvailable=False
// (NoData) and resizes nothing; once an exporter serves two of its three partitions, it is True
// (PartialData) with the count, and the instance of the partition still unknown keeps what it has.
import { after, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import type { Consumer, ConsumerSpec } from '../../src/api/schema.js';
import { cpuMillis } from '../../src/util/units.js';
import { newNamespace, metricsPlane, waitFor } from '../support/env.js';
import { ConsumerClient, operatorForThisFile } from '../support/operator.js';
import { ClusterView, currentResources } from '../support/cluster.js';
import { baseSpec, consumerPolicy } from '../support/consumers.js';
import { FakeExporter } from '../support/faker.js';

const env = metricsPlane();
const consumers = new ConsumerClient();
const cluster = new ClusterView();
operatorForThisFile();
let faker: FakeExporter | undefined;
after(async () => {
  await faker?.stop();
});

/** New instances start at the policy maximum (fallbackStrategy max): a scale-down is due on any data. */
const MAX_CPU = 2000;

function spec(ns: string, exporter: FakeExporter): ConsumerSpec {
  return baseSpec({
    namespace: ns,
    numPartitions: 3,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'prometheus',
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      scaleDownAfterLagFreeSyncs: 1,
      prometheus: {
        address: [env.prometheusUrl ?? 'http://127.0.0.1:1'],
        ...exporter.queries(),
        minSyncPeriod: '1s',
        fallbackStrategy: 'max',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '1m',
        criticalLag: '1h',
        recoveryTime: '10m',
      },
    },
    resourcePolicy: consumerPolicy('2'),
  });
}

const metricsCondition = (c: Consumer) => c.status?.conditions?.find((x) => x.type === 'MetricsAvailable');
const cpuOf = async (ns: string) =>
  (await cluster.deployments(ns)).map((d) => cpuMillis(currentResources(d).requests!.cpu!));

test(
  'no series for any partition is MetricsAvailable=False (NoData); some is True (PartialData) with the count',
  { timeout: 180_000 },
  async () => {
    // Two partitions of three; not serving yet, so Prometheus holds no series for the queries.
    faker = new FakeExporter([
      { production: 10, consumption: 10 },
      { production: 10, consumption: 10 },
    ]);
    const ns = await newNamespace('metrics-status');
    await consumers.create(ns, 'orders', spec(ns, faker));

    const empty = await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'NoData', 60_000);
    assert.deepEqual(
      { ...metricsCondition(empty), lastTransitionTime: undefined, observedGeneration: undefined },
      {
        type: 'MetricsAvailable',
        status: 'False',
        reason: 'NoData',
        message:
          'the prometheus source answered, but with no value for any of the 3 partitions; no instance is resized until it has some',
        lastTransitionTime: undefined,
        observedGeneration: undefined,
      },
    );
    await waitFor('three instances', async () => ((await cpuOf(ns)).length === 3 ? true : undefined));
    await new Promise((r) => setTimeout(r, 3000)); // a few more reads, each without data
    assert.deepEqual(await cpuOf(ns), [MAX_CPU, MAX_CPU, MAX_CPU], 'nothing resized without data');
    assert.equal(metricsCondition(await consumers.get(ns, 'orders'))!.reason, 'NoData');

    await faker.start();
    const partial = await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'PartialData', 60_000);
    const condition = metricsCondition(partial)!;
    assert.equal(condition.status, 'True');
    assert.match(condition.message, /^metrics for 2 of 3 partitions, none for partitions 2; /);
    assert.match(condition.message, /no series for partitions 2: unknown/);
    // The two partitions with data are far below their 2 cores: they shrink; the third does not.
    await waitFor('the instances with data scaled down', async () => {
      const cpu = await cpuOf(ns);
      return cpu[0]! < MAX_CPU && cpu[1]! < MAX_CPU ? cpu : undefined;
    });
    assert.equal((await cpuOf(ns))[2], MAX_CPU, 'the instance without data keeps what it has');
  },
);
