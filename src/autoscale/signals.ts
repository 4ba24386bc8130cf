// From per-partition metrics to what the policy needs: lag in time, drain time, and whether the
// consumer is stalled. A value that is not known stays undefined; it is never taken as zero.
import type { PartitionSample } from '../metrics/types.js';

/** Something is known about the partition: one of its three values at least. */
export const hasAnyMetric = (sample: PartitionSample | undefined): boolean =>
  sample?.production !== undefined || sample?.behind !== undefined || sample?.consumption !== undefined;

export interface PartitionSignal {
  partition: number;
  sample: PartitionSample;
  /** behind / production in whole seconds, as the original (0 without production); undefined when unknown. */
  lagMs: number | undefined;
  /** Time to drain the backlog at the current rates; Infinity when it does not shrink. */
  drainMs: number | undefined;
  /** Behind, and nothing consumed: more CPU will not help (Burrow calls this a stalled consumer). */
  stalled: boolean;
}

export function partitionSignal(partition: number, sample: PartitionSample | undefined): PartitionSignal {
  const s = sample ?? {};
  const behind = s.behind === undefined ? undefined : Math.trunc(s.behind);
  const production = s.production === undefined ? undefined : Math.trunc(s.production);
  let lagMs: number | undefined;
  if (behind !== undefined && production !== undefined) {
    lagMs = production !== 0 ? Math.floor(behind / production) * 1000 : 0;
  }
  let drainMs: number | undefined;
  if (behind !== undefined && s.consumption !== undefined && s.production !== undefined) {
    const net = s.consumption - s.production;
    drainMs = behind <= 0 ? 0 : net > 0 ? (behind / net) * 1000 : Infinity;
  }
  const stalled = behind !== undefined && behind > 0 && s.consumption !== undefined && s.consumption <= 0;
  return { partition, sample: s, lagMs, drainMs, stalled };
}

export interface InstanceSignal {
  partitions: PartitionSignal[];
  /** Largest known partition lag; undefined when no partition's lag is known. */
  maxLagMs: number | undefined;
  lagging: boolean;
  critical: boolean;
  /** Some partition is behind with no consumption at all. */
  stalled: boolean;
  /** No partition has any metric: decisions must not move the instance. */
  unknown: boolean;
  /**
   * The lag of every partition is known. Without it "no lag" cannot be told from "no data" (a
   * failed offset query, NaN, a missing label), so the instance must not shrink.
   */
  lagKnown: boolean;
}

export function instanceSignal(
  partitions: readonly number[],
  samples: ReadonlyMap<number, PartitionSample>,
  tolerableLagMs: number,
  criticalLagMs: number | undefined,
): InstanceSignal {
  const signals: PartitionSignal[] = [];
  let maxLagMs: number | undefined;
  let stalled = false;
  let unknown = true;
  let lagKnown = true;
  for (const p of partitions) {
    const signal = partitionSignal(p, samples.get(p));
    signals.push(signal);
    if (signal.lagMs === undefined) lagKnown = false;
    else maxLagMs = maxLagMs === undefined ? signal.lagMs : Math.max(maxLagMs, signal.lagMs);
    if (signal.stalled) stalled = true;
    if (hasAnyMetric(signal.sample)) unknown = false;
  }
  return {
    partitions: signals,
    maxLagMs,
    lagging: maxLagMs !== undefined && maxLagMs >= tolerableLagMs,
    critical: maxLagMs !== undefined && criticalLagMs !== undefined && maxLagMs >= criticalLagMs,
    stalled,
    unknown,
    lagKnown,
  };
}
