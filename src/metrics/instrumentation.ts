// Hooks a provider calls so the operator can count its requests (mapped by the controller to the
// original's konsumerator_prometheus_mp_* metrics, names and labels included). No dependency on
// prom-client.
import { METRIC_TYPES, type MetricType, type MetricsReading } from './types.js';

export interface ProviderObserver {
  /**
   * One request to one source finished: `addr` is the Prometheus address (or the Kafka brokers),
   * `seconds` its duration, `ok` false for a failure (network, HTTP status, unusable body, timeout).
   * Requests cancelled by the caller's AbortSignal are not reported.
   */
  onRequest(type: MetricType, addr: string, seconds: number, ok: boolean): void;
  /** The answer used for `type` had `count` series (Prometheus) or partitions (Kafka). */
  onSamples(type: MetricType, count: number): void;
  /** Every address answered (or failed) the query of `type`, `seconds` after the read began. */
  onQuery(type: MetricType, seconds: number): void;
  /** Whether a read that resolved had a value of `type` for `partition` (one call each per read). */
  onValue(type: MetricType, partition: number, known: boolean): void;
}

export const noopObserver: ProviderObserver = {
  onRequest() {},
  onSamples() {},
  onQuery() {},
  onValue() {},
};

const FIELD_OF: Record<MetricType, 'production' | 'consumption' | 'behind'> = {
  production_rate: 'production',
  consumption_rate: 'consumption',
  offset: 'behind',
};

/** Reports, for every partition `0..numPartitions-1` and metric type, whether the reading has a value. */
export function reportValues(
  reading: MetricsReading,
  numPartitions: number,
  observer: ProviderObserver,
): void {
  for (let partition = 0; partition < numPartitions; partition++) {
    const sample = reading.partitions.get(partition);
    for (const type of METRIC_TYPES) {
      observer.onValue(type, partition, sample?.[FIELD_OF[type]] !== undefined);
    }
  }
}
