// The numbers the autoscaler works with, resolved from the spec once per reconcile.
import type { FallbackStrategy } from '../api/resolve.js';

export interface AutoscaleSettings {
  /** Messages per second one core processes. */
  ratePerCore: number;
  /** Memory per whole core of the CPU limit, bytes. */
  ramPerCoreBytes: number;
  /** CPU request granularity, millicores. */
  cpuIncrementMillis: number;
  tolerableLagMs: number;
  /** undefined disables critical lag. */
  criticalLagMs: number | undefined;
  recoveryTimeMs: number;
  pendingScaleUpMs: number;
  pendingScaleDownMs: number;
  /** Consecutive syncs without lag an instance needs before it may shrink (new; the original: 1). */
  scaleDownAfterLagFreeSyncs: number;
  fallbackStrategy: FallbackStrategy;
  /**
   * Decide ahead of the lag (the proactive predictor): scale up as soon as the instance cannot
   * keep up, at once when the lag would reach tolerableLag within the pending period, and
   * shrink only with a margin. false/undefined: the original's rules (scale up only when lagging).
   */
  proactive?: boolean;
  /**
   * The CPU limit (whole cores) is at least the request plus MEMORY_CPU_BURST_SHARE, not just the
   * request: set with a learned rate per core, which counts the CPU pods got above their request
   * (see capacity.ts), so that every size gets that share and not only those a whole core leaves
   * room to.
   */
  cpuLimitCoversBurst?: boolean;
}
