// A trace: what the producers do to each partition over time, plus the events that are not
// traffic (a consumer that stalls, metrics that vanish). Rates are piecewise constant per step.

export interface TimeWindow {
  startMs: number;
  endMs: number;
}

export interface StallWindow extends TimeWindow {
  /** The partition whose consumer processes nothing (a poison message, a stuck dependency). */
  partition: number;
}

/**
 * `absent`: the exporter is gone, the series vanish (queries succeed with no data);
 * `error`: Prometheus (or the brokers' admin API) cannot be reached at all.
 */
export interface MetricGap extends TimeWindow {
  kind: 'absent' | 'error';
}

export interface Trace {
  name: string;
  title: string;
  /** What the trace exercises, one or two sentences (goes into the report). */
  description: string;
  /** Resolution of `rates`. */
  stepMs: number;
  durationMs: number;
  /** Produced messages per second, per partition, per step. */
  rates: Float64Array[];
  stalls: StallWindow[];
  gaps: MetricGap[];
  /**
   * Node headroom of this trace's cluster: the share of its CPU request a pod may use on top of
   * it from its node's idle CPU (up to its CPU limit). Unset: SimParams.nodeHeadroom.
   */
  nodeHeadroom?: number;
}

export const partitionCount = (trace: Trace) => trace.rates.length;

/** Production rate of a partition at a time (the step that contains it; the last step after the end). */
export function rateAt(trace: Trace, partition: number, timeMs: number): number {
  const series = trace.rates[partition]!;
  const index = Math.min(series.length - 1, Math.max(0, Math.floor(timeMs / trace.stepMs)));
  return series[index]!;
}

export const inWindow = (w: TimeWindow, timeMs: number) => timeMs >= w.startMs && timeMs < w.endMs;

/** Highest rate a partition reaches in the trace. */
export function peakRate(trace: Trace, partition: number): number {
  let peak = 0;
  for (const r of trace.rates[partition]!) peak = Math.max(peak, r);
  return peak;
}
