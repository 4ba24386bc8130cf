// One scaling run watched through the plane's real Prometheus, which scrapes the operator and a
// stand-in for the original's "faker" exporter: a Prometheus-mode Consumer whose partition falls
// behind and catches up again (one of its partitions has no series at all), and a static one
// whose resize falls back to a rollout. Afterwards every metric docs/metrics.md and
// docs/autoscaling.md name has a sample, the operator exports nothing they do not name, and every
// query of the shipped Grafana dashboards is valid PromQL that returns data.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Operator } from '../../src/controller/operator.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import type { Dashboard } from '../../src/cli/dashboards.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { STATIC_CPU_NODE, placeOnNode } from '../../src/testplane/index.js';
import { addScrapeTarget, queryPrometheus, removeScrapeTarget } from '../../src/testplane/prometheus.js';
import { baseSpec } from '../support/consumers.js';
import { installCrd } from '../support/crd.js';
import { deleteTestNamespaces, kubeConfig, metricsPlane, newNamespace, waitFor } from '../support/env.js';
import { FakeExporter } from '../support/faker.js';
import { busy, calm, sized, staticSpec, waitPodAt } from '../support/in-place.js';
import { ConsumerClient, startOperator } from '../support/operator.js';

const JOB = 'konsumerator-observability';
const plane = metricsPlane();
const consumers = new ConsumerClient();
let operator: Operator | undefined;
let faker: FakeExporter | undefined;

before(async () => {
  await installCrd(kubeConfig());
  operator = await startOperator(undefined, 5_000, { metricsAddress: '127.0.0.1:0' });
  addScrapeTarget(plane.prometheusFileSdDir, { job: JOB, targets: [`127.0.0.1:${operator.metricsPort}`] });
  // Two partitions: the Consumer's third has no series.
  faker = new FakeExporter([
    { production: 20, consumption: 20 },
    { production: 100, consumption: 100 },
  ]);
  await faker.start();
  await waitFor(
    `Prometheus scraping the operator as job ${JOB}`,
    async () => (await queryPrometheus(plane.prometheusUrl, `up{job="${JOB}"} == 1`)).length === 1,
    60_000,
  );
});

after(async () => {
  removeScrapeTarget(plane.prometheusFileSdDir, JOB);
  await faker?.stop();
  await deleteTestNamespaces();
  await operator?.stop();
});

const query = (promql: string) => queryPrometheus(plane.prometheusUrl, promql);
const valueOf = async (promql: string) => (await query(promql))[0]?.value;

function ordersSpec(namespace: string): ConsumerSpec {
  const window = '[5s]';
  const spec = baseSpec({
    namespace,
    numPartitions: 3,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'prometheus',
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      scaleDownAfterLagFreeSyncs: 2,
      // The fake exporter's consumption does not follow the CPU: nothing to learn, and the sizes
      // checked below are the configured formula's.
      learnRatePerCore: false,
      prometheus: {
        address: [plane.prometheusUrl],
        // The original's sample queries, over a short window.
        offset: {
          query:
            'max(konsumerator_messages_production_offset) by (partition) - max(konsumerator_messages_consumption_offset) by (partition)',
          partitionLabel: 'partition',
        },
        production: {
          query: `sum(rate(konsumerator_messages_production_offset${window})) by (partition)`,
          partitionLabel: 'partition',
        },
        consumption: {
          query: `sum(rate(konsumerator_messages_consumption_offset${window})) by (partition)`,
          partitionLabel: 'partition',
        },
        minSyncPeriod: '1s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '2s',
        criticalLag: '1h',
        recoveryTime: '10s',
      },
    },
  });
  spec.resourcePolicy!.containerPolicies![0]!.maxAllowed = { cpu: '8', memory: '2G' };
  spec.resourcePolicy!.globalPolicy = { maxAllowed: { cpu: '20', memory: '8G' } };
  return spec;
}

