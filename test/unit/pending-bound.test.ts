// How long a deferred resize may wait before the instance rolls out instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  pendingBoundMs,
  URGENT_LAG_SHARE,
  URGENT_PENDING_BOUND_MS,
} from '../../src/actuate/pending-bound.js';

const MIN = 60_000;
const tolerableLagMs = 5 * MIN;
const boundMs = 5 * MIN;

test('an instance within its lag target waits the operator bound; one lagging past URGENT_LAG_SHARE of tolerableLag does not wait', () => {
  const urgentFrom = tolerableLagMs * URGENT_LAG_SHARE;
  assert.equal(pendingBoundMs({ boundMs, lagMs: 0, tolerableLagMs }), boundMs);
  assert.equal(pendingBoundMs({ boundMs, lagMs: urgentFrom - 1000, tolerableLagMs }), boundMs);
  assert.equal(pendingBoundMs({ boundMs, lagMs: urgentFrom, tolerableLagMs }), URGENT_PENDING_BOUND_MS);
  assert.equal(
    pendingBoundMs({ boundMs, lagMs: 10 * tolerableLagMs, tolerableLagMs }),
    URGENT_PENDING_BOUND_MS,
  );
  assert.ok(URGENT_PENDING_BOUND_MS < boundMs);
});

test('an unknown lag, or no lag target, keeps the operator bound; a shorter operator bound is never lengthened', () => {
  assert.equal(pendingBoundMs({ boundMs, lagMs: undefined, tolerableLagMs }), boundMs);
  assert.equal(pendingBoundMs({ boundMs, lagMs: 10 * MIN, tolerableLagMs: 0 }), boundMs);
  assert.equal(pendingBoundMs({ boundMs: 0, lagMs: 0, tolerableLagMs }), 0);
  assert.equal(
    pendingBoundMs({ boundMs: 1000, lagMs: 10 * MIN, tolerableLagMs }),
    Math.min(1000, URGENT_PENDING_BOUND_MS),
  );
});
