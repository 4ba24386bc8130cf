// The example alerts (src/cli/monitoring.ts, shipped as deploy/monitoring.yaml and the chart's
// PrometheusRule) against the plane's real Prometheus, which scrapes a real operator: promtool
// accepts the rule file, every expression is valid PromQL, and each one returns exactly the
// Consumers it is about — one that cannot write its Deployments (a quota), one whose metrics
// source is down, one that lags — and nothing for a healthy one; KonsumeratorDown returns
// nothing while the operator is up and fires once it is gone. The `for` durations are the rules';
// the test evaluates the expressions themselves (waiting 15 minutes would test Prometheus).
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { Operator } from '../../src/controller/operator.js';
import { alertRules, METRICS_JOB } from '../../src/cli/monitoring.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { addScrapeTarget, queryPrometheus, removeScrapeTarget } from '../../src/testplane/prometheus.js';
import { silentLogger } from '../../src/util/log.js';
import { baseSpec } from '../support/consumers.js';
import { installCrd } from '../support/crd.js';
import { deleteTestNamespaces, kubeConfig, metricsPlane, newNamespace, waitFor } from '../support/env.js';
import { ConsumerClient } from '../support/operator.js';
import { operatorServiceAccountConfig } from '../support/service-account.js';
import { runToolOk } from '../support/run.js';

const RULES_FILE = join(REPO_ROOT, 'deploy', 'helm', 'konsumerator', 'files', 'prometheus-rules.yaml');
const estimation = { ramPerCore: '1G', tolerableLag: '10s', criticalLag: '1h', recoveryTime: '10m' };
const rules = new Map(alertRules().map((r) => [r.alert, r]));
const expr = (alert: string) => {
  const rule = rules.get(alert);
  if (!rule) throw new Error(`no alert ${alert} in src/cli/monitoring.ts`);
  return rule.expr;
};

let operator: Operator | undefined;
const plane = metricsPlane();
const consumers = new ConsumerClient();

before(async () => {
  await installCrd(kubeConfig());
  operator = new Operator({
    kubeConfig: await operatorServiceAccountConfig(),
    log: silentLogger(),
    version: 'test',
    resyncMs: 5_000,
    workers: 4,
    metricsAddress: '127.0.0.1:0',
  });
  await operator.start();
  // Scraped as the job a ServiceMonitor of the chart's Service gives, which the rules select.
  addScrapeTarget(plane.prometheusFileSdDir, {
    job: METRICS_JOB,
    targets: [`127.0.0.1:${operator.metricsPort}`],
  });
  await waitFor(
    `Prometheus scraping the operator as job ${METRICS_JOB}`,
    async () => (await queryPrometheus(plane.prometheusUrl, `up{job="${METRICS_JOB}"} == 1`)).length === 1,
    60_000,
  );
});

after(async () => {
  removeScrapeTarget(plane.prometheusFileSdDir, METRICS_JOB);
  await deleteTestNamespaces();
  await operator?.stop();
});

/** The `consumer` labels an alert's expression returns now. */
async function firing(alert: string): Promise<string[]> {
  return (await queryPrometheus(plane.prometheusUrl, expr(alert))).map((s) => s.metric.consumer ?? '').sort();
}

async function waitFiring(alert: string, wanted: string[]): Promise<void> {
  let last: string[] = [];
  await waitFor(
    `${alert} returning exactly ${wanted.join(', ') || 'nothing'}`,
    async () => {
      last = await firing(alert);
      return last.join() === wanted.join();
    },
    120_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; it returned: ${last.join(', ') || 'nothing'}`);
  });
}

test('promtool accepts the rule file, and every expression is valid PromQL on the real Prometheus', async () => {
  const checked = await runToolOk('promtool', ['check', 'rules', RULES_FILE]);
  assert.match(checked, new RegExp(`SUCCESS: ${rules.size} rules found`));
  for (const rule of rules.values()) await queryPrometheus(plane.prometheusUrl, rule.expr);
});

test('each alert returns exactly the Consumers it is about', { timeout: 300_000 }, async () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  // Healthy: no metrics, its one instance (2 partitions, 3 per instance) written.
  const calm = await newNamespace('alerts-calm');
  await consumers.create(calm, 'calm', baseSpec({ name: 'calm', namespace: calm, numPartitions: 2 }));
  // Its namespace's quota allows no Deployment: every create is refused, reconciles fail.
  const quota = await newNamespace('alerts-quota');
  await core.createNamespacedResourceQuota({
    namespace: quota,
    body: { metadata: { name: 'no-deployments' }, spec: { hard: { 'count/deployments.apps': '0' } } },
  });
  await consumers.create(quota, 'blocked', baseSpec({ name: 'blocked', namespace: quota, numPartitions: 2 }));
  // Its Prometheus does not answer.
  const blind = await newNamespace('alerts-blind');
  await consumers.create(
    blind,
    'blind',
    baseSpec({
      name: 'blind',
      namespace: blind,
      numPartitions: 2,
      autoscaler: {
        mode: 'prometheus',
        prometheus: {
          address: ['http://127.0.0.1:1'],
          minSyncPeriod: '1s',
          ratePerCore: 100,
          offset: { query: 'lag', partitionLabel: 'partition' },
          production: { query: 'production', partitionLabel: 'partition' },
          consumption: { query: 'consumption', partitionLabel: 'partition' },
          ...estimation,
        },
      },
    }),
  );
  // 10 minutes behind (60,000 messages at 100/s) with a tolerable lag of 10 s.
  const behind = await newNamespace('alerts-behind');
  const lagging = { production: 100, consumption: 50, behind: 60_000 };
  await consumers.create(
    behind,
    'behind',
    baseSpec({
      name: 'behind',
      namespace: behind,
      numPartitions: 2,
      numPartitionsPerInstance: 1,
      autoscaler: {
        mode: 'static',
        static: {
          partitions: { '0': lagging, '1': lagging },
          minSyncPeriod: '1s',
          ratePerCore: 100,
          ...estimation,
        },
      },
    }),
  );

  await waitFiring('KonsumeratorReconcileErrors', ['blocked']);
  await waitFiring('KonsumeratorInstancesMissing', ['blocked']);
  await waitFiring('KonsumeratorMetricsUnavailable', ['blind']);
  await waitFiring('KonsumeratorInstancesLagging', ['behind']);
  assert.deepEqual(await firing('KonsumeratorDown'), [], 'the operator is up');
  // The healthy one is in the operator's series, and in no alert.
  const calmSeries = await queryPrometheus(
    plane.prometheusUrl,
    `konsumerator_consumer_status{job="${METRICS_JOB}", consumer="calm", type="expected"}`,
  );
  assert.deepEqual(
    calmSeries.map((s) => s.value),
    [1],
  );
});

test('KonsumeratorDown fires once no operator is scraped', async () => {
  assert.deepEqual(await firing('KonsumeratorDown'), []);
  await operator?.stop();
  operator = undefined;
  await waitFor(
    'KonsumeratorDown returning a sample',
    async () => (await queryPrometheus(plane.prometheusUrl, expr('KonsumeratorDown'))).length === 1,
    60_000,
  );
  // absent() of a comparison has no labels to carry over: one sample, no labels, value 1.
  const [sample] = await queryPrometheus(plane.prometheusUrl, expr('KonsumeratorDown'));
  assert.deepEqual(sample, { metric: {}, value: 1 });
});
