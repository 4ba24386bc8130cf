// Operator metrics under the original's names and labels, so existing dashboards
// keep working. Series of a deleted Consumer are removed (the original kept them forever).
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  Summary,
  collectDefaultMetrics,
  type MetricValue,
} from 'prom-client';
import type { ProviderObserver } from '../metrics/index.js';
import type { DeliveryObserver } from '../notify/webhook.js';
import type { QueueObserver } from './queue.js';

const percentiles = [0.5, 0.9, 0.99, 0.999, 1];
/** controller-runtime's work-queue buckets: 10 ns to 1000 s, ×10 each. */
const QUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

interface Removable {
  remove(labels: Record<string, string>): void;
}

/**
 * A gauge whose series are computed from `read` at each scrape: prom-client keeps no object per
 * series between scrapes. For the per-instance and per-partition gauges, whose series grow with
 * the number of instances (a label set, its hash and a series object each).
 */
class ComputedGauge<L extends string> extends Gauge<L> {
  constructor(
    config: { name: string; help: string; labelNames: readonly L[]; registers: Registry[] },
    private readonly read: () => MetricValue<L>[],
  ) {
    super(config);
  }

  override async get(): ReturnType<Gauge<L>['get']> {
    const base = await super.get();
    return { ...base, values: this.read() };
  }
}

/** What the per-instance gauges show of one instance (resources: cpu in cores, memory in bytes). */
class InstanceSeries {
  status: number | undefined = undefined;
  saturation: number | undefined = undefined;
  cpu_request: number | undefined = undefined;
  cpu_limit: number | undefined = undefined;
  memory_request: number | undefined = undefined;
  memory_limit: number | undefined = undefined;
}

const RESOURCE_NAMES = ['cpu_request', 'cpu_limit', 'memory_request', 'memory_limit'] as const;

interface WatchedQueue {
  readonly length: number;
  workAgesMs(): number[];
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

  /** Per Consumer, per instance (Deployment name): the values of the per-instance gauges. */
  private readonly instances = new Map<string, Map<string, InstanceSeries>>();
  /** Per Consumer, per partition: the lag seen at the last read, seconds. */
  private readonly lags = new Map<string, Map<number, number>>();

  readonly deploymentStatus = new ComputedGauge(
    {
      name: 'konsumerator_deployment_status',
      help: 'Scaling state of an instance: 1 RUNNING, 2 SATURATED, 3 PENDING_SCALE_UP, 4 PENDING_SCALE_DOWN, 0 unknown.',
      labelNames: ['consumer', 'deployment'],
      registers: [this.registry],
    },
    () => this.instanceValues('status'),
  );
  readonly deploymentSaturation = new ComputedGauge(
    {
      name: 'konsumerator_deployment_saturation',
      help: 'CPU an instance lacks because of its policy or the global budget, millicores.',
      labelNames: ['consumer', 'deployment'],
      registers: [this.registry],
    },
    () => this.instanceValues('saturation'),
  );
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
  readonly capacityRatePerCore = new Gauge({
    name: 'konsumerator_consumer_capacity_rate_per_core',
    help: 'Messages per second per core: configured (spec), learned (from saturated reads), used (what the sizing divides by).',
    labelNames: ['consumer', 'kind'],
    registers: [this.registry],
  });
  readonly capacityConfidence = this.gauge(
    'konsumerator_consumer_capacity_confidence',
    'Confidence in the learned rate per core, 0..1 (used from 0.55 on).',
  );
  readonly providerRequests = this.typed(
    'konsumerator_prometheus_mp_requests_total',
    'Metric reads, by metric type.',
  );
  readonly providerRequestErrors = this.typed(
    'konsumerator_prometheus_mp_requests_errors_total',
    'Failed metric reads, by metric type.',
  );
  readonly providerRequestDuration = new Summary({
    name: 'konsumerator_prometheus_mp_request_duration_seconds',
    help: 'Duration of a query of one metric type, from the read start to the last address answering it.',
    labelNames: ['consumer', 'type'],
    percentiles,
    registers: [this.registry],
  });
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
  readonly lagObserved = new ComputedGauge(
    {
      name: 'konsumerator_prometheus_mp_lag_observed_seconds',
      help: 'Lag of a partition in seconds (messages behind / production rate) at the last read.',
      labelNames: ['consumer', 'partition'],
      registers: [this.registry],
    },
    () => {
      const values: MetricValue<'consumer' | 'partition'>[] = [];
      for (const [consumer, partitions] of this.lags)
        for (const [partition, value] of partitions)
          values.push({ labels: { consumer, partition: String(partition) }, value });
      return values;
    },
  );
  // A gauge, as in the original, despite the _total suffix.
  readonly samplesReceived = new Gauge({
    name: 'konsumerator_prometheus_mp_samples_received_total',
    help: 'Series (or partitions) in the last answer, by metric type.',
    labelNames: ['consumer', 'type'],
    registers: [this.registry],
  });

