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
