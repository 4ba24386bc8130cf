import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OperatorMetrics } from '../../src/controller/metrics.js';
import { WorkQueue, DEFAULT_BACKOFF } from '../../src/controller/queue.js';
import { KubeClient, type ApiRequestReport } from '../../src/kube/client.js';
import { reportValues } from '../../src/metrics/index.js';

/** The original's metrics: name, type and labels (beyond the `consumer` label where noted). */
const ORIGINAL: [string, string, string[]][] = [
  ['konsumerator_meta_info', 'gauge', ['go_version', 'binary_version']],
  ['konsumerator_consumer_reconcile_total', 'counter', ['consumer']],
  ['konsumerator_consumer_reconcile_errors_total', 'counter', ['consumer']],
  ['konsumerator_consumer_reconcile_duration_seconds', 'summary', ['consumer']],
  ['konsumerator_consumer_status_update_duration_seconds', 'summary', ['consumer']],
  ['konsumerator_consumer_deployments_create_total', 'counter', ['consumer']],
  ['konsumerator_consumer_deployments_create_errors', 'counter', ['consumer']],
  ['konsumerator_consumer_deployments_delete_total', 'counter', ['consumer']],
  ['konsumerator_consumer_deployments_delete_errors', 'counter', ['consumer']],
  ['konsumerator_consumer_deployments_update_total', 'counter', ['consumer']],
  ['konsumerator_consumer_deployments_update_errors', 'counter', ['consumer']],
  ['konsumerator_consumer_status', 'gauge', ['consumer', 'type']],
  ['konsumerator_deployment_status', 'gauge', ['consumer', 'deployment']],
  ['konsumerator_deployment_saturation', 'gauge', ['consumer', 'deployment']],
  ['konsumerator_consumer_global_cpu_limit_mcores', 'gauge', ['consumer']],
  ['konsumerator_consumer_global_memory_limit_bytes', 'gauge', ['consumer']],
  ['konsumerator_consumer_global_cpu_allocated_mcores', 'gauge', ['consumer']],
  ['konsumerator_consumer_global_memory_allocated_bytes', 'gauge', ['consumer']],
  ['konsumerator_prometheus_mp_requests_total', 'counter', ['consumer', 'type']],
  ['konsumerator_prometheus_mp_requests_errors_total', 'counter', ['consumer', 'type']],
  ['konsumerator_prometheus_mp_request_duration_seconds', 'summary', ['consumer', 'type']],
  ['konsumerator_prometheus_mp_sub_requests_total', 'counter', ['consumer', 'addr']],
  ['konsumerator_prometheus_mp_sub_requests_errors_total', 'counter', ['consumer', 'addr']],
  ['konsumerator_prometheus_mp_sub_request_duration_seconds', 'summary', ['consumer', 'addr']],
  ['konsumerator_prometheus_mp_lag_observed_seconds', 'gauge', ['consumer', 'partition']],
  ['konsumerator_prometheus_mp_samples_received_total', 'gauge', ['consumer', 'type']],
  ['konsumerator_prometheus_mp_zero_values_total', 'counter', ['consumer', 'partition', 'type']],
];

const QUEUE = ['name', 'controller'];
/** controller-runtime's work-queue and client-go's API client metrics. */
const CONTROLLER_RUNTIME: [string, string, string[]][] = [
  ['workqueue_depth', 'gauge', QUEUE],
  ['workqueue_adds_total', 'counter', QUEUE],
  ['workqueue_retries_total', 'counter', QUEUE],
  ['workqueue_queue_duration_seconds', 'histogram', QUEUE],
  ['workqueue_work_duration_seconds', 'histogram', QUEUE],
  ['workqueue_unfinished_work_seconds', 'gauge', QUEUE],
  ['workqueue_longest_running_processor_seconds', 'gauge', QUEUE],
  ['rest_client_requests_total', 'counter', ['code', 'method', 'host']],
  ['rest_client_request_duration_seconds', 'histogram', ['verb', 'host']],
];

