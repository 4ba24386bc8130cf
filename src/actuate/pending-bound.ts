// How long the operator lets a node defer (or fail to apply) an instance's resize before it rolls
// the instance out instead. Waiting costs no restart, and the node may make room (its other pods
// shrink or go); but meanwhile the pod runs at its old size. While the instance is behind that is
// paid for in lag, so an urgent instance waits much less. Pure: the instance's lag in.

/** Lag, as a share of tolerableLag, from which an instance whose resize waits counts as urgent. */
export const URGENT_LAG_SHARE = 0.2;

/** How long an urgent instance's resize may stay deferred before it rolls out instead. */
export const URGENT_PENDING_BOUND_MS = 0;

export interface PendingBoundInput {
  /** The operator's bound for an instance that is not urgent (--resize-pending-timeout). */
  boundMs: number;
  /** The instance's largest partition lag at the last metrics read; undefined when unknown. */
  lagMs: number | undefined;
  /** The Consumer's tolerableLag (0 or less: no lag target, never urgent). */
  tolerableLagMs: number;
}

/** Whether the instance lags enough that its resize should not wait for the node. */
export function urgent({ lagMs, tolerableLagMs }: Omit<PendingBoundInput, 'boundMs'>): boolean {
  return lagMs !== undefined && tolerableLagMs > 0 && lagMs >= tolerableLagMs * URGENT_LAG_SHARE;
}

/** The bound for one instance now: the operator's, or the short one while the instance lags. */
export function pendingBoundMs(input: PendingBoundInput): number {
  return urgent(input) ? Math.min(input.boundMs, URGENT_PENDING_BOUND_MS) : input.boundMs;
}
