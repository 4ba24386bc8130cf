// Grafana dashboards on the operator's metrics: an overview of every Consumer and the operator's
// health, and a drill-down into one Consumer. Built here so that every panel's query is in one
// place; `npm run gen` writes them as JSON into the Helm chart's dashboards/ folder (the chart
// packages each as a ConfigMap for Grafana's dashboard sidecar) and `konsumerator manifests
// --dashboards` prints the same ConfigMaps. They use the original's metric names and labels
// (`consumer`, no namespace), so they also show an operator that is still the original.
// test/e2e/observability.test.ts runs every query against a real Prometheus after a scaling run.
import type { KubernetesObject } from '@kubernetes/client-node';
import { OPERATOR_NAME } from './version.js';

export interface Target {
  refId: string;
  expr: string;
  legendFormat: string;
}

export interface Panel {
  id: number;
  type: 'timeseries' | 'stat';
  title: string;
  description: string;
  datasource: { type: 'prometheus'; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  fieldConfig: { defaults: { unit: string }; overrides: [] };
  targets: Target[];
}

export interface Variable {
  name: string;
  label: string;
  type: 'datasource' | 'query';
  query: string | { query: string; refId: string };
  [key: string]: unknown;
}

export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  schemaVersion: number;
  version: number;
  editable: boolean;
  refresh: string;
  time: { from: string; to: string };
  templating: { list: Variable[] };
  panels: Panel[];
}

const DATASOURCE = { type: 'prometheus' as const, uid: '${datasource}' };

/** The selector every query starts from: the operator's job and the chosen Consumers. */
const OPERATOR = 'job=~"$job"';
const CONSUMER = `${OPERATOR}, consumer=~"$consumer"`;
const RATE = '$__rate_interval';

interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  /** [query, legend] */
  queries: [string, string][];
  type?: Panel['type'];
}

/** Lays panels out in rows: stats 6 wide and 4 high, graphs 12 wide and 8 high. */
function layout(specs: PanelSpec[]): Panel[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return specs.map((spec, i) => {
    const type = spec.type ?? 'timeseries';
    const [w, h] = type === 'stat' ? [6, 4] : [12, 8];
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const panel: Panel = {
      id: i + 1,
      type,
      title: spec.title,
      description: spec.description,
      datasource: DATASOURCE,
      gridPos: { h, w, x, y },
      fieldConfig: { defaults: { unit: spec.unit }, overrides: [] },
      targets: spec.queries.map(([expr, legendFormat], n) => ({
        refId: String.fromCharCode(65 + n),
        expr,
        legendFormat,
      })),
    };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return panel;
  });
}

