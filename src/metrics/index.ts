// The metrics layer's contract: what a provider returns, the hooks it reports to, and the warm
// start from status. No dependency on the controller. The providers themselves (HTTP, Kafka) are
// not exported here: a metrics source (sources/) loads its provider with import() when a Consumer
// uses it, so importing this module loads no client code.
export type { MetricsProvider, MetricsReading, PartitionSample, MetricType } from './types.js';
export { METRIC_TYPES, partitionRanges } from './types.js';
export type { ProviderObserver } from './instrumentation.js';
export { noopObserver, reportValues } from './instrumentation.js';
export type { HttpAuth, HttpTls } from './http.js';
export type { PrometheusProviderOptions, PrometheusQuery } from './prometheus.js';
export type { KafkaProviderOptions, KafkaSasl, KafkaTls, UncommittedPolicy } from './kafka.js';
export type { StaticProviderOptions } from './static.js';
export { fromLastSyncState, toLastSyncState, type LastSyncState } from './warm-start.js';
