// The metrics layer: providers that read per-partition production rate, consumption rate and
// messages behind. No dependency on the controller.
export type { MetricsProvider, MetricsReading, PartitionSample, MetricType } from './types.js';
export { METRIC_TYPES, partitionRanges } from './types.js';
export type { ProviderObserver } from './instrumentation.js';
export { noopObserver } from './instrumentation.js';
export type { HttpAuth, HttpTls } from './http.js';
export {
  createPrometheusProvider,
  DEFAULT_PROMETHEUS_TIMEOUT_MS,
  PrometheusProvider,
  type PrometheusProviderOptions,
  type PrometheusQuery,
} from './prometheus.js';
export {
  createKafkaProvider,
  KafkaProvider,
  type KafkaProviderOptions,
  type KafkaSasl,
  type KafkaTls,
  type UncommittedPolicy,
} from './kafka.js';
export { createStaticProvider, StaticProvider, type StaticProviderOptions } from './static.js';
export { fromLastSyncState, toLastSyncState, type LastSyncState } from './warm-start.js';
