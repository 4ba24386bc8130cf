import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from '../../src/controller/queue.js';

test('a key added many times while waiting is processed once', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
});

test('a key is never handed to two workers; re-added while processing, it comes back after done', async () => {
  const q = new WorkQueue();
  q.add('a');
  const key = await q.get();
  q.add('a');
  assert.equal(q.length, 0, 'not queued while being processed');
  q.done(key!);
  assert.equal(q.length, 1);
  assert.equal(await q.get(), 'a');
});

test('a waiting worker gets a key as soon as it is added', async () => {
  const q = new WorkQueue();
  const next = q.get();
  q.add('x');
  assert.equal(await next, 'x');
});

test('failures back off exponentially up to the cap, and forget resets', () => {
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 50 });
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => q.addRateLimited('k')),
    [10, 20, 40, 50, 50],
  );
  q.forget('k');
  assert.equal(q.failuresOf('k'), 0);
  q.shutDown();
});

test('addAfter delays the key', async () => {
  const q = new WorkQueue();
  q.addAfter('k', 30);
  assert.equal(q.length, 0);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(q.length, 1);
});

test('shutDown releases waiting workers', async () => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.shutDown();
  assert.equal(await waiting, undefined);
});

test('the observer sees each pending add once, each retry, the wait before work and the work', async () => {
  const seen = { added: 0, retried: 0, started: [] as number[], finished: [] as number[] };
  const q = new WorkQueue(
    { baseDelayMs: 1, maxDelayMs: 1 },
    {
      added: () => seen.added++,
      retried: () => seen.retried++,
      started: (ms) => seen.started.push(ms),
      finished: (ms) => seen.finished.push(ms),
    },
  );
  q.add('a');
  q.add('a'); // already pending: not an add
  await new Promise((r) => setTimeout(r, 20));
  const key = await q.get();
  assert.equal(seen.added, 1);
  assert.equal(seen.started.length, 1);
  assert.ok(seen.started[0]! >= 15, `waited ${seen.started[0]} ms`);
  assert.equal(q.workAgesMs().length, 1, 'one key in work');
  q.add('a'); // while in work: pending again, counted
  await new Promise((r) => setTimeout(r, 20));
  q.done(key!);
  assert.equal(seen.added, 2);
  assert.equal(seen.finished.length, 1);
  assert.ok(seen.finished[0]! >= 15, `worked ${seen.finished[0]} ms`);
  assert.deepEqual(q.workAgesMs(), []);
  assert.equal(q.length, 1, 'the second add waits once');
  q.add('a');
  assert.equal(q.length, 1, 'and is not queued twice');
  assert.equal(await q.get(), 'a');
  q.addRateLimited('a');
  assert.equal(seen.retried, 1);
  q.shutDown();
});

test('paced: a key added while in work waits until its work is the given share of the time since it began', async () => {
  const q = new WorkQueue(undefined, undefined, { busyShare: 0.25 });
  q.add('a');
  const key = await q.get();
  await new Promise((r) => setTimeout(r, 40)); // the work takes 40 ms
  q.add('a');
  q.done(key!);
  assert.equal(q.length, 0, 'not handed out at once');
  q.add('a');
  assert.equal(q.length, 0, 'adds while it waits change nothing');
  const next = q.get();
  const waitedFrom = performance.now();
  assert.equal(await next, 'a');
  const waited = performance.now() - waitedFrom;
  assert.ok(waited >= 100, `waited ${waited.toFixed(0)} ms: three times the 40 ms of work`);
  q.done('a');
  assert.equal(q.length, 0, 'processed once for all those adds');
  // A key not added while in work is not held back.
  q.add('b');
  const b = await q.get();
  q.done(b!);
  q.add('b');
  assert.equal(q.length, 1);
  q.shutDown();
});

test('paced keys are released on shutdown', async () => {
  const q = new WorkQueue(undefined, undefined, { busyShare: 0.25 });
  q.add('a');
  const key = await q.get();
  await new Promise((r) => setTimeout(r, 20));
  q.add('a');
  q.done(key!);
  q.shutDown();
  assert.equal(await q.get(), undefined);
});

test('pacing waits at most maxWaitMs, however long the work took', async () => {
  const q = new WorkQueue(undefined, undefined, { busyShare: 0.25, maxWaitMs: 30 });
  q.add('a');
  const key = await q.get();
  await new Promise((r) => setTimeout(r, 60)); // three times that would be 180 ms
  q.add('a');
  q.done(key!);
  const from = performance.now();
  assert.equal(await q.get(), 'a');
  const waited = performance.now() - from;
  assert.ok(waited >= 25 && waited < 150, `waited ${waited.toFixed(0)} ms`);
  q.shutDown();
});

// A worker whose work awaits nothing (a reconcile that writes nothing) and whose key is added
// again meanwhile (watch events during a rollout) must still let timers run between keys.
for (const waiting of [false, true]) {
  test(`timers run between keys handed out back to back (${waiting ? 'to a waiting worker' : 'from the queue'})`, async () => {
    const q = new WorkQueue();
    let handedOut = 0;
    let timerAfter: number | undefined;
    setTimeout(() => (timerAfter = handedOut), 0);
    const worker = (async () => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        handedOut++;
        const until = performance.now() + 2;
        while (performance.now() < until); // synchronous work
        if (waiting) {
          q.done(key);
          if (handedOut < 30) queueMicrotask(() => q.add(key)); // added while the worker waits
        } else {
          if (handedOut < 30) q.add(key); // added while in work
          q.done(key);
        }
        if (handedOut >= 30) return;
      }
    })();
    q.add('a');
    await worker;
    q.shutDown();
    assert.equal(handedOut, 30);
    assert.ok(timerAfter !== undefined && timerAfter <= 2, `the timer ran after ${timerAfter} keys`);
  });
}
