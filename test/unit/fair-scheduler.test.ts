// The scheduler of metrics reads: bounded concurrency, and a tenant's slow reads do not keep
// another tenant's waiting (src/util/fair-scheduler.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FairScheduler } from '../../src/util/fair-scheduler.js';

/** A task that runs until released, recording when it started. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
    release: () => release(),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('at most `concurrency` at once, the next slot to the group waiting with the fewest running', async () => {
  assert.equal(new FairScheduler(4).perGroup, 2, 'half the slots by default');
  const s = new FairScheduler(4, 3);
  const started: string[] = [];
  const a = Array.from({ length: 6 }, (_, i) => gate(started, `a${i}`));
  const b = Array.from({ length: 2 }, (_, i) => gate(started, `b${i}`));
  const c = gate(started, 'c0');
  const results = [...a.map((g) => s.run('a', g.task)), ...b.map((g) => s.run('b', g.task))];
  await tick();
  // a asked alone first and took its three; b gets the last slot.
  assert.deepEqual(started, ['a0', 'a1', 'a2', 'b0']);
  assert.deepEqual(s.stats(), { running: 4, waiting: 4 });
  results.push(s.run('c', c.task));
  await tick();
  b[0]!.release();
  await tick();
  // The freed slot: a is at its three; b and c run nothing, c was never served.
  assert.deepEqual(started.slice(4), ['c0']);
  a[0]!.release();
  await tick();
  // a (two running) could take it, b (none running) does.
  assert.deepEqual(started.slice(5), ['b1']);
  for (const g of [...a, ...b, c]) g.release();
  assert.deepEqual(await Promise.all(results), ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'b0', 'b1', 'c0']);
  assert.deepEqual(s.stats(), { running: 0, waiting: 0 });
});

test('a group never holds more than perGroup slots, even alone', async () => {
  const s = new FairScheduler(4);
  const started: string[] = [];
  const a = Array.from({ length: 3 }, (_, i) => gate(started, `a${i}`));
  const results = a.map((g) => s.run('a', g.task));
  await tick();
  assert.deepEqual(started, ['a0', 'a1']);
  assert.deepEqual(s.stats(), { running: 2, waiting: 1 });
  for (const g of a) g.release();
  await Promise.all(results);
  assert.deepEqual(started, ['a0', 'a1', 'a2']);
});

test('a failing task frees its slot and rejects its caller only', async () => {
  const s = new FairScheduler(1);
  const failed = s.run('x', () => Promise.reject(new Error('boom')));
  const thrown = s.run('x', () => {
    throw new Error('sync boom');
  });
  const next = s.run('y', async () => 'ok');
  await assert.rejects(failed, /boom/);
  await assert.rejects(thrown, /sync boom/);
  assert.equal(await next, 'ok');
  assert.throws(() => new FairScheduler(0), /positive integer/);
});
