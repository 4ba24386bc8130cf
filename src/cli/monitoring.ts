// Monitoring objects for the Prometheus Operator (monitoring.coreos.com/v1): a ServiceMonitor
// that scrapes the operator's metrics Service, and a PrometheusRule of example alerts on the
// operator's own metrics. Neither is installed by default (their CRDs are the Prometheus
// Operator's): `konsumerator manifests --monitoring` prints them and the Helm chart renders the same
// when `serviceMonitor.enabled` / `prometheusRule.enabled`. test/e2e/alerts.test.ts evaluates every
// expression against a real Prometheus that scrapes a real operator.
import type { KubernetesObject } from '@kubernetes/client-node';
import { OPERATOR_LABELS } from './manifests.js';
import { OPERATOR_NAME } from './version.js';

/**
 * The `job` label of the operator's series: a ServiceMonitor names the job after the Service
 * (`konsumerator`). Scraping it another way, keep that job name or edit the rules' selector.
 */
export const METRICS_JOB = OPERATOR_NAME;

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'critical' | 'warning' };
  annotations: { summary: string; description: string };
}

const job = `job="${METRICS_JOB}"`;

/** The example alerts. `consumer` is the Consumer's name (the original's label; no namespace). */
export function alertRules(): AlertRule[] {
  return [
    {
      alert: 'KonsumeratorDown',
      expr: `absent(up{${job}} == 1)`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'No konsumerator replica is up',
        description:
          'Prometheus scrapes no running konsumerator operator: no Consumer is reconciled or resized until one is back.',
      },
    },
    {
      alert: 'KonsumeratorReconcileErrors',
      expr: `sum by (consumer) (rate(konsumerator_consumer_reconcile_errors_total{${job}}[5m])) > 0`,
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Consumer {{ $labels.consumer }} fails to reconcile',
        description:
          "Reconciles of Consumer {{ $labels.consumer }} keep failing: see its conditions and events (kubectl describe consumer) and the operator's log.",
      },
    },
    {
      alert: 'KonsumeratorMetricsUnavailable',
      expr: `sum by (consumer) (rate(konsumerator_prometheus_mp_requests_errors_total{${job}}[5m])) > 0`,
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Consumer {{ $labels.consumer }} cannot read its metrics',
        description:
          'The metrics source of Consumer {{ $labels.consumer }} (Prometheus or Kafka) keeps failing: its instances are not resized until it answers again.',
      },
    },
    {
      alert: 'KonsumeratorInstancesMissing',
      expr: `max by (consumer) (konsumerator_consumer_status{${job}, type="missing"}) > 0`,
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Consumer {{ $labels.consumer }} has {{ $value }} instance(s) missing',
        description:
          'Instances of Consumer {{ $labels.consumer }} have no Deployment the operator owns (a name conflict, a failed write): their partitions are not consumed.',
      },
    },
    {
      alert: 'KonsumeratorInstancesLagging',
      expr: `max by (consumer) (konsumerator_consumer_status{${job}, type="lagging"}) > 0`,
      for: '30m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Consumer {{ $labels.consumer }} has {{ $value }} lagging instance(s)',
        description:
          'Instances of Consumer {{ $labels.consumer }} have been behind by more than tolerableLag for 30 minutes.',
      },
    },
  ];
}

/** The PrometheusRule with the example alerts, in the operator's namespace. */
export function prometheusRule(namespace: string): KubernetesObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: OPERATOR_NAME, namespace, labels: { ...OPERATOR_LABELS } },
    spec: { groups: [{ name: OPERATOR_NAME, rules: alertRules() }] },
  } as KubernetesObject;
}

/** A ServiceMonitor for the operator's metrics Service (port `metrics`, every 30 s). */
export function serviceMonitor(namespace: string): KubernetesObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: OPERATOR_NAME, namespace, labels: { ...OPERATOR_LABELS } },
    spec: {
      selector: { matchLabels: { ...OPERATOR_LABELS } },
      namespaceSelector: { matchNames: [namespace] },
      endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
    },
  } as KubernetesObject;
}

export function monitoringManifests(namespace: string): KubernetesObject[] {
  return [serviceMonitor(namespace), prometheusRule(namespace)];
}