/** Every metric of the registry: its type and the label names of its first series. */
async function exported(metrics: OperatorMetrics): Promise<Map<string, { type: string; labels: string[] }>> {
  const out = new Map<string, { type: string; labels: string[] }>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    const values = (m as { values: { labels: Record<string, unknown>; metricName?: string }[] }).values;
    const first = values.find((v) => v.metricName === undefined || v.metricName === m.name) ?? values[0];
    const labels = Object.keys(first?.labels ?? {}).filter((l) => l !== 'quantile' && l !== 'le');
    out.set(m.name, { type: String(m.type), labels: labels.sort() });
  }
  return out;
}

/** A registry with one series of every metric. */
async function exercised(): Promise<OperatorMetrics> {
  const metrics = new OperatorMetrics('test');
  const queue = new WorkQueue(DEFAULT_BACKOFF, metrics.queueObserver('consumer'));
  metrics.watchQueue('consumer', queue);
  queue.add('ns/orders');
  queue.done((await queue.get())!);
  queue.add('ns/orders');
  metrics.reconcileStarted('orders');
  metrics.reconcileDuration.observe({ consumer: 'orders' }, 0.1);
  metrics.statusUpdateDuration.observe({ consumer: 'orders' }, 0.1);
  metrics.setStatusCounts('orders', { running: 1 });
  metrics.setInstanceScaling('orders', 'orders-0', 1, 0);
  for (const g of [
    metrics.globalCpuLimit,
    metrics.globalMemoryLimit,
    metrics.globalCpuAllocated,
    metrics.globalMemoryAllocated,
  ])
    g.set({ consumer: 'orders' }, 1);
  const observer = metrics.providerObserver('orders');
  observer.onRequest('offset', 'http://p:9090', 0.01, true);
  observer.onSamples('offset', 3);
  observer.onQuery('offset', 0.02);
  reportValues({ time: new Date(), partitions: new Map([[0, { behind: 1 }]]), warnings: [] }, 2, observer);
  metrics.setLagObserved('orders', 0, 1);
  metrics.resized('orders', 'in-place', 1);
  metrics.fellBack('orders', 'Infeasible');
  metrics.setInstanceResources('orders', 'orders-0', { cpuRequest: 100 });
  metrics.apiRequest('GET', '127.0.0.1:6443', 200, 0.01);
  return metrics;
}

test("every metric of the original exists with its name, type and labels; controller-runtime's too", async () => {
  const have = await exported(await exercised());
  for (const [name, type, labels] of [...ORIGINAL, ...CONTROLLER_RUNTIME]) {
    const metric = have.get(name);
    assert.ok(metric, `${name} is exported`);
    assert.equal(metric.type, type, `${name} is a ${type}`);
    // meta_info also carries node_version; everything else has exactly the original's labels.
    if (name === 'konsumerator_meta_info')
      for (const l of labels) assert.ok(metric.labels.includes(l), `${name} has ${l}`);
    else assert.deepEqual(metric.labels, [...labels].sort(), `labels of ${name}`);
  }
});

test('error counters, retries and zero values start at 0; missing values count per read', async () => {
  const metrics = await exercised();
  const text = await metrics.registry.metrics();
  for (const line of [
    'konsumerator_consumer_reconcile_errors_total{consumer="orders"} 0',
    'konsumerator_consumer_deployments_create_errors{consumer="orders"} 0',
    'konsumerator_prometheus_mp_requests_errors_total{consumer="orders",type="offset"} 0',
    'konsumerator_prometheus_mp_sub_requests_errors_total{consumer="orders",addr="http://p:9090"} 0',
    'workqueue_retries_total{name="consumer",controller="consumer"} 0',
    'workqueue_adds_total{name="consumer",controller="consumer"} 2',
    'workqueue_depth{name="consumer",controller="consumer"} 1',
    // Partition 0 has a lag but no rates, partition 1 nothing.
    'konsumerator_prometheus_mp_zero_values_total{consumer="orders",partition="0",type="offset"} 0',
    'konsumerator_prometheus_mp_zero_values_total{consumer="orders",partition="0",type="production_rate"} 1',
    'konsumerator_prometheus_mp_zero_values_total{consumer="orders",partition="1",type="offset"} 1',
  ])
    assert.ok(text.includes(line), `missing: ${line}`);
  metrics.forgetConsumer('orders');
  assert.doesNotMatch(await metrics.registry.metrics(), /consumer="orders"/, 'all removed with the Consumer');
});

