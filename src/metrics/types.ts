// The metrics layer's contract: what a provider returns for one read. Shared by every provider and
// by the code that consumes readings (autoscale, status); no I/O here.

/** One partition's metrics. A missing field is UNKNOWN (no data, a failed query), never a silent 0. */
export interface PartitionSample {
  /** Produced messages per second. */
  production?: number;
  /** Consumed messages per second. */
  consumption?: number;
  /** Messages behind (lag in messages). */
  behind?: number;
}

export interface MetricsReading {
  /** When the values were read (the provider's clock). */
  time: Date;
  /**
   * One entry for every partition `0..numPartitions-1` asked for, each with what is known about it
   * (an entry may have no field at all).
   */
  partitions: Map<number, PartitionSample>;
  /**
   * Per-source problems (an address that failed, a NaN series, a missing label...), in words the
   * Consumer's author may read: they never quote what a server sent.
   */
  warnings: string[];
  /** What the servers said behind the warnings (bounded): for the operator's log, never for status. */
  details?: string[];
  /** Endpoints the operator's endpoint policy refused (their messages); nothing was sent to them. */
  denied?: string[];
}

/**
 * A read that gave nothing usable. `message` is for the Consumer's author (status, events) and
 * never quotes a server; `details` hold what the servers said, for the operator's log only;
 * `denied` the endpoints the endpoint policy refused.
 */
export class MetricsReadError extends Error {
  override name = 'MetricsReadError';
  constructor(
    message: string,
    readonly details: readonly string[] = [],
    readonly denied: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface MetricsProvider {
  /**
   * Reads the current metrics of partitions `0..numPartitions-1`. Resolves with unknowns and
   * warnings when part of the data is missing; rejects (with an Error that names the failing source
   * and why) only when no usable answer could be had at all.
   */
  read(numPartitions: number, signal?: AbortSignal): Promise<MetricsReading>;
  /** Releases connections (sockets, Kafka admin client). */
  close?(): Promise<void>;
}

/** The three per-partition quantities, named as the original's metric label `type` values. */
export type MetricType = 'production_rate' | 'consumption_rate' | 'offset';

export const METRIC_TYPES: readonly MetricType[] = ['production_rate', 'consumption_rate', 'offset'];

/** The PartitionSample field that holds a metric type. */
export const SAMPLE_FIELD: Record<MetricType, keyof PartitionSample> = {
  production_rate: 'production',
  consumption_rate: 'consumption',
  offset: 'behind',
};

/** A map with an (empty) entry for every partition `0..numPartitions-1`. */
export function emptyPartitions(numPartitions: number): Map<number, PartitionSample> {
  const partitions = new Map<number, PartitionSample>();
  for (let p = 0; p < numPartitions; p++) partitions.set(p, {});
  return partitions;
}

/** Checks the numPartitions argument of read(); throws a clear Error when it is unusable. */
export function checkNumPartitions(numPartitions: number): void {
  if (!Number.isSafeInteger(numPartitions) || numPartitions < 0) {
    throw new Error(`numPartitions must be a non-negative integer, got ${numPartitions}`);
  }
}

/** Compact list of partitions for messages: `0-3,7,9-10`. */
export function partitionRanges(partitions: Iterable<number>): string {
  const sorted = [...new Set(partitions)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The message of an unknown thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const causeMessage = cause instanceof Error ? cause.message : undefined;
    return causeMessage && !err.message.includes(causeMessage)
      ? `${err.message}: ${causeMessage}`
      : err.message;
  }
  return String(err);
}
