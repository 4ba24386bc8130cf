// Hooks a provider calls so the operator can count its requests (mapped by the controller to the
// original's konsumerator_prometheus_mp_* metrics, names and labels included). No dependency on
// prom-client.
import type { MetricType } from './types.js';

export interface ProviderObserver {
  /**
   * One request to one source finished: `addr` is the Prometheus address (or the Kafka brokers),
   * `seconds` its duration, `ok` false for a failure (network, HTTP status, unusable body, timeout).
   * Requests cancelled by the caller's AbortSignal are not reported.
   */
  onRequest(type: MetricType, addr: string, seconds: number, ok: boolean): void;
  /** The answer used for `type` had `count` series (Prometheus) or partitions (Kafka). */
  onSamples(type: MetricType, count: number): void;
}

export const noopObserver: ProviderObserver = {
  onRequest() {},
  onSamples() {},
};
