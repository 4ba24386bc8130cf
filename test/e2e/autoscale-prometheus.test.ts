// The closed loop through a real Prometheus with the original's sample queries, unchanged: only
// the instance whose partition falls behind grows, by as much as its backlog calls for, and it
// shrinks back to what its production needs once the lag is gone. Two Consumers read the same
// metrics, one with the proactive predictor (the default) and one with the naive one (the
// original's formula and rules); each must reach the sizes its own formula gives for the rates
// and backlogs the test feeds.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import type { Operator } from '../../src/controller/operator.js';
import type { ConsumerSpec, ContainerPolicy } from '../../src/api/schema.js';
import { deleteTestNamespaces, kubeConfig, metricsPlane, newNamespace, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient, startOperator } from '../support/operator.js';
import { ClusterView, currentResources } from '../support/cluster.js';
import { baseSpec } from '../support/consumers.js';
import { cpuMillis } from '../../src/util/units.js';
import { autoscaleConfig } from '../../src/autoscale/config.js';
import { partitionSignal } from '../../src/autoscale/signals.js';
import { clampToPolicy } from '../../src/autoscale/sizing.js';
import { FakeExporter } from '../support/faker.js';

const { prometheusUrl } = metricsPlane();
const consumers = new ConsumerClient();
const cluster = new ClusterView();
let operator: Operator | undefined;
let faker: FakeExporter | undefined;

