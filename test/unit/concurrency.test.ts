import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withConcurrency } from '../../src/util/concurrency.js';

test('withConcurrency runs every item once with at most `size` in flight, without waiting for batches', async () => {
  let inFlight = 0;
  let most = 0;
  const seen: number[] = [];
  const startedWhileSlowRan: number[] = [];
  let slowRunning = false;
  await withConcurrency([0, 1, 2, 3, 4, 5, 6], 3, async (i) => {
    inFlight++;
    most = Math.max(most, inFlight);
    if (slowRunning) startedWhileSlowRan.push(i);
    if (i === 0) slowRunning = true;
    await new Promise((r) => setTimeout(r, i === 0 ? 60 : 5));
    if (i === 0) slowRunning = false;
    seen.push(i);
    inFlight--;
  });
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(most, 3);
  // A batch of three would hold items 3.. until item 0 finished; a pool keeps going.
  assert.ok(startedWhileSlowRan.includes(3), `started while item 0 ran: ${startedWhileSlowRan.join()}`);
});
