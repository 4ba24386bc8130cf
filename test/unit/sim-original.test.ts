// The original v1.2.2 baseline behaves as the original does, bugs included: its estimate, its
// state table and its metrics refresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { originalEstimate, originalPolicy, originalTransition } from '../../src/sim/policies/original.js';
import { oursDefault } from '../../src/sim/policies/index.js';
import { benchmarkConsumer } from '../../src/sim/bench-consumer.js';
import { defaultParams } from '../../src/sim/params.js';
import { simulate } from '../../src/sim/run.js';
import { simSetup } from '../../src/sim/setup.js';
import type { Trace } from '../../src/sim/trace.js';

const MIN = 60_000;
const timers = { pendingScaleUpMs: 5 * MIN, pendingScaleDownMs: 15 * MIN };
const at = (
  status: 'RUNNING' | 'SATURATED' | 'PENDING_SCALE_UP' | 'PENDING_SCALE_DOWN' | undefined,
  changedAt = 0,
) => ({
  status,
  changedAt,
});
const now = 60 * MIN;

test('state machine: scale-up needs lag and the whole pending period; its bugs block scale-ups', () => {
  const more = { cmp: 1, lagging: true, shortage: 0, nowMs: now };
  assert.deepEqual(originalTransition(at('RUNNING'), more, timers), {
    status: 'PENDING_SCALE_UP',
    changedAt: now,
    apply: false,
  });
  assert.equal(originalTransition(at('PENDING_SCALE_UP', now - 4 * MIN), more, timers).apply, false);
  assert.equal(originalTransition(at('PENDING_SCALE_UP', now - 5 * MIN), more, timers).apply, true);
  // Bug 11.5: SATURATED never grows while lagging.
  const saturated = originalTransition(at('SATURATED'), { ...more, shortage: 500 }, timers);
  assert.deepEqual(saturated, { status: 'SATURATED', changedAt: 0, apply: false });
  // Bug 11.8: PENDING_SCALE_DOWN (or no state) + lagging + more needed does nothing.
  assert.deepEqual(originalTransition(at('PENDING_SCALE_DOWN', 7), more, timers), {
    status: 'PENDING_SCALE_DOWN',
    changedAt: 7,
    apply: false,
  });
  assert.equal(originalTransition(at(undefined), more, timers).apply, false);
  // No scale-up without lag.
  assert.equal(
    originalTransition(at('PENDING_SCALE_UP'), { ...more, lagging: false }, timers).status,
    'RUNNING',
  );
});

test('state machine: scale-down after 15 minutes without lag, never while lagging', () => {
  const less = { cmp: -1, lagging: false, shortage: 0, nowMs: now };
  assert.equal(originalTransition(at('RUNNING'), less, timers).status, 'PENDING_SCALE_DOWN');
  assert.equal(originalTransition(at('PENDING_SCALE_DOWN', now - 14 * MIN), less, timers).apply, false);
  assert.equal(originalTransition(at('PENDING_SCALE_DOWN', now - 15 * MIN), less, timers).apply, true);
  assert.equal(
    originalTransition(at('PENDING_SCALE_DOWN', 0), { ...less, lagging: true }, timers).apply,
    false,
  );
});

test('estimate: the naive formula with the partial-metrics workaround; all zeros means the fallback', () => {
  const setup = simSetup({ ...benchmarkConsumer(4), numPartitionsPerInstance: 4 });
  const samples = new Map([
    [0, { production: 1000, behind: 0 }],
    [1, { production: 500, behind: 500 * 600 }], // 600 s behind: 500 × (1 + 600/1800) = 666
  ]);
  // [1000, 666, 0, 0] → 1000 + 666 + 1000 + 1000 = 3666 msg/s → 3700m.
  assert.deepEqual(originalEstimate([0, 1, 2, 3], samples, setup), {
    cpu: 3700,
    cpuLimit: 4000,
    memory: 4 * 2 ** 30,
  });
  assert.equal(originalEstimate([2, 3], samples, setup), undefined);
});

test('absent metrics read as zeros: the original shrinks to the fallback, ours keeps what it has', () => {
  const minutes = 120;
  const trace: Trace = {
    name: 'gap',
    title: 'gap',
    description: '',
    stepMs: MIN,
    durationMs: minutes * MIN,
    rates: [new Float64Array(minutes).fill(2000), new Float64Array(minutes).fill(2000)],
    stalls: [],
    gaps: [{ kind: 'absent', startMs: 30 * MIN, endMs: 90 * MIN }],
  };
  const withLearning = (learnRatePerCore: boolean) => {
    const spec = benchmarkConsumer(2);
    spec.autoscaler = { ...spec.autoscaler, learnRatePerCore };
    return simSetup(spec);
  };
  const cpuAt = (series: { timeMs: number; cpuCores: number }[], minute: number) =>
    series.find((p) => p.timeMs === minute * MIN)!.cpuCores;
  const original = simulate(trace, originalPolicy, withLearning(false), defaultParams()).series;
  assert.ok(cpuAt(original, 25) >= 4, `before the gap: ${cpuAt(original, 25)} cores`);
  assert.equal(cpuAt(original, 85), 0.2, 'two instances at the 100m minimum');
  // Learning off, ours sizes with the configured rate: 4000 msg/s at 1000 per core.
  const fixed = simulate(trace, oursDefault, withLearning(false), defaultParams()).series;
  assert.ok(cpuAt(fixed, 85) >= 4, `ours during the gap: ${cpuAt(fixed, 85)} cores`);
  // Learning on (the default) it may size below the configured rate before the gap, but the gap
  // changes nothing either way.
  for (const [learning, ours] of [
    ['off', fixed],
    ['on', simulate(trace, oursDefault, withLearning(true), defaultParams()).series],
  ] as const) {
    const before = cpuAt(ours, 29);
    for (let minute = 30; minute < 90; minute++)
      assert.equal(cpuAt(ours, minute), before, `learning ${learning}, minute ${minute} of the gap`);
  }
});
