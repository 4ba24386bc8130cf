import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleGc } from '../../src/controller/idle-gc.js';

const MiB = 2 ** 20;

test('collects once idle after start, then only when idle and the heap has grown enough', () => {
  let heap = 40 * MiB;
  let idle = false;
  let collected = 0;
  const gc = new IdleGc({
    idle: () => idle,
    collect: () => {
      collected++;
      heap -= 10 * MiB;
    },
    heapBytes: () => heap,
    growthBytes: 8 * MiB,
    minIntervalMs: 0,
  });
  assert.equal(gc.check(), false, 'not while reconciles are queued or running');
  idle = true;
  assert.equal(gc.check(), true, "the start's own garbage, once idle");
  assert.equal(heap, 30 * MiB);
  heap += 7 * MiB;
  assert.equal(gc.check(), false, 'grown less than the threshold');
  heap += 2 * MiB;
  idle = false;
  assert.equal(gc.check(), false, 'grown enough but busy');
  idle = true;
  assert.equal(gc.check(), true, 'grown enough and idle');
  assert.equal(collected, 2);
  // V8 collected by itself: growth counts from the smaller size.
  heap = 20 * MiB;
  assert.equal(gc.check(), false);
  heap = 27 * MiB;
  assert.equal(gc.check(), false);
  heap = 29 * MiB;
  assert.equal(gc.check(), true);
  assert.equal(gc.collections, 3);
});

test('collects while busy only once the heap has doubled since the last collection (at least 32 MiB more)', () => {
  let heap = 50 * MiB;
  let idle = true;
  const released: boolean[] = [];
  const gc = new IdleGc({
    idle: () => idle,
    collect: (release) => {
      released.push(release);
      heap = 50 * MiB;
    },
    heapBytes: () => heap,
    minIntervalMs: 0,
  });
  assert.equal(gc.check(), true);
  idle = false;
  heap = 99 * MiB;
  assert.equal(gc.check(), false, 'busy, grown by less than the heap was');
  heap = 101 * MiB;
  assert.equal(gc.check(), true, 'busy, doubled');
  assert.equal(gc.collections, 2);
  // Idle: what was freed goes back to the system; busy: it is kept for what comes next.
  assert.deepEqual(released, [true, false]);
});

test('at most one collection per interval', () => {
  let heap = 100 * MiB;
  let now = 0;
  const gc = new IdleGc({
    idle: () => true,
    collect: () => (heap = 50 * MiB),
    heapBytes: () => heap,
    now: () => now,
  });
  assert.equal(gc.check(), true);
  heap = 70 * MiB;
  now = 29_000;
  assert.equal(gc.check(), false, 'within 30 s of the last');
  now = 30_000;
  assert.equal(gc.check(), true);
});