  readonly zeroValues = new Counter({
    name: 'konsumerator_prometheus_mp_zero_values_total',
    help: 'Reads that returned no value for a partition, by metric type (the original stored 0 for them).',
    labelNames: ['consumer', 'partition', 'type'],
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
  readonly instanceResources = new ComputedGauge(
    {
      name: 'konsumerator_instance_resources',
      help: 'The current size of an instance: requests and limits of its scaled container (cpu in cores, memory in bytes), as decided.',
      labelNames: ['consumer', 'deployment', 'resource'],
      registers: [this.registry],
    },
    () => {
      const values: MetricValue<'consumer' | 'deployment' | 'resource'>[] = [];
      for (const [consumer, instances] of this.instances)
        for (const [deployment, series] of instances)
          for (const resource of RESOURCE_NAMES) {
            const value = series[resource];
            if (value !== undefined) values.push({ labels: { consumer, deployment, resource }, value });
          }
      return values;
    },
  );

  // The work queue, as controller-runtime names and labels it (`name` and `controller`: the
  // lower-case kind, "consumer").
  /** Work queues whose depth and keys in work are read at each scrape. */
  private readonly queues = new Map<string, WatchedQueue>();
  readonly queueDepth = this.queueGauge(
    'workqueue_depth',
    'Current depth of the work queue.',
    (q) => q.length,
  );
  readonly queueAdds = this.queueMetric(Counter, 'workqueue_adds_total', 'Adds handled by the work queue.');
  readonly queueRetries = this.queueMetric(
    Counter,
    'workqueue_retries_total',
    'Retries (adds with backoff after a failed reconcile) handled by the work queue.',
  );
  readonly queueDuration = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long a key stays in the work queue before a worker takes it.',
    labelNames: ['name', 'controller'],
    buckets: QUEUE_BUCKETS,
    registers: [this.registry],
  });
  readonly workDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long processing a key (one reconcile) takes.',
    labelNames: ['name', 'controller'],
    buckets: QUEUE_BUCKETS,
    registers: [this.registry],
  });
  readonly unfinishedWork = this.queueGauge(
    'workqueue_unfinished_work_seconds',
    'Seconds of work in progress not yet observed by work_duration; growing values mean stuck workers.',
    (q) => q.workAgesMs().reduce((sum, ms) => sum + ms / 1000, 0),
  );
  readonly longestRunning = this.queueGauge(
    'workqueue_longest_running_processor_seconds',
    'How long the longest running reconcile has been running.',
    (q) => Math.max(0, ...q.workAgesMs()) / 1000,
  );

  // Requests to the Kubernetes API server, as client-go names and labels them.
  readonly apiRequests = new Counter({
    name: 'rest_client_requests_total',
    help: 'HTTP requests to the API server, by status code ("<error>" without an answer), method and host.',
    labelNames: ['code', 'method', 'host'],
    registers: [this.registry],
  });
  readonly apiRequestDuration = new Histogram({
    name: 'rest_client_request_duration_seconds',
    help: 'Time to the answer (its status line and headers) of an API server request, by verb and host.',
    labelNames: ['verb', 'host'],
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
    registers: [this.registry],
  });
  // Webhook notifications (docs/notifications.md); series exist only with --notify-url targets.
  readonly notificationAttempts = new Counter({
    name: 'konsumerator_notification_deliveries_total',
    help: 'Webhook delivery attempts, by target and outcome (delivered, http_error, timeout, network_error).',
    labelNames: ['target', 'outcome'],
    registers: [this.registry],
  });
  readonly notificationsDropped = new Counter({
    name: 'konsumerator_notifications_dropped_total',
    help: 'Webhook notifications given up, by target and reason (queue_full, max_attempts, rejected, shutdown).',
    labelNames: ['target', 'reason'],
    registers: [this.registry],
  });
  readonly notificationQueueDepth = new Gauge({
    name: 'konsumerator_notification_queue_depth',
    help: 'Webhook notifications waiting for delivery, by target.',
    labelNames: ['target'],
    registers: [this.registry],
  });
  readonly notificationDuration = new Histogram({
    name: 'konsumerator_notification_delivery_duration_seconds',
    help: 'Duration of a webhook delivery attempt, by target.',
    labelNames: ['target'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** The hooks of webhook delivery (src/notify). */
  readonly deliveryObserver: DeliveryObserver = {
    attempt: (target, outcome, seconds) => {
      this.notificationAttempts.inc({ target, outcome });
      this.notificationDuration.observe({ target }, seconds);
    },
    dropped: (target, reason) => this.notificationsDropped.inc({ target, reason }),
    depth: (target, depth) => this.notificationQueueDepth.set({ target }, depth),
  };

  constructor(version: string) {
    collectDefaultMetrics({ register: this.registry });
    // go_version stays for dashboard compatibility; it carries the runtime's version.
    this.metaInfo.set(
      { go_version: process.version, binary_version: version, node_version: process.version },
      1,
    );
  }

  private queueMetric(Kind: typeof Counter, name: string, help: string) {
    return new Kind({ name, help, labelNames: ['name', 'controller'], registers: [this.registry] });
  }

  /** The hooks of the work queue named `name`. */
  queueObserver(name: string): QueueObserver {
    const labels = { name, controller: name };
    this.queueAdds.inc(labels, 0);
    this.queueRetries.inc(labels, 0);
    return {
      added: () => this.queueAdds.inc(labels),
      retried: () => this.queueRetries.inc(labels),
      started: (waitedMs) => this.queueDuration.observe(labels, waitedMs / 1000),
      finished: (workedMs) => this.workDuration.observe(labels, workedMs / 1000),
    };
  }

  /** The queue's depth and keys in work are read at each scrape. */
  watchQueue(name: string, queue: WatchedQueue): void {
    this.queues.set(name, queue);
  }

  /** An API server request answered with `code` (undefined: no answer) after `seconds`. */
  apiRequest(method: string, host: string, code: number | undefined, seconds: number): void {
    this.apiRequests.inc({ code: code === undefined ? '<error>' : String(code), method, host });
    this.apiRequestDuration.observe({ verb: method, host }, seconds);
  }

  private queueGauge(name: string, help: string, value: (queue: WatchedQueue) => number) {
    const queues = this.queues;
    return new Gauge({
      name,
      help,
      labelNames: ['name', 'controller'],
      registers: [this.registry],
      collect() {
        for (const [queueName, queue] of queues)
          this.set({ name: queueName, controller: queueName }, value(queue));
      },
    });
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
        // Counted from 0, so that rate() and alerts see the first error.
        this.providerSubRequestErrors.inc(labels, ok ? 0 : 1);
        this.track(this.providerSubRequests, labels);
        this.track(this.providerSubRequestErrors, labels);
        this.track(this.providerSubRequestDuration, labels);
      },
      onSamples: (type, count) => {
        const labels = { consumer, type };
        this.providerRequests.inc(labels);
        this.providerRequestErrors.inc(labels, 0);
        this.samplesReceived.set(labels, count);
        this.track(this.providerRequests, labels);
        this.track(this.providerRequestErrors, labels);
        this.track(this.samplesReceived, labels);
      },
      onQuery: (type, seconds) => {
        const labels = { consumer, type };
        this.providerRequestDuration.observe(labels, seconds);
        this.track(this.providerRequestDuration, labels);
      },
      onValue: (type, partition, known) => {
        const labels = { consumer, partition: String(partition), type };
        this.zeroValues.inc(labels, known ? 0 : 1);
        this.track(this.zeroValues, labels);
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

  private instanceValues(field: 'status' | 'saturation'): MetricValue<'consumer' | 'deployment'>[] {
    const values: MetricValue<'consumer' | 'deployment'>[] = [];
    for (const [consumer, instances] of this.instances)
      for (const [deployment, series] of instances) {
        const value = series[field];
        if (value !== undefined) values.push({ labels: { consumer, deployment }, value });
      }
    return values;
  }

  private instance(consumer: string, deployment: string): InstanceSeries {
    let instances = this.instances.get(consumer);
    if (!instances) this.instances.set(consumer, (instances = new Map()));
    let series = instances.get(deployment);
    if (!series) instances.set(deployment, (series = new InstanceSeries()));
    return series;
  }

  /** The instance's scaling state (a STATUS code) and the CPU it lacks, millicores. */
  setInstanceScaling(consumer: string, deployment: string, status: number, saturationMillis: number): void {
    const series = this.instance(consumer, deployment);
    series.status = status;
    series.saturation = saturationMillis;
  }

  /** The instance's current size (cpu in millicores and memory in bytes, as the autoscaler counts them). */
  setInstanceResources(
    consumer: string,
    deployment: string,
    amounts: { cpuRequest?: number; cpuLimit?: number; memoryRequest?: number; memoryLimit?: number },
  ): void {
    const series = this.instance(consumer, deployment);
    const finite = (value: number | undefined) =>
      value !== undefined && Number.isFinite(value) ? value : undefined;
    series.cpu_request = finite(amounts.cpuRequest === undefined ? undefined : amounts.cpuRequest / 1000);
    series.cpu_limit = finite(amounts.cpuLimit === undefined ? undefined : amounts.cpuLimit / 1000);
    series.memory_request = finite(amounts.memoryRequest);
    series.memory_limit = finite(amounts.memoryLimit);
  }

  /** Removes the series of one instance (its Deployment is deleted). */
  forgetInstance(consumer: string, deployment: string): void {
    const instances = this.instances.get(consumer);
    instances?.delete(deployment);
    if (instances?.size === 0) this.instances.delete(consumer);
  }

  /** The lag of a partition at the last read, seconds. */
  setLagObserved(consumer: string, partition: number, seconds: number): void {
    let partitions = this.lags.get(consumer);
    if (!partitions) this.lags.set(consumer, (partitions = new Map()));
    partitions.set(partition, seconds);
  }

  /** Counts a reconcile; the Consumer's counters all start at 0, so rate() sees their first increase. */
  reconcileStarted(consumer: string): void {
    const labels = { consumer };
    this.reconcileTotal.inc(labels);
    for (const counter of [
      this.reconcileErrors,
      this.creates,
      this.createErrors,
      this.updates,
      this.updateErrors,
      this.deletes,
      this.deleteErrors,
      this.podResizes,
      this.podResizeErrors,
    ])
      counter.inc(labels, 0);
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
    this.instances.delete(consumer);
    this.lags.delete(consumer);
    for (const metric of [
      this.globalCpuLimit,
      this.globalMemoryLimit,
      this.globalCpuAllocated,
      this.globalMemoryAllocated,
      this.capacityConfidence,
    ]) {
      metric.remove({ consumer });
    }
    for (const kind of ['configured', 'learned', 'used']) this.capacityRatePerCore.remove({ consumer, kind });
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