before(async () => {
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

type PredictorName = 'proactive' | 'naive';

function spec(ns: string, predictor: PredictorName): ConsumerSpec {
  const s = baseSpec({
    namespace: ns,
    numPartitions: 3,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'prometheus',
      predictor,
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      scaleDownAfterLagFreeSyncs: 2,
      // The fake exporter's consumption does not follow the CPU: learning the rate per core from
      // it would size with a figure it made up. The sizes checked here are the configured formula's.
      learnRatePerCore: false,
      prometheus: {
        address: [prometheusUrl],
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
  // Room above the sizes the backlog calls for (several cores), so that no maximum hides them.
  s.resourcePolicy!.containerPolicies![0]!.maxAllowed = { cpu: '8', memory: '2G' };
  return s;
}

/** msg/s each partition produces; partition 1 is the one that falls behind. */
const PRODUCTION = [15, 100, 15];
/**
 * How far a rate Prometheus reads may be from the rate fed, on a loaded machine (scrape times
 * jitter). The figures are chosen away from rounding edges: 15 msg/s is 200m for any rate
 * read within it.
 */
const RATE_TOLERANCE_PERCENT = 10;
/** `rate(...[2m])` reads low until the window holds two minutes of samples; a little more. */
const RATE_WINDOW_FILLED_MS = 125_000;

/**
 * The CPU request (millicores) the Consumer's own formula gives an instance whose one partition
 * produces `production` msg/s with `behind` messages of backlog, within its container policy.
 */
function cpuFor(s: ConsumerSpec, production: number, behind: number): number {
  const config = autoscaleConfig(s)!;
  const policy: ContainerPolicy | undefined = s.resourcePolicy?.containerPolicies?.[0];
  const sizing = config.predictor([partitionSignal(0, { production, behind })], config.settings)!;
  return clampToPolicy(sizing, policy).cpuRequest!;
}

/**
 * The range of cpuFor for production rates read within RATE_TOLERANCE_PERCENT of `production`
 * and a backlog between `fewest` and `most` messages. Both formulas grow with the backlog; the
 * naive one is not monotonic in the rate (whole seconds of lag), so every whole rate in the band
 * is tried.
 */
function cpuRange(s: ConsumerSpec, production: number, fewest: number, most: number) {
  const lowest = Math.floor((production * (100 - RATE_TOLERANCE_PERCENT)) / 100);
  const highest = Math.ceil((production * (100 + RATE_TOLERANCE_PERCENT)) / 100);
  const rates = Array.from({ length: highest - lowest + 1 }, (_, i) => lowest + i);
  return {
    min: Math.min(...rates.map((r) => cpuFor(s, r, fewest))),
    max: Math.max(...rates.map((r) => cpuFor(s, r, most))),
  };
}

const inRange = (cpu: number, range: { min: number; max: number }) => cpu >= range.min && cpu <= range.max;
const show = (range: { min: number; max: number }) => `${range.min}m–${range.max}m`;

/** The CPU requests of the instances, in millicores. */
const cpuOf = async (ns: string) =>
  (await cluster.deployments(ns)).map((d) => cpuMillis(String(currentResources(d).requests?.cpu)));

test(
  'Prometheus: the lagging instance scales up by what its backlog needs, then back down after the lag-free syncs',
  // Measured 150–200 s: two minutes for the rate window to fill, then the lag episode.
  { timeout: 420_000 },
  async (t) => {
    faker = new FakeExporter(PRODUCTION.map((production) => ({ production, consumption: production })));
    await faker.start();
    const scrapedSince = Date.now();
    const loops = await Promise.all(
      (['proactive', 'naive'] as const).map(async (predictor) => {
        const ns = await newNamespace(`prom-loop-${predictor}`);
        const s = spec(ns, predictor);
        await consumers.create(ns, 'orders', s);
        return { predictor, ns, spec: s };
      }),
    );
    for (const { ns } of loops) {
      await consumers.waitReady(ns, 'orders');
      await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'Read', 60_000);
      assert.equal((await cpuOf(ns)).length, 3);
    }
    const proactive = loops[0]!;

    // No lag anywhere: the proactive predictor sizes every instance from its production rate
    // (15 msg/s at 100 msg/s per core: 200m; 100 msg/s: about a core). The naive rules only grow
    // an instance that lags, so its sizes stay where they started.
    await new Promise((r) => setTimeout(r, Math.max(0, RATE_WINDOW_FILLED_MS - (Date.now() - scrapedSince))));
    const steady = PRODUCTION.map((p) => cpuRange(proactive.spec, p, 0, 5));
    const calm = await waitFor(
      `proactive instances sized from production: ${steady.map(show).join(', ')}`,
      async () => {
        const cpu = await cpuOf(proactive.ns);
        return cpu.every((c, i) => inRange(c, steady[i]!)) ? cpu : undefined;
      },
      30_000,
    );
    const before = new Map<string, number[]>([[proactive.ns, calm]]);
    before.set(loops[1]!.ns, await cpuOf(loops[1]!.ns));

    // Partition 1 stops consuming until it is 800 messages (8 s) behind, then consumes 60 of its
    // 100 msg/s: the backlog keeps growing by 40 msg/s.
    const stalledAt = Date.now();
    faker.set(1, { consumption: 0 });
    await waitFor('partition 1 about 8 s behind', async () => faker!.behind(1) >= 800, 20_000);
    faker.set(1, { consumption: 60 });
    const grown = new Map<string, number>();
    for (const { predictor, ns, spec: s } of loops) {
      // At least what 800 messages behind need, which no production rate alone explains.
      const least = cpuRange(s, PRODUCTION[1]!, 800, 800).min;
      assert.ok(
        least > cpuRange(s, PRODUCTION[1]!, 0, 5).max,
        `${predictor}: the backlog must call for more than production`,
      );
      const was = before.get(ns)!;
      const cpu = await waitFor(
        `${predictor}: instance 1 scaled up to at least ${least}m, the others untouched`,
        async () => {
          const now = await cpuOf(ns);
          return now[0] === was[0] && now[2] === was[2] && now[1]! >= least ? now : undefined;
        },
        60_000,
      );
      // No more than the largest backlog it can have seen: the one there is now (it only grows).
      const expected = cpuRange(s, PRODUCTION[1]!, 800, faker.behind(1));
      assert.ok(
        inRange(cpu[1]!, expected),
        `${predictor}: instance 1 at ${cpu[1]}m; the backlog (800–${faker.behind(1)} messages) calls for ${show(expected)}`,
      );
      grown.set(ns, cpu[1]!);
      t.diagnostic(
        `${predictor}: scale-up seen ${((Date.now() - stalledAt) / 1000).toFixed(1)} s after the stall began (tolerableLag 5 s, minSyncPeriod 2 s, scrape 1 s): ` +
          `instance 1 ${was[1]}m → ${cpu[1]}m, expected ${show(expected)} for 800–${faker.behind(1)} messages behind`,
      );
    }
    const shrinkStart = Date.now();

    // It catches up, then consumes at the production rate: no lag, less needed → it shrinks back
    // to what its production needs.
    faker.set(1, { consumption: 400 });
    await waitFor('partition 1 caught up', async () => faker!.behind(1) <= 5, 30_000);
    faker.set(1, { consumption: PRODUCTION[1]! });
    for (const { predictor, ns, spec: s } of loops) {
      const needed = cpuRange(s, PRODUCTION[1]!, 0, 5);
      const was = before.get(ns)!;
      const final = await waitFor(
        `${predictor}: instance 1 scaled down to ${show(needed)}, the others untouched`,
        async () => {
          const now = await cpuOf(ns);
          return now[0] === was[0] && now[2] === was[2] && inRange(now[1]!, needed) ? now : undefined;
        },
        90_000,
      );
      assert.ok(final[1]! < grown.get(ns)!, `${predictor}: scaled down`);
      t.diagnostic(
        `${predictor}: scale-down seen ${((Date.now() - shrinkStart) / 1000).toFixed(1)} s after catch-up began: ` +
          `instance 1 ${grown.get(ns)}m → ${final[1]}m (expected ${show(needed)}); others ${final[0]}m, ${final[2]}m`,
      );
      const status = (await consumers.get(ns, 'orders')).status!;
      assert.ok(status.lastSyncTime, 'lastSyncTime written');
      assert.equal(Object.keys(status.lastSyncState!).length, 3);
    }
  },
);