const cpuRequest = (consumer: string, deployment: string) =>
  valueOf(
    `konsumerator_instance_resources{job="${JOB}", consumer="${consumer}", deployment="${deployment}", resource="cpu_request"}`,
  );

test('a scaling run: an instance grows with its backlog and shrinks after it; a resize falls back to a rollout', async () => {
  const orders = await newNamespace('observe-orders');
  await consumers.create(orders, 'orders', ordersSpec(orders));
  // Static sizes on the node with the static CPU manager: the second one cannot be made in place.
  const rolled = await newNamespace('observe-rolled');
  const rolledSpec = (partition: ReturnType<typeof busy>) =>
    staticSpec(rolled, {
      partitions: { '0': partition },
      podSpec: placeOnNode(STATIC_CPU_NODE, 'preferred'),
    });
  await consumers.create(rolled, 'rolled', rolledSpec(busy(1)));
  // One Consumer that learns the capacity per core (on by default with the proactive predictor;
  // orders turns it off), so that its metrics (configured, used and learned rate per core,
  // confidence) have samples.
  const learning = await newNamespace('observe-learning');
  const learningSpec = staticSpec(learning, { partitions: { '0': calm } });
  learningSpec.autoscaler = { ...learningSpec.autoscaler, predictor: 'proactive' };
  assert.equal(learningSpec.autoscaler.learnRatePerCore, undefined, 'learning by default');
  await consumers.create(learning, 'learning', learningSpec);

  // Production alone sizes orders-1 (100 msg/s at 100 msg/s per core).
  await waitFor(
    'orders-1 sized from its production',
    async () => ((await cpuRequest('orders', 'orders-1')) ?? 0) >= 0.9,
  );
  const steady = (await cpuRequest('orders', 'orders-1'))!;
  faker!.set(1, { consumption: 0 });
  await waitFor(
    'orders-1 grown for its backlog',
    async () => ((await cpuRequest('orders', 'orders-1')) ?? 0) > steady + 0.3,
    90_000,
  );
  // Grown for the backlog, which the operator sees as lag (not yet beyond the tolerable lag, maybe).
  const lag = await valueOf(
    `konsumerator_prometheus_mp_lag_observed_seconds{job="${JOB}", consumer="orders", partition="1"}`,
  );
  assert.ok((lag ?? 0) > 0, `partition 1 lags (${lag} s)`);
  faker!.set(1, { consumption: 400 });

  await waitPodAt(rolled, 'orders-0', sized('1', '100M'));
  await consumers.setSpec(rolled, 'rolled', rolledSpec(busy(3)));
  await waitPodAt(rolled, 'orders-0', sized('3', '300M'));

  // Its production size again, give or take one 100m step: the rates are read over a 5 s window.
  let now: number | undefined;
  await waitFor(
    'orders-1 back to its production size',
    async () => {
      now = await cpuRequest('orders', 'orders-1');
      return now !== undefined && now <= steady + 0.1 + 1e-9;
    },
    90_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${now} cores, ${steady} before the backlog`);
  });
  // Partition 2 has no series: every read counts it missing, for each type.
  const missing = await query(
    `konsumerator_prometheus_mp_zero_values_total{job="${JOB}", consumer="orders", partition="2"} > 0`,
  );
  assert.deepEqual(missing.map((s) => s.metric.type).sort(), [
    'consumption_rate',
    'offset',
    'production_rate',
  ]);
  await waitFor(
    'the fallback counted',
    async () =>
      ((await valueOf(
        `konsumerator_resize_fallbacks_total{job="${JOB}", consumer="rolled", reason="Infeasible"}`,
      )) ?? 0) >= 1,
  );
});

/** Backticked metric names (or `prefix_*` families) of the operator in the docs. */
function documentedMetrics(): { exact: Set<string>; families: string[] } {
  const exact = new Set<string>();
  const families: string[] = [];
  for (const doc of ['docs/metrics.md', 'docs/autoscaling.md']) {
    const text = readFileSync(join(REPO_ROOT, doc), 'utf8');
    for (const [, name] of text.matchAll(
      /`((?:konsumerator|workqueue|rest_client|process|nodejs)_[a-z0-9_]*\*?)`/g,
    )) {
      if (name!.endsWith('*')) families.push(name!.slice(0, -1));
      else exact.add(name!);
    }
  }
  return { exact, families };
}

/** The metric a series name belongs to: summaries and histograms add _sum, _count and _bucket. */
const SUFFIXES = ['', '_sum', '_count', '_bucket'];

test('every documented metric has a sample, and every metric the operator exports is documented', async () => {
  const { exact, families } = documentedMetrics();
  assert.ok(exact.size > 40, `the docs name ${exact.size} metrics`);
  const exported = async () => {
    const names = new Set<string>();
    // The operator's own job and the exporter's (the docs name the faker's metrics too).
    for (const job of [JOB, faker!.job]) {
      for (const s of await query(`count by (__name__) ({job="${job}"})`)) names.add(s.metric.__name__!);
    }
    return names;
  };
  let missing: string[] = [];
  await waitFor(
    'a sample of every documented metric',
    async () => {
      const names = await exported();
      missing = [
        ...[...exact].filter((m) => !SUFFIXES.some((s) => names.has(m + s))),
        ...families.filter((f) => ![...names].some((n) => n.startsWith(f))).map((f) => `${f}*`),
      ];
      return missing.length === 0;
    },
    60_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; no sample of: ${missing.join(', ')}`);
  });
  const operatorNames = (await query(`count by (__name__) ({job="${JOB}"})`)).map((s) => s.metric.__name__!);
  // up and scrape_* are Prometheus's own series about the scrape.
  const undocumented = operatorNames.filter(
    (n) =>
      n !== 'up' &&
      !n.startsWith('scrape_') &&
      !SUFFIXES.some((s) => n.endsWith(s) && exact.has(n.slice(0, n.length - s.length))) &&
      !families.some((f) => n.startsWith(f)),
  );
  assert.deepEqual(undocumented, [], 'exported but not in docs/metrics.md or docs/autoscaling.md');
});

