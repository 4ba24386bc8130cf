// When a failed delivery is tried again, and whether it is. Pure: the attempt number, the clock
// and the random source are parameters.

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The delay before the second attempt, doubled for each one after it. */
  baseDelayMs: number;
  /** No delay is longer, a Retry-After included. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

/** How one attempt ended. */
export type AttemptOutcome =
  | { kind: 'delivered'; status: number }
  /** An HTTP answer that is not a success. */
  | { kind: 'http_error'; status: number; retryAfter?: string }
  | { kind: 'timeout' }
  | { kind: 'network_error'; code: string };

/** Statuses worth another attempt: the receiver may answer differently later. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export function isRetryable(outcome: AttemptOutcome): boolean {
  if (outcome.kind === 'delivered') return false;
  if (outcome.kind === 'http_error') return RETRYABLE_STATUS.has(outcome.status);
  return true;
}

/**
 * The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed: exponential
 * with full jitter (a random point between half and all of base·2^(attempt-1), so that targets
 * failing together do not retry together), within maxDelayMs.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * A Retry-After header (seconds, or an HTTP date) as a delay from `now`, within [0, maxDelayMs];
 * undefined when absent or not understood.
 */
export function retryAfterMs(header: string | undefined, now: Date, maxDelayMs: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  let ms: number;
  if (/^\d{1,10}$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now.getTime();
  }
  return Math.min(maxDelayMs, Math.max(0, ms));
}

/** After a failed attempt: the delay before the next one, or undefined to give up. */
export function nextAttemptDelayMs(
  attempt: number,
  outcome: AttemptOutcome,
  policy: RetryPolicy,
  now: Date,
  random: () => number,
): number | undefined {
  if (!isRetryable(outcome) || attempt >= policy.maxAttempts) return undefined;
  const backoff = backoffDelayMs(attempt, policy, random);
  if (outcome.kind === 'http_error' && (outcome.status === 429 || outcome.status === 503)) {
    const asked = retryAfterMs(outcome.retryAfter, now, policy.maxDelayMs);
    if (asked !== undefined) return Math.max(asked, backoff);
  }
  return backoff;
}