test('the work-queue gauges show the keys in work while they are worked on', async () => {
  const metrics = new OperatorMetrics('test');
  const queue = new WorkQueue(DEFAULT_BACKOFF, metrics.queueObserver('consumer'));
  metrics.watchQueue('consumer', queue);
  queue.add('ns/a');
  const key = await queue.get();
  await new Promise((r) => setTimeout(r, 30));
  const during = await metrics.registry.metrics();
  const value = (name: string, text: string) =>
    Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.equal(value('workqueue_depth', during), 0);
  assert.ok(value('workqueue_longest_running_processor_seconds', during) >= 0.025);
  assert.ok(value('workqueue_unfinished_work_seconds', during) >= 0.025);
  queue.done(key!);
  const afterwards = await metrics.registry.metrics();
  assert.equal(value('workqueue_longest_running_processor_seconds', afterwards), 0);
  assert.match(
    afterwards,
    /workqueue_work_duration_seconds_count\{name="consumer",controller="consumer"\} 1/,
  );
  assert.match(
    afterwards,
    /workqueue_queue_duration_seconds_count\{name="consumer",controller="consumer"\} 1/,
  );
  queue.shutDown();
});

test('API requests are counted by status code, method and host, and timed by verb', async () => {
  const server = http.createServer((req, res) => void res.writeHead(req.method === 'POST' ? 201 : 404).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const seen: [string, string, number | undefined][] = [];
  const report: ApiRequestReport = (method, host, code) => seen.push([method, host, code]);
  const client = new KubeClient({ server: `http://127.0.0.1:${port}` }, { report });
  try {
    await client.create('/x', {});
    await assert.rejects(client.get('/y'), { code: 404 });
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(new KubeClient({ server: `http://127.0.0.1:${closedPort}` }, { report }).get('/z'));
    assert.deepEqual(seen, [
      ['POST', `127.0.0.1:${port}`, 201],
      ['GET', `127.0.0.1:${port}`, 404],
      ['GET', `127.0.0.1:${closedPort}`, undefined],
    ]);
  } finally {
    client.close();
    await new Promise((r) => server.close(r));
  }
  const metrics = new OperatorMetrics('test');
  metrics.apiRequest('GET', 'h:1', undefined, 0.5);
  const text = await metrics.registry.metrics();
  assert.match(text, /rest_client_requests_total\{code="<error>",method="GET",host="h:1"\} 1/);
  assert.match(text, /rest_client_request_duration_seconds_count\{verb="GET",host="h:1"\} 1/);
});

test('per-instance and per-partition series show the last values and go with their instance', async () => {
  const metrics = new OperatorMetrics('test');
  metrics.setInstanceScaling('orders', 'orders-0', 3, 250);
  metrics.setInstanceResources('orders', 'orders-0', { cpuRequest: 500, memoryLimit: 2 ** 30 });
  metrics.setInstanceScaling('orders', 'orders-1', 1, 0);
  metrics.setLagObserved('orders', 4, 12.5);
  let text = await metrics.registry.metrics();
  for (const line of [
    'konsumerator_deployment_status{consumer="orders",deployment="orders-0"} 3',
    'konsumerator_deployment_saturation{consumer="orders",deployment="orders-0"} 250',
    'konsumerator_deployment_status{consumer="orders",deployment="orders-1"} 1',
    'konsumerator_instance_resources{consumer="orders",deployment="orders-0",resource="cpu_request"} 0.5',
    `konsumerator_instance_resources{consumer="orders",deployment="orders-0",resource="memory_limit"} ${2 ** 30}`,
    'konsumerator_prometheus_mp_lag_observed_seconds{consumer="orders",partition="4"} 12.5',
  ])
    assert.ok(text.includes(line), `missing: ${line}`);
  assert.doesNotMatch(text, /resource="cpu_limit"/, 'no series for a value not set');
  // A new size replaces the old one; a value no longer known has no series.
  metrics.setInstanceResources('orders', 'orders-0', { cpuRequest: 1500 });
  text = await metrics.registry.metrics();
  assert.ok(text.includes('resource="cpu_request"} 1.5'));
  assert.doesNotMatch(text, /resource="memory_limit"/);
  metrics.forgetInstance('orders', 'orders-0');
  text = await metrics.registry.metrics();
  assert.doesNotMatch(text, /deployment="orders-0"/, 'the deleted instance has no series left');
  assert.match(text, /deployment="orders-1"/);
});