const DASHBOARDS = join(REPO_ROOT, 'deploy', 'helm', 'konsumerator', 'dashboards');

test('every query of the shipped dashboards is valid and returns data', async () => {
  const files = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'));
  assert.deepEqual(files.sort(), ['consumer.json', 'overview.json']);
  let checked = 0;
  for (const file of files) {
    const dashboard = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as Dashboard;
    // As Grafana fills the variables in: this job; every Consumer (All) or one.
    const consumer = file === 'overview.json' ? '.*' : 'orders';
    const fill = (expr: string) =>
      expr.replaceAll('$job', JOB).replaceAll('$consumer', consumer).replaceAll('$__rate_interval', '2m');
    for (const variable of dashboard.templating.list) {
      if (variable.type !== 'query' || typeof variable.query === 'string') continue;
      const labelValues = /^label_values\((.+), (\w+)\)$/.exec(variable.query.query);
      assert.ok(labelValues, `${file}: variable ${variable.name}: ${variable.query.query}`);
      const values = await query(`count by (${labelValues[2]}) (${fill(labelValues[1]!)})`);
      assert.ok(values.length > 0, `${file}: variable ${variable.name} has no values`);
    }
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const expr = fill(target.expr);
        const what = `${file}: "${panel.title}" ${target.refId}: ${expr}`;
        const samples = await query(expr).catch((error: Error) => assert.fail(`${what}: ${error.message}`));
        assert.ok(
          samples.some((s) => Number.isFinite(s.value)),
          `${what}: no data (${samples.length} series)`,
        );
        checked++;
      }
    }
  }
  console.log(`checked ${checked} dashboard queries against Prometheus`);
});