function variables(multiConsumer: boolean): Variable[] {
  const query = (name: string, label: string, promql: string, extra: Record<string, unknown>) => ({
    name,
    label,
    type: 'query' as const,
    datasource: DATASOURCE,
    definition: promql,
    query: { query: promql, refId: name },
    refresh: 2,
    sort: 1,
    ...extra,
  });
  return [
    { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus' },
    query('job', 'Operator job', 'label_values(konsumerator_meta_info, job)', {
      includeAll: true,
      multi: false,
      allValue: '.*',
    }),
    query(
      'consumer',
      'Consumer',
      `label_values(konsumerator_consumer_reconcile_total{${OPERATOR}}, consumer)`,
      multiConsumer ? { includeAll: true, multi: true, allValue: '.*' } : { includeAll: false, multi: false },
    ),
  ];
}

function dashboard(uid: string, title: string, description: string, multi: boolean, specs: PanelSpec[]) {
  return {
    uid,
    title,
    description,
    tags: [OPERATOR_NAME],
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-3h', to: 'now' },
    templating: { list: variables(multi) },
    panels: layout(specs),
  } satisfies Dashboard;
}

const p99 = (metric: string, by: string) =>
  `histogram_quantile(0.99, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}[${RATE}])))`;

export function overviewDashboard(): Dashboard {
  return dashboard(
    'konsumerator-overview',
    'konsumerator: overview',
    'Every Consumer managed by konsumerator: instances, lag, resources, scaling, metrics health, and the operator itself.',
    true,
    [
      {
        type: 'stat',
        title: 'Consumers',
        description: 'Consumers the operator reconciles.',
        unit: 'none',
        queries: [[`count(count by (consumer) (konsumerator_consumer_status{${CONSUMER}}))`, 'consumers']],
      },
      {
        type: 'stat',
        title: 'Instances expected',
        description: 'Instances (Deployments) the Consumers call for.',
        unit: 'none',
        queries: [[`sum(konsumerator_consumer_status{${CONSUMER}, type="expected"})`, 'expected']],
      },
      {
        type: 'stat',
        title: 'Instances lagging',
        description: 'Instances whose lag is above their tolerable lag.',
        unit: 'none',
        queries: [[`sum(konsumerator_consumer_status{${CONSUMER}, type="lagging"})`, 'lagging']],
      },
      {
        type: 'stat',
        title: 'Operator replicas up',
        description: 'Operator processes Prometheus scrapes successfully.',
        unit: 'none',
        queries: [[`sum(up{${OPERATOR}})`, 'up']],
      },
      {
        title: 'Instances by state',
        description:
          "The Consumers' status counters: running, paused, lagging, outdated, missing, redundant.",
        unit: 'none',
        queries: [[`sum by (type) (konsumerator_consumer_status{${CONSUMER}})`, '{{type}}']],
      },
      {
        title: 'Instances not RUNNING',
        description: 'Instances that are SATURATED or waiting to scale up or down.',
        unit: 'none',
        queries: [
          [`sum by (consumer) (konsumerator_deployment_status{${CONSUMER}} != bool 1)`, '{{consumer}}'],
        ],
      },
      {
        title: 'Lag per partition',
        description: 'Seconds behind (messages behind / production rate) at the last metrics read.',
        unit: 's',
        queries: [
          [
            `max by (consumer, partition) (konsumerator_prometheus_mp_lag_observed_seconds{${CONSUMER}})`,
            '{{consumer}} p{{partition}}',
          ],
        ],
      },
      {
        title: 'CPU saturation',
        description: 'CPU the instances lack because of their policy maximum or the global budget.',
        unit: 'none',
        queries: [
          [`sum by (consumer) (konsumerator_deployment_saturation{${CONSUMER}})`, '{{consumer}} (mcores)'],
        ],
      },
      {
        title: 'CPU requested',
        description: "Sum of the instances' CPU requests, as decided.",
        unit: 'none',
        queries: [
          [
            `sum by (consumer) (konsumerator_instance_resources{${CONSUMER}, resource="cpu_request"})`,
            '{{consumer}} (cores)',
          ],
        ],
      },
      {
        title: 'Memory requested',
        description: "Sum of the instances' memory requests, as decided.",
        unit: 'bytes',
        queries: [
          [
            `sum by (consumer) (konsumerator_instance_resources{${CONSUMER}, resource="memory_request"})`,
            '{{consumer}}',
          ],
        ],
      },
      {
        title: 'Scaling events',
        description:
          'Resource decisions that reached the pods (in place or by a rollout), and Deployment writes.',
        unit: 'none',
        queries: [
          [
            `sum by (consumer, path) (increase(konsumerator_resizes_total{${CONSUMER}}[${RATE}]))`,
            '{{consumer}} {{path}}',
          ],
          [
            `sum by (consumer) (increase(konsumerator_consumer_deployments_update_total{${CONSUMER}}[${RATE}]))`,
            '{{consumer}} updates',
          ],
        ],
      },
      {
        title: 'Rollouts instead of in-place resizes',
        description: 'Decisions rolled out because the pod could not be resized in place, by reason.',
        unit: 'none',
        queries: [
          [
            `sum by (consumer, reason) (increase(konsumerator_resize_fallbacks_total{${CONSUMER}}[${RATE}]))`,
            '{{consumer}} {{reason}}',
          ],
        ],
      },
      {
        title: 'Metrics health',
        description:
          'Metric reads that failed, and partition values missing from reads (unknown, never taken as 0).',
        unit: 'reqps',
        queries: [
          [
            `sum by (consumer) (rate(konsumerator_prometheus_mp_requests_errors_total{${CONSUMER}}[${RATE}]))`,
            '{{consumer}} failed reads',
          ],
          [
            `sum by (consumer) (rate(konsumerator_prometheus_mp_zero_values_total{${CONSUMER}}[${RATE}]))`,
            '{{consumer}} missing values',
          ],
        ],
      },
      {
        title: 'Metrics query duration (p99)',
        description: 'Time to the answers of the metric queries, by type.',
        unit: 's',
        queries: [
          [
            `max by (consumer, type) (konsumerator_prometheus_mp_request_duration_seconds{${CONSUMER}, quantile="0.99"})`,
            '{{consumer}} {{type}}',
          ],
        ],
      },
      {
        title: 'Reconciles and errors',
        description: 'Reconciles per second, and those that failed (retried with backoff).',
        unit: 'ops',
        queries: [
          [
            `sum by (consumer) (rate(konsumerator_consumer_reconcile_total{${CONSUMER}}[${RATE}]))`,
            '{{consumer}}',
          ],
          [
            `sum by (consumer) (rate(konsumerator_consumer_reconcile_errors_total{${CONSUMER}}[${RATE}]))`,
            '{{consumer}} errors',
          ],
        ],
      },
      {
        title: 'Reconcile latency (p99)',
        description: 'Duration of a reconcile, 99th percentile, per Consumer.',
        unit: 's',
        queries: [
          [
            `max by (consumer) (konsumerator_consumer_reconcile_duration_seconds{${CONSUMER}, quantile="0.99"})`,
            '{{consumer}}',
          ],
        ],
      },
      {
        title: 'Work queue',
        description: 'Keys waiting, adds and retries per second, and the longest running reconcile.',
        unit: 'none',
        queries: [
          [`sum(workqueue_depth{${OPERATOR}})`, 'depth'],
          [`sum(rate(workqueue_adds_total{${OPERATOR}}[${RATE}]))`, 'adds/s'],
          [`sum(rate(workqueue_retries_total{${OPERATOR}}[${RATE}]))`, 'retries/s'],
          [`max(workqueue_longest_running_processor_seconds{${OPERATOR}})`, 'longest running (s)'],
        ],
      },
      {
        title: 'Work queue wait and work (p99)',
        description: 'How long a Consumer waits in the queue, and how long its reconcile takes.',
        unit: 's',
        queries: [
          [p99(`workqueue_queue_duration_seconds_bucket{${OPERATOR}}`, ''), 'queue'],
          [p99(`workqueue_work_duration_seconds_bucket{${OPERATOR}}`, ''), 'work'],
        ],
      },
      {
        title: 'API server requests',
        description: 'Requests to the Kubernetes API server per second, by status code and method.',
        unit: 'reqps',
        queries: [
          [
            `sum by (code, method) (rate(rest_client_requests_total{${OPERATOR}}[${RATE}]))`,
            '{{method}} {{code}}',
          ],
        ],
      },
      {
        title: 'API server latency (p99)',
        description: 'Time to the answer of an API server request, by verb.',
        unit: 's',
        queries: [[p99(`rest_client_request_duration_seconds_bucket{${OPERATOR}}`, 'verb'), '{{verb}}']],
      },
      {
        title: 'Operator memory and event loop',
        description: "The operator's resident memory and heap.",
        unit: 'bytes',
        queries: [
          [`process_resident_memory_bytes{${OPERATOR}}`, '{{instance}} resident'],
          [`nodejs_heap_size_used_bytes{${OPERATOR}}`, '{{instance}} heap used'],
        ],
      },
      {
        title: 'Event loop lag (p99)',
        description: "Delay of the operator's event loop: high values slow every reconcile.",
        unit: 's',
        queries: [[`nodejs_eventloop_lag_p99_seconds{${OPERATOR}}`, '{{instance}}']],
      },
    ],
  );
}

export function consumerDashboard(): Dashboard {
  const instance = (metric: string, extra = '') => `${metric}{${CONSUMER}${extra}}`;
  return dashboard(
    'konsumerator-consumer',
    'konsumerator: Consumer',
    'One Consumer: the state, lag, size and saturation of each instance, its budget, and its metrics source.',
    false,
    [
      {
        type: 'stat',
        title: 'Instances running',
        description: 'Instances with their Deployment rolled out.',
        unit: 'none',
        queries: [[`sum(${instance('konsumerator_consumer_status', ', type="running"')})`, 'running']],
      },
      {
        type: 'stat',
        title: 'Instances lagging',
        description: 'Instances whose lag is above the tolerable lag.',
        unit: 'none',
        queries: [[`sum(${instance('konsumerator_consumer_status', ', type="lagging"')})`, 'lagging']],
      },
      {
        type: 'stat',
        title: 'Instances missing',
        description: 'Instances whose Deployment does not exist (yet).',
        unit: 'none',
        queries: [[`sum(${instance('konsumerator_consumer_status', ', type="missing"')})`, 'missing']],
      },
      {
        type: 'stat',
        title: 'Instances outdated',
        description: 'Instances whose Deployment differs from the spec.',
        unit: 'none',
        queries: [[`sum(${instance('konsumerator_consumer_status', ', type="outdated"')})`, 'outdated']],
      },
      {
        title: 'Scaling state per instance',
        description: '1 RUNNING, 2 SATURATED, 3 PENDING_SCALE_UP, 4 PENDING_SCALE_DOWN, 0 unknown.',
        unit: 'none',
        queries: [[`max by (deployment) (${instance('konsumerator_deployment_status')})`, '{{deployment}}']],
      },
      {
        title: 'Lag per partition',
        description: 'Seconds behind at the last metrics read.',
        unit: 's',
        queries: [
          [
            `max by (partition) (${instance('konsumerator_prometheus_mp_lag_observed_seconds')})`,
            'p{{partition}}',
          ],
        ],
      },
      {
        title: 'CPU per instance',
        description: 'CPU request and limit of the scaled container, as decided (cores).',
        unit: 'none',
        queries: [
          [
            `max by (deployment) (${instance('konsumerator_instance_resources', ', resource="cpu_request"')})`,
            '{{deployment}} request',
          ],
          [
            `max by (deployment) (${instance('konsumerator_instance_resources', ', resource="cpu_limit"')})`,
            '{{deployment}} limit',
          ],
        ],
      },
      {
        title: 'Memory per instance',
        description: 'Memory request of the scaled container, as decided.',
        unit: 'bytes',
        queries: [
          [
            `max by (deployment) (${instance('konsumerator_instance_resources', ', resource="memory_request"')})`,
            '{{deployment}}',
          ],
        ],
      },
      {
        title: 'Saturation per instance',
        description:
          'CPU the instance lacks because of its policy maximum or the global budget (millicores).',
        unit: 'none',
        queries: [
          [`max by (deployment) (${instance('konsumerator_deployment_saturation')})`, '{{deployment}}'],
        ],
      },
      {
        title: 'Global budget',
        description: "CPU allocated (sum of requests) against the Consumer's global policy, millicores.",
        unit: 'none',
        queries: [
          [`sum(${instance('konsumerator_consumer_global_cpu_allocated_mcores')})`, 'allocated'],
          [`sum(${instance('konsumerator_consumer_global_cpu_limit_mcores')})`, 'budget'],
        ],
      },
      {
        title: 'Resizes',
        description: 'Resource decisions that reached the pods, by path, and how long they took (p99).',
        unit: 'none',
        queries: [
          [`sum by (path) (increase(${instance('konsumerator_resizes_total')}[${RATE}]))`, '{{path}}'],
          [p99(instance('konsumerator_resize_duration_seconds_bucket'), 'path'), '{{path}} p99 (s)'],
        ],
      },
      {
        title: 'Metrics source requests',
        description: 'Requests to each address of the metrics source, and those that failed.',
        unit: 'reqps',
        queries: [
          [
            `sum by (addr) (rate(${instance('konsumerator_prometheus_mp_sub_requests_total')}[${RATE}]))`,
            '{{addr}}',
          ],
          [
            `sum by (addr) (rate(${instance('konsumerator_prometheus_mp_sub_requests_errors_total')}[${RATE}]))`,
            '{{addr}} errors',
          ],
        ],
      },
      {
        title: 'Series per query',
        description:
          'Series in the answer of each query: fewer than partitions means partitions without data.',
        unit: 'none',
        queries: [
          [`max by (type) (${instance('konsumerator_prometheus_mp_samples_received_total')})`, '{{type}}'],
        ],
      },
      {
        title: 'Missing values',
        description: 'Reads without a value of a type for a partition, per second.',
        unit: 'none',
        queries: [
          [
            `sum by (partition, type) (rate(${instance('konsumerator_prometheus_mp_zero_values_total')}[${RATE}]))`,
            'p{{partition}} {{type}}',
          ],
        ],
      },
      {
        title: 'Reconcile and status write duration (p99)',
        description: "This Consumer's reconciles and status writes.",
        unit: 's',
        queries: [
          [
            `max(${instance('konsumerator_consumer_reconcile_duration_seconds', ', quantile="0.99"')})`,
            'reconcile',
          ],
          [
            `max(${instance('konsumerator_consumer_status_update_duration_seconds', ', quantile="0.99"')})`,
            'status write',
          ],
        ],
      },
    ],
  );
}

/** File name → dashboard. */
export function dashboards(): Record<string, Dashboard> {
  return {
    'overview.json': overviewDashboard(),
    'consumer.json': consumerDashboard(),
  };
}

/** The JSON text of a dashboard as committed. */
export const dashboardJson = (d: Dashboard) => `${JSON.stringify(d, null, 2)}\n`;

/** The dashboards as ConfigMaps for Grafana's dashboard sidecar, as the Helm chart renders them. */
export function dashboardConfigMaps(namespace: string): KubernetesObject[] {
  return Object.entries(dashboards()).map(([file, d]) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `${OPERATOR_NAME}-dashboard-${file.replace(/\.json$/, '').toLowerCase()}`,
      namespace,
      labels: { grafana_dashboard: '1' },
    },
    data: { [file]: dashboardJson(d).trimEnd() },
  })) as KubernetesObject[];
}
