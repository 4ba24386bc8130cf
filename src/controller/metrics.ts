// Operator metrics under the original's names and labels, so existing dashboards
// keep working. Series of a deleted Consumer are removed (the original kept them forever).
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import type { ProviderObserver } from '../metrics/index.js';

const percentiles = [0.5, 0.9, 0.99, 0.999, 1];

interface Removable {
  remove(labels: Record<string, string>): void;
}

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal = this.counter('konsumerator_consumer_reconcile_total', 'Reconciles started.');
  readonly reconcileErrors = this.counter(
    'konsumerator_consumer_reconcile_errors_total',
    'Reconciles that failed.',
  );
  readonly reconcileDuration = new Summary({
    name: 'konsumerator_consumer_reconcile_duration_seconds',
    help: 'Duration of a reconcile.',
    labelNames: ['consumer'],
    percentiles,
    registers: [this.registry],
  });
  readonly statusUpdateDuration = new Summary({
    name: 'konsumerator_consumer_status_update_duration_seconds',
    help: 'Duration of a status write.',
    labelNames: ['consumer'],
    percentiles,
    registers: [this.registry],
  });
  readonly creates = this.counter('konsumerator_consumer_deployments_create_total', 'Deployments created.');
  readonly createErrors = this.counter(
    'konsumerator_consumer_deployments_create_errors',
    'Failed Deployment creates.',
  );
  readonly deletes = this.counter('konsumerator_consumer_deployments_delete_total', 'Deployments deleted.');
  readonly deleteErrors = this.counter(
    'konsumerator_consumer_deployments_delete_errors',
    'Failed Deployment deletes.',
  );
  readonly updates = this.counter('konsumerator_consumer_deployments_update_total', 'Deployments updated.');
  readonly updateErrors = this.counter(
    'konsumerator_consumer_deployments_update_errors',
    'Failed Deployment updates.',
  );
  readonly consumerStatus = new Gauge({
    name: 'konsumerator_consumer_status',
    help: 'Status counters of a Consumer.',
    labelNames: ['consumer', 'type'],
    registers: [this.registry],
  });
  readonly metaInfo = new Gauge({
    name: 'konsumerator_meta_info',
    help: 'Build information.',
    labelNames: ['go_version', 'binary_version', 'node_version'],
    registers: [this.registry],
  });

  readonly deploymentStatus = new Gauge({
    name: 'konsumerator_deployment_status',
    help: 'Scaling state of an instance: 1 RUNNING, 2 SATURATED, 3 PENDING_SCALE_UP, 4 PENDING_SCALE_DOWN, 0 unknown.',
    labelNames: ['consumer', 'deployment'],
    registers: [this.registry],
  });
  readonly deploymentSaturation = new Gauge({
    name: 'konsumerator_deployment_saturation',
    help: 'CPU an instance lacks because of its policy or the global budget, millicores.',
    labelNames: ['consumer', 'deployment'],
    registers: [this.registry],
  });
  readonly globalCpuLimit = this.gauge(
    'konsumerator_consumer_global_cpu_limit_mcores',
    'Global CPU budget, millicores.',
  );
  readonly globalMemoryLimit = this.gauge(
    'konsumerator_consumer_global_memory_limit_bytes',
    'Global memory budget, bytes.',
  );
  readonly globalCpuAllocated = this.gauge(
    'konsumerator_consumer_global_cpu_allocated_mcores',
    'Sum of CPU requests, millicores.',
  );
  readonly globalMemoryAllocated = this.gauge(
    'konsumerator_consumer_global_memory_allocated_bytes',
    'Sum of memory requests, bytes.',
  );
  readonly providerRequests = this.typed(
    'konsumerator_prometheus_mp_requests_total',
    'Metric reads, by metric type.',
  );
  readonly providerRequestErrors = this.typed(
    'konsumerator_prometheus_mp_requests_errors_total',
    'Failed metric reads, by metric type.',
  );
  readonly providerSubRequests = new Counter({
    name: 'konsumerator_prometheus_mp_sub_requests_total',
    help: 'Requests to one metrics source.',
    labelNames: ['consumer', 'addr'],
    registers: [this.registry],
  });
  readonly providerSubRequestErrors = new Counter({
    name: 'konsumerator_prometheus_mp_sub_requests_errors_total',
    help: 'Failed requests to one metrics source.',
    labelNames: ['consumer', 'addr'],
    registers: [this.registry],
  });
  readonly providerSubRequestDuration = new Summary({
    name: 'konsumerator_prometheus_mp_sub_request_duration_seconds',
    help: 'Duration of successful requests to one metrics source.',
    labelNames: ['consumer', 'addr'],
    percentiles,
    registers: [this.registry],
  });
  readonly lagObserved = new Gauge({
    name: 'konsumerator_prometheus_mp_lag_observed_seconds',
    help: 'Lag of a partition in seconds (messages behind / production rate) at the last read.',
    labelNames: ['consumer', 'partition'],
    registers: [this.registry],
  });
  // A gauge, as in the original, despite the _total suffix.
  readonly samplesReceived = new Gauge({
    name: 'konsumerator_prometheus_mp_samples_received_total',
    help: 'Series (or partitions) in the last answer, by metric type.',
    labelNames: ['consumer', 'type'],
    registers: [this.registry],
  });

  // In-place actuation (new).
  readonly resizes = new Counter({
    name: 'konsumerator_resizes_total',
    help: "Resource decisions that reached an instance's pods (in-place actuation), by path: in-place (pods/resize) or rollout (a new pod template).",
    labelNames: ['consumer', 'path'],
    registers: [this.registry],
  });
  readonly resizeFallbacks = new Counter({
    name: 'konsumerator_resize_fallbacks_total',
    help: 'Decisions rolled out instead of resized in place, by reason (Infeasible, Deferred, NodeCapacity, QoSClass, ...).',
    labelNames: ['consumer', 'reason'],
    registers: [this.registry],
  });
  readonly resizeSeconds = new Histogram({
    name: 'konsumerator_resize_duration_seconds',
    help: 'From a resource decision to every running pod of the instance reporting it in status.containerStatuses[].resources, by path.',
    labelNames: ['consumer', 'path'],
    buckets: [0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });
  readonly podResizes = this.counter(
    'konsumerator_pod_resizes_total',
    'pods/resize patches the API server accepted.',
  );
  readonly podResizeErrors = this.counter(
    'konsumerator_pod_resize_errors_total',
    'pods/resize patches that failed (refusals that lead to a fallback are not counted).',
  );
  readonly instanceResources = new Gauge({
    name: 'konsumerator_instance_resources',
    help: 'The current size of an instance: requests and limits of its scaled container (cpu in cores, memory in bytes), as decided.',
    labelNames: ['consumer', 'deployment', 'resource'],
    registers: [this.registry],
  });

  constructor(version: string) {
    collectDefaultMetrics({ register: this.registry });
    // go_version stays for dashboard compatibility; it carries the runtime's version.
    this.metaInfo.set(
      { go_version: process.version, binary_version: version, node_version: process.version },
      1,
    );
  }

  private gauge(name: string, help: string) {
    return new Gauge({ name, help, labelNames: ['consumer'], registers: [this.registry] });
  }

  private typed(name: string, help: string) {
    return new Counter({ name, help, labelNames: ['consumer', 'type'], registers: [this.registry] });
  }

  private counter(name: string, help: string) {
    return new Counter({ name, help, labelNames: ['consumer'], registers: [this.registry] });
  }

  /** Maps a metrics provider's hooks onto the original's konsumerator_prometheus_mp_* metrics. */
  providerObserver(consumer: string): ProviderObserver {
    return {
      onRequest: (_type, addr, seconds, ok) => {
        const labels = { consumer, addr };
        this.providerSubRequests.inc(labels);
        if (ok) this.providerSubRequestDuration.observe(labels, seconds);
        else this.providerSubRequestErrors.inc(labels);
        this.track(this.providerSubRequests, labels);
        this.track(this.providerSubRequestErrors, labels);
        this.track(this.providerSubRequestDuration, labels);
      },
      onSamples: (type, count) => {
        const labels = { consumer, type };
        this.providerRequests.inc(labels);
        this.samplesReceived.set(labels, count);
        this.track(this.providerRequests, labels);
        this.track(this.samplesReceived, labels);
      },
    };
  }

  /** A metrics read that failed as a whole counts as an error of every metric type. */
  providerReadFailed(consumer: string): void {
    for (const type of ['production_rate', 'consumption_rate', 'offset']) {
      this.providerRequestErrors.inc({ consumer, type });
      this.track(this.providerRequestErrors, { consumer, type });
    }
  }

  /** A decision reached the instance's pods after `seconds`, by `path`. */
  resized(consumer: string, path: string, seconds: number): void {
    const labels = { consumer, path };
    this.resizes.inc(labels);
    this.resizeSeconds.observe(labels, seconds);
    this.track(this.resizes, labels);
    this.track(this.resizeSeconds, labels);
  }

  fellBack(consumer: string, reason: string): void {
    const labels = { consumer, reason };
    this.resizeFallbacks.inc(labels);
    this.track(this.resizeFallbacks, labels);
  }

  /** The instance's current size (cpu in millicores and memory in bytes, as the autoscaler counts them). */
  setInstanceResources(
    consumer: string,
    deployment: string,
    amounts: { cpuRequest?: number; cpuLimit?: number; memoryRequest?: number; memoryLimit?: number },
  ): void {
    const values: [string, number | undefined][] = [
      ['cpu_request', amounts.cpuRequest === undefined ? undefined : amounts.cpuRequest / 1000],
      ['cpu_limit', amounts.cpuLimit === undefined ? undefined : amounts.cpuLimit / 1000],
      ['memory_request', amounts.memoryRequest],
      ['memory_limit', amounts.memoryLimit],
    ];
    for (const [resource, value] of values) {
      const labels = { consumer, deployment, resource };
      if (value === undefined || !Number.isFinite(value)) {
        this.instanceResources.remove(labels);
        continue;
      }
      this.instanceResources.set(labels, value);
      this.track(this.instanceResources, labels);
    }
  }

  /** Removes the series of one instance (its Deployment is deleted). */
  forgetInstance(consumer: string, deployment: string): void {
    for (const resource of ['cpu_request', 'cpu_limit', 'memory_request', 'memory_limit'])
      this.instanceResources.remove({ consumer, deployment, resource });
  }

  setStatusCounts(consumer: string, counts: Record<string, number>): void {
    for (const [type, value] of Object.entries(counts)) this.consumerStatus.set({ consumer, type }, value);
  }

  /** Label sets written per Consumer, so that all its series can be removed with it. */
  private readonly series = new Map<string, Map<Removable, Map<string, Record<string, string>>>>();

  /** Records a label set of a per-Consumer metric with more labels than `consumer`. */
  track(metric: Removable, labels: Record<string, string> & { consumer: string }): void {
    let forConsumer = this.series.get(labels.consumer);
    if (!forConsumer) this.series.set(labels.consumer, (forConsumer = new Map()));
    let forMetric = forConsumer.get(metric);
    if (!forMetric) forConsumer.set(metric, (forMetric = new Map()));
    forMetric.set(JSON.stringify(labels), labels);
  }

  forgetConsumer(consumer: string): void {
    for (const [metric, labelSets] of this.series.get(consumer) ?? []) {
      for (const labels of labelSets.values()) metric.remove(labels);
    }
    this.series.delete(consumer);
    for (const metric of [
      this.globalCpuLimit,
      this.globalMemoryLimit,
      this.globalCpuAllocated,
      this.globalMemoryAllocated,
    ]) {
      metric.remove({ consumer });
    }
    for (const metric of [
      this.reconcileTotal,
      this.reconcileErrors,
      this.creates,
      this.createErrors,
      this.deletes,
    ]) {
      metric.remove({ consumer });
    }
    for (const metric of [this.deleteErrors, this.updates, this.updateErrors]) metric.remove({ consumer });
    this.reconcileDuration.remove({ consumer });
    for (const metric of [this.podResizes, this.podResizeErrors]) metric.remove({ consumer });
    this.statusUpdateDuration.remove({ consumer });
    for (const type of ['running', 'paused', 'lagging', 'outdated', 'expected', 'missing', 'redundant']) {
      this.consumerStatus.remove({ consumer, type });
    }
  }
}
