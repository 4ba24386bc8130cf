// The capacity estimator: what a core really processes, learned from synthetic reads — saturated
// instances give estimates, keeping-up ones lower bounds; stalls, warm-ups and gaps teach nothing;
// evidence ages; the learned value stays within its bounds and survives a restart through status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CAPACITY_HALF_LIFE_MS,
  CAPACITY_MAX_FACTOR,
  CAPACITY_MIN_FACTOR,
  EMPTY_CAPACITY,
  MIN_CONFIDENCE,
  capacityFromStatus,
  capacityTimings,
  capacityStatus,
  capacityView,
  learnCapacity,
  type CapacityInstance,
  type CapacityState,
} from '../../src/autoscale/capacity.js';
import { autoscaleConfig, autoscaleWith } from '../../src/autoscale/config.js';
import { autoscale, type InstanceInput } from '../../src/autoscale/autoscale.js';
import type { PartitionSample } from '../../src/metrics/types.js';
import { withPersistedSync } from '../../src/plan/status.js';
import { benchmarkConsumer } from '../../src/sim/bench-consumer.js';

const CONFIGURED = 1000;
/** What a state has learned, without what it tracks of the instances. */
const evidence = (s: CapacityState) => ({ learned: s.learned, weight: s.weight, lowerBound: s.lowerBound });
const NOTHING = evidence(EMPTY_CAPACITY);
const near = (actual: number | undefined, expected: number) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-6, `${actual} ≠ ${expected}`);
const MIN = 60_000;
const T0 = Date.parse('2026-03-01T10:00:00Z');
const settled = { status: 'RUNNING' as const, changedAt: new Date(T0 - 3600_000), lagFreeSyncs: 0 };

/** One instance per partition, `cores` requested each. */
const instances = (count: number, cores: number, changedAtMs = T0 - 3600_000): CapacityInstance[] =>
  Array.from({ length: count }, (_, p) => ({
    partitions: [p],
    current: { cpuRequest: cores * 1000 },
    state: { ...settled, changedAt: new Date(changedAtMs) },
    paused: false,
  }));

/** A read where every pod consumes `perCore` messages per requested core while `lagSeconds` behind. */
function reading(
  count: number,
  cores: number,
  perCore: number,
  lagSeconds: number,
  production = perCore * cores,
) {
  return new Map<number, PartitionSample>(
    Array.from({ length: count }, (_, p) => [
      p,
      { production, consumption: perCore * cores, behind: production * lagSeconds },
    ]),
  );
}

/** `reads` reads one minute apart, each the same. */
function learnFrom(reads: number, make: (i: number) => [CapacityInstance[], Map<number, PartitionSample>]) {
  let state: CapacityState = EMPTY_CAPACITY;
  for (let i = 0; i < reads; i++) {
    const [list, samples] = make(i);
    state = learnCapacity(state, list, samples, T0 + i * MIN, CONFIGURED);
  }
  return state;
}

test('saturated at half the configured capacity: learned within three reads, then used', () => {
  const two = learnFrom(2, () => [instances(4, 2), reading(4, 2, 500, 60)]);
  near(two.learned, 500);
  assert.ok(capacityView(two, T0 + MIN, CONFIGURED).confidence < MIN_CONFIDENCE, 'two reads are not enough');
  assert.equal(capacityView(two, T0 + MIN, CONFIGURED).ratePerCore, CONFIGURED);
  const three = learnFrom(3, () => [instances(4, 2), reading(4, 2, 500, 60)]);
  const view = capacityView(three, T0 + 2 * MIN, CONFIGURED);
  assert.ok(view.confidence >= MIN_CONFIDENCE);
  assert.equal(view.source, 'learned');
  near(view.ratePerCore, 500);
});

test('the read is spoken for by an upper quantile of the saturated instances, one piece of evidence per read', () => {
  // Four saturated pods at 400, 500, 600, 700 per core: one read moves the weight by one.
  const samples = new Map<number, PartitionSample>(
    [400, 500, 600, 700].map((perCore, p) => [
      p,
      { production: 2000, consumption: perCore, behind: 200_000 },
    ]),
  );
  const state = learnCapacity(EMPTY_CAPACITY, instances(4, 1), samples, T0, CONFIGURED);
  assert.equal(state.weight, 1);
  assert.equal(state.learned, 700);
});

test("a balanced group counts every replica: its partitions' consumption per requested core of all its pods", () => {
  // Two replicas of 1 core share four partitions; together they consume 1000/s while behind.
  const group = (replicas?: number): CapacityInstance[] => [
    {
      partitions: [0, 1, 2, 3],
      current: { cpuRequest: 1000 },
      state: settled,
      paused: false,
      ...(replicas === undefined ? {} : { replicas }),
    },
  ];
  const behind = new Map<number, PartitionSample>(
    [0, 1, 2, 3].map((p) => [p, { production: 500, consumption: 250, behind: 500 * 120 }]),
  );
  near(learnCapacity(EMPTY_CAPACITY, group(2), behind, T0, CONFIGURED).learned, 500);
  near(learnCapacity(EMPTY_CAPACITY, group(), behind, T0, CONFIGURED).learned, 1000);
  // Keeping up with 1600/s: a lower bound of 800 per core of the two, not 1600.
  const keepingUp = new Map<number, PartitionSample>(
    [0, 1, 2, 3].map((p) => [p, { production: 400, consumption: 400, behind: 0 }]),
  );
  near(learnCapacity(EMPTY_CAPACITY, group(2), keepingUp, T0, CONFIGURED).lowerBound, 800);
});

test('keeping up at twice the configured capacity: lower bounds, then probing upwards until a pod lags', () => {
  // A closed loop: each pod is sized for its production at the rate in use; it really does 2000
  // per core, so it keeps up until the rate in use passes that, and then lags.
  const TRUE = 2000;
  const production = 3000;
  let state: CapacityState = EMPTY_CAPACITY;
  let cores = production / CONFIGURED;
  let resizedAt = T0 - 3600_000;
  let reads = 0;
  for (; reads < 200; reads++) {
    const now = T0 + reads * MIN;
    const capacity = TRUE * cores;
    const lagging = capacity < production;
    const samples = new Map<number, PartitionSample>([
      [0, { production, consumption: Math.min(production, capacity), behind: lagging ? production * 60 : 0 }],
    ]);
    state = learnCapacity(state, instances(1, cores, resizedAt), samples, now, CONFIGURED);
    const view = capacityView(state, now, CONFIGURED);
    const wanted = Math.ceil((production / view.ratePerCore) * 10) / 10; // 100m steps
    if (wanted !== cores && now - resizedAt >= 5 * MIN) {
      cores = wanted;
      resizedAt = now;
    }
    if (view.source === 'learned' && Math.abs(view.ratePerCore - TRUE) / TRUE < 0.15) break;
  }
  assert.ok(reads < 120, `converged after ${reads} reads`);
});

test('probing steps from the probe, not from the bound: pods sized with spare CPU do not hold it back', () => {
  // The same loop with the sizing's spare CPU: a pod sized for its production at 1.2× keeps up
  // with a bound of the rate in use ÷ 1.2, so a probe at 1.25× the bound would settle at 1.04× the
  // rate in use: it must step from the rate it probes with to reach the real one.
  const TRUE = 2000;
  const production = 3000;
  const SPARE = 1.2;
  let state: CapacityState = EMPTY_CAPACITY;
  let cores = (production * SPARE) / CONFIGURED;
  let resizedAt = T0 - 3600_000;
  let reads = 0;
  for (; reads < 200; reads++) {
    const now = T0 + reads * MIN;
    const capacity = TRUE * cores;
    const lagging = capacity < production;
    const samples = new Map<number, PartitionSample>([
      [0, { production, consumption: Math.min(production, capacity), behind: lagging ? production * 60 : 0 }],
    ]);
    state = learnCapacity(state, instances(1, cores, resizedAt), samples, now, CONFIGURED);
    const view = capacityView(state, now, CONFIGURED);
    const wanted = Math.ceil(((production * SPARE) / view.ratePerCore) * 10) / 10;
    if (wanted !== cores && now - resizedAt >= 5 * MIN) {
      cores = wanted;
      resizedAt = now;
    }
    if (view.source === 'learned' && Math.abs(view.ratePerCore - TRUE) / TRUE < 0.15) break;
  }
  assert.ok(reads < 60, `converged after ${reads} reads`);
});

test('a bound that raises the probe by a small step keeps its start; a larger raise starts it again', () => {
  // Keeping up at `lowerBound` per core makes 1.25× that the rate to probe with.
  const probe = { ratePerCore: 1500, sinceMs: T0 - 2 * MIN };
  const after = (lowerBound: number) =>
    learnCapacity(
      { learned: undefined, weight: 0, lowerBound, updatedAtMs: T0, probe },
      instances(1, 1),
      new Map(),
      T0,
      CONFIGURED,
    ).probe;
  assert.deepEqual(after(1250), { ratePerCore: 1562.5, sinceMs: probe.sinceMs }, 'raised by 4 %');
  assert.deepEqual(after(1500), { ratePerCore: 1875, sinceMs: T0 }, 'raised by 25 %');
  assert.deepEqual(after(1200), probe, 'not overtaken');
});

test('a stalled instance, one warming up after a change, and one with a gap in its metrics teach nothing', () => {
  const stalled = new Map<number, PartitionSample>([
    [0, { production: 1000, consumption: 0, behind: 100_000 }],
  ]);
  assert.deepEqual(
    evidence(learnCapacity(EMPTY_CAPACITY, instances(1, 1), stalled, T0, CONFIGURED)),
    NOTHING,
  );
  const warming = instances(1, 1, T0 - capacityTimings().warmUpMs / 2);
  assert.deepEqual(
    evidence(learnCapacity(EMPTY_CAPACITY, warming, reading(1, 1, 300, 60), T0, CONFIGURED)),
    NOTHING,
  );
  const gap = new Map<number, PartitionSample>([[0, { production: 1000, behind: 100_000 }]]);
  assert.deepEqual(evidence(learnCapacity(EMPTY_CAPACITY, instances(1, 1), gap, T0, CONFIGURED)), NOTHING);
  // Paused and new instances are not measured either.
  const paused = instances(1, 1).map((i) => ({ ...i, paused: true }));
  assert.deepEqual(
    evidence(learnCapacity(EMPTY_CAPACITY, paused, reading(1, 1, 300, 60), T0, CONFIGURED)),
    NOTHING,
  );
  // A pending scale-up that began 30 s ago began after the last resize had settled: evidence.
  const pending = warming.map((i) => ({ ...i, state: { ...i.state, status: 'PENDING_SCALE_UP' as const } }));
  assert.equal(learnCapacity(EMPTY_CAPACITY, pending, reading(1, 1, 300, 60), T0, CONFIGURED).learned, 300);
  // An instance whose last change is not known is not either.
  const unknownAge = instances(1, 1).map((i) => ({ ...i, state: { ...i.state, changedAt: undefined } }));
  assert.deepEqual(
    evidence(learnCapacity(EMPTY_CAPACITY, unknownAge, reading(1, 1, 300, 60), T0, CONFIGURED)),
    NOTHING,
  );
  // Past the warm-up the same read is evidence.
  assert.equal(
    learnCapacity(EMPTY_CAPACITY, instances(1, 1), reading(1, 1, 300, 60), T0, CONFIGURED).learned,
    300,
  );
});

test('the thresholds follow the time between reads: the same rule at 1 minute and at 2 seconds', () => {
  assert.deepEqual(capacityTimings(60_000), {
    readPeriodMs: 60_000,
    saturatedLagMs: 30_000,
    keepingUpLagMs: 2_000,
    warmUpMs: 240_000,
    estimateSpacingMs: 300_000,
  });
  assert.deepEqual(capacityTimings(), capacityTimings(60_000));
  // Read every 2 s: saturated from 4 s of lag (never within the keeping-up band), warm-up 15 s
  // (four reads, but not less than a resize needs to reach the pod).
  const fast = capacityTimings(2_000);
  assert.deepEqual(fast, {
    readPeriodMs: 2_000,
    saturatedLagMs: 4_000,
    keepingUpLagMs: 2_000,
    warmUpMs: 15_000,
    estimateSpacingMs: 10_000,
  });
  const resizedAt = T0 - 20_000; // past a 2-s Consumer's warm-up, well within a 1-minute one's
  const lagging = reading(1, 1, 300, 5);
  assert.equal(
    learnCapacity(EMPTY_CAPACITY, instances(1, 1, resizedAt), lagging, T0, CONFIGURED, fast).learned,
    300,
  );
  assert.deepEqual(
    evidence(learnCapacity(EMPTY_CAPACITY, instances(1, 1, resizedAt), lagging, T0, CONFIGURED)),
    NOTHING,
    'at a minute between reads, 5 s of lag 20 s after a resize is neither saturation nor settled',
  );
  // 3 s behind: between the bands, neither an estimate nor a bound.
  assert.deepEqual(
    evidence(
      learnCapacity(EMPTY_CAPACITY, instances(1, 1, resizedAt), reading(1, 1, 300, 3), T0, CONFIGURED, fast),
    ),
    NOTHING,
  );
  // Falling behind (consuming 250 of 300 produced) 3 s behind at 2-s reads: a second ago it was
  // 2.67 s behind, above the keeping-up band all through the read: an estimate.
  const falling = new Map<number, PartitionSample>([[0, { production: 300, consumption: 250, behind: 900 }]]);
  assert.equal(
    learnCapacity(EMPTY_CAPACITY, instances(1, 1, resizedAt), falling, T0, CONFIGURED, fast).learned,
    250,
  );
  // The same 3 s at 1-minute reads: a minute ago it may have kept up, so nothing is learned.
  const settledLong = instances(1, 1);
  assert.deepEqual(evidence(learnCapacity(EMPTY_CAPACITY, settledLong, falling, T0, CONFIGURED)), NOTHING);
  // Consumption within the noise of production is not falling behind.
  const even = new Map<number, PartitionSample>([[0, { production: 300, consumption: 280, behind: 900 }]]);
  assert.deepEqual(
    evidence(learnCapacity(EMPTY_CAPACITY, instances(1, 1, resizedAt), even, T0, CONFIGURED, fast)),
    NOTHING,
  );
  // Nonsense periods fall back to the default.
  assert.deepEqual(capacityTimings(0), capacityTimings(60_000));
  assert.deepEqual(capacityTimings(Number.NaN), capacityTimings(60_000));
});

test('after a restart the pods catch up: a burst of consumption while keeping up is not a bound', () => {
  // Lag under two seconds but consuming three times the production: the bound counts production.
  const samples = new Map<number, PartitionSample>([
    [0, { production: 500, consumption: 1500, behind: 500 }],
  ]);
  const state = learnCapacity(EMPTY_CAPACITY, instances(1, 1), samples, T0, CONFIGURED);
  assert.equal(state.lowerBound, 500);
  assert.equal(state.learned, undefined);
});

test('a resize without a change of scaling state (no pending period) is a warm-up too', () => {
  const fast = capacityTimings(2_000);
  const lagging = reading(1, 1, 300, 5);
  const at = (cores: number) => instances(1, cores); // the scaling state changed an hour ago
  // Seen at 1 core, then at 2 cores two seconds later: the 2-core reads teach only after the warm-up.
  let state = learnCapacity(EMPTY_CAPACITY, at(1), lagging, T0, CONFIGURED, fast);
  assert.equal(state.learned, 300);
  const before = state.weight;
  state = learnCapacity(state, at(2), reading(1, 2, 150, 5), T0 + 2_000, CONFIGURED, fast);
  assert.equal(state.weight, before, 'just resized: not evidence');
  state = learnCapacity(state, at(2), reading(1, 2, 150, 5), T0 + 2_000 + fast.warmUpMs, CONFIGURED, fast);
  assert.ok(state.weight > before, 'past the warm-up: evidence');
  assert.ok(state.learned! < 300);
});

test('a pod the probe shrank below its need: its backlog growing at the new size is an estimate within the warm-up; the probe holds', () => {
  // Probing at 1500 per core, bound 1200: the pod had 2 cores, the probe shrank it to 1; it really
  // does 1300 per core, 200 msg/s short of its production of 1500 (13 %), lag still small. Its
  // consumption rate's window still holds the larger size (1500, keeping up): the backlog tells.
  const probe = { ratePerCore: 1500, sinceMs: T0 - 2 * MIN };
  const probing = (fromMillis: number, withProbe = true): CapacityState => ({
    learned: undefined,
    weight: 0,
    lowerBound: 1200,
    updatedAtMs: T0 - MIN,
    sizes: { '0': { cpuMillis: fromMillis, sinceMs: 0 } },
    ...(withProbe ? { probe } : {}),
  });
  const growing = (growthPerSecond: number) => (i: number) =>
    new Map<number, PartitionSample>([
      [0, { production: 1500, consumption: 1500, behind: 3000 + i * 60 * growthPerSecond }],
    ]);
  const run = (start: CapacityState, reads: number, read: (i: number) => Map<number, PartitionSample>) => {
    let state = start;
    const states: CapacityState[] = [];
    for (let i = 0; i < reads; i++) {
      state = learnCapacity(state, instances(1, 1), read(i), T0 + i * MIN, CONFIGURED);
      states.push(state);
    }
    return states;
  };
  const shrunk = run(probing(2000), 4, growing(200));
  assert.equal(shrunk[0]!.weight, 0, 'the first read at the new size only marks the backlog');
  assert.equal(shrunk[1]!.weight, 1);
  assert.equal(shrunk[1]!.learned, 1300);
  assert.deepEqual(shrunk[1]!.probe, probe, 'the probe holds, it does not step up or end');
  const last = shrunk.at(-1)!;
  assert.ok(last.weight > 2.99, `${last.weight}`);
  const view = capacityView(last, T0 + 3 * MIN, CONFIGURED);
  assert.equal(view.source, 'learned');
  assert.equal(view.ratePerCore, 1300);
  const next = learnCapacity(last, instances(1, 1), growing(200)(4), T0 + 4 * MIN, CONFIGURED);
  assert.equal(next.probe, undefined, 'the probe ends once the learned value is used');
  // All of these are still the warm-up: no probe, a step up, or a backlog growing by less than
  // 10 % of production teach nothing.
  for (const [what, states] of [
    ['not probing', run(probing(2000, false), 3, growing(200))],
    ['grown, not shrunk', run(probing(500), 3, growing(200))],
    ['growing by 5 %', run(probing(2000), 3, growing(75))],
    ['draining', run(probing(2000), 3, growing(-10))],
  ] as const)
    assert.equal(states.at(-1)!.weight, 0, what);
});

test('a pod saturated read after read while the others keep up counts once per spacing; all saturated, every read', () => {
  const timings = capacityTimings(MIN);
  const spacingReads = timings.estimateSpacingMs / MIN;
  // Instance 0 is the slow one: 800 per core, a minute behind; the other three keep up.
  const slowOne = new Map<number, PartitionSample>([
    [0, { production: 1000, consumption: 800, behind: 60_000 }],
    [1, { production: 500, consumption: 500, behind: 0 }],
    [2, { production: 500, consumption: 500, behind: 0 }],
    [3, { production: 500, consumption: 500, behind: 0 }],
  ]);
  const reads = 2 * spacingReads;
  let state: CapacityState = EMPTY_CAPACITY;
  for (let i = 0; i < reads; i++)
    state = learnCapacity(state, instances(4, 1), slowOne, T0 + i * MIN, CONFIGURED);
  near(state.learned, 800);
  assert.ok(
    state.weight > 1.99 && state.weight <= 2,
    `two pieces of evidence in ${reads} reads: ${state.weight}`,
  );
  // All four saturated: no selection of the slowest, every read is evidence.
  const all = learnFrom(reads, () => [instances(4, 1), reading(4, 1, 800, 60, 1000)]);
  assert.ok(all.weight > reads - 0.05, `${all.weight}`);
});

test('a small step of the size starts no warm-up, and a bound after one counts the larger size', () => {
  const fast = capacityTimings(2_000);
  const at = (millis: number) => [{ ...instances(1, 1)[0]!, current: { cpuRequest: millis } }];
  const lagging = (millis: number, perCore: number) => reading(1, millis / 1000, perCore, 10);
  let state = learnCapacity(EMPTY_CAPACITY, at(700), lagging(700, 200), T0, CONFIGURED, fast);
  assert.equal(state.weight, 1);
  // 700m → 800m (a 14 % step, the sizing following production's noise): still evidence.
  state = learnCapacity(state, at(800), lagging(800, 200), T0 + 2_000, CONFIGURED, fast);
  assert.ok(state.weight > 1.99, `a small step is no warm-up: ${state.weight}`);
  // 800m → 1000m (25 % from the 700m the warm-up began at): a warm-up.
  const before = state.weight;
  state = learnCapacity(state, at(1000), lagging(1000, 200), T0 + 4_000, CONFIGURED, fast);
  assert.equal(state.weight, before, 'a large step is a warm-up');
  // Keeping up at 700 msg/s right after a step down from 700m to 600m: the rates may still hold
  // 700m, so the bound is 700 ÷ 0.7, not 700 ÷ 0.6.
  const keeping = new Map<number, PartitionSample>([[0, { production: 700, consumption: 700, behind: 0 }]]);
  let b = learnCapacity(EMPTY_CAPACITY, at(700), keeping, T0, CONFIGURED, fast);
  b = learnCapacity(b, at(600), keeping, T0 + 2_000, CONFIGURED, fast);
  near(b.lowerBound, 1000);
});

test('a pending pod shrunk within a warm-up: its bound counts the size before; past it, the new size', () => {
  const fast = capacityTimings(2_000);
  // A small lag and consumption within the rates' noise of production: it looks like keeping up.
  const looksKeepingUp = new Map<number, PartitionSample>([
    [0, { production: 1500, consumption: 1440, behind: 2400 }],
  ]);
  // A pending state began a read ago (pending states skip the warm-up for estimates).
  const at = (status: 'PENDING_SCALE_UP' | 'PENDING_SCALE_DOWN', millis: number, nowMs: number) => [
    {
      ...instances(1, 1)[0]!,
      current: { cpuRequest: millis },
      state: { ...settled, status, changedAt: new Date(nowMs - 2_000) },
    },
  ];
  for (const status of ['PENDING_SCALE_UP', 'PENDING_SCALE_DOWN'] as const) {
    // Seen at 900m: a bound (the size has not changed since the estimator first saw it).
    let state = learnCapacity(EMPTY_CAPACITY, at(status, 900, T0), looksKeepingUp, T0, CONFIGURED, fast);
    near(state.lowerBound, 1600);
    // A probe shrinks it to 600m (a large step): the same rates 2 s later bound per 900m…
    state = learnCapacity(
      { ...state, lowerBound: undefined },
      at(status, 600, T0 + 2_000),
      looksKeepingUp,
      T0 + 2_000,
      CONFIGURED,
      fast,
    );
    near(state.lowerBound, 1600);
    // …until the warm-up has passed.
    const after = T0 + 2_000 + fast.warmUpMs;
    state = learnCapacity(
      { ...state, lowerBound: undefined },
      at(status, 600, after),
      looksKeepingUp,
      after,
      CONFIGURED,
      fast,
    );
    near(state.lowerBound, 2400);
  }
});

test('a saturated read far below what pods kept up with is dropped (a resize not applied yet)', () => {
  let state = learnCapacity(EMPTY_CAPACITY, instances(1, 1), reading(1, 1, 950, 0), T0, CONFIGURED);
  assert.equal(state.lowerBound, 950);
  state = learnCapacity(state, instances(1, 1), reading(1, 1, 400, 60), T0 + MIN, CONFIGURED);
  assert.equal(state.learned, undefined);
});

test('evidence ages: confidence halves its weight every half-life, and the setting comes back', () => {
  const state = learnFrom(6, () => [instances(2, 1), reading(2, 1, 600, 60)]);
  const fresh = capacityView(state, T0 + 5 * MIN, CONFIGURED);
  assert.equal(fresh.source, 'learned');
  const dayLater = capacityView(state, T0 + 5 * MIN + CAPACITY_HALF_LIFE_MS, CONFIGURED);
  assert.ok(Math.abs(dayLater.confidence - state.weight / 2 / (state.weight / 2 + 2)) < 1e-9);
  const weekLater = capacityView(state, T0 + 7 * CAPACITY_HALF_LIFE_MS, CONFIGURED);
  assert.equal(weekLater.ratePerCore, CONFIGURED);
  assert.equal(weekLater.source, 'configured');
});

test('the learned value stays within its bounds around the setting, and close to it the setting stands', () => {
  const slow = learnFrom(4, () => [instances(1, 1), reading(1, 1, 10, 60)]);
  assert.equal(capacityView(slow, T0 + 4 * MIN, CONFIGURED).ratePerCore, CONFIGURED * CAPACITY_MIN_FACTOR);
  const fast = learnFrom(4, () => [instances(1, 1), reading(1, 1, 50_000, 60)]);
  assert.equal(capacityView(fast, T0 + 4 * MIN, CONFIGURED).ratePerCore, CONFIGURED * CAPACITY_MAX_FACTOR);
  const near = learnFrom(4, () => [instances(1, 1), reading(1, 1, 960, 60)]);
  const view = capacityView(near, T0 + 4 * MIN, CONFIGURED);
  assert.ok(Math.abs(view.learned! - 960) < 1e-6);
  assert.equal(view.ratePerCore, CONFIGURED);
});

test('status keeps what was learned across a restart; another ratePerCore or hand-written junk starts over', () => {
  const state = learnFrom(3, () => [instances(2, 1), reading(2, 1, 600, 60)]);
  const now = T0 + 3 * MIN;
  const status = capacityStatus(state, capacityView(state, now, CONFIGURED));
  assert.equal(status.source, 'learned');
  near(status.ratePerCore, 600);
  const back = capacityFromStatus(status, CONFIGURED);
  near(capacityView(back, now, CONFIGURED).ratePerCore, 600);
  assert.deepEqual(capacityFromStatus(status, 2000), EMPTY_CAPACITY);
  const junk = capacityFromStatus(
    { ...status, learnedRatePerCore: Number.NaN, lowerBound: -5, weight: 1e9 },
    CONFIGURED,
  );
  assert.equal(junk.learned, undefined);
  assert.equal(junk.lowerBound, undefined);
  assert.equal(junk.weight, 0);
});

const spec = (autoscaler: Record<string, unknown>) => {
  const s = benchmarkConsumer(2, CONFIGURED);
  Object.assign(s.autoscaler!, autoscaler);
  return s;
};

test('learning is on by default and with learnRatePerCore: true, off with false, and always off with predictor naive', () => {
  assert.equal(autoscaleConfig(spec({}))!.learnCapacity, true);
  assert.equal(autoscaleConfig(spec({ learnRatePerCore: true }))!.learnCapacity, true);
  assert.equal(autoscaleConfig(spec({ learnRatePerCore: false }))!.learnCapacity, false);
  assert.equal(
    autoscaleConfig(spec({ predictor: 'proactive', learnRatePerCore: false }))!.learnCapacity,
    false,
  );
  assert.equal(autoscaleConfig(spec({ predictor: 'naive' }))!.learnCapacity, false);
  assert.equal(autoscaleConfig(spec({ predictor: 'naive', learnRatePerCore: true }))!.learnCapacity, false);
});

test('with actuation Rollout, where every probe would restart a pod, learning is off unless asked for', () => {
  assert.equal(autoscaleConfig(spec({ actuation: 'Rollout' }))!.learnCapacity, false);
  assert.equal(autoscaleConfig(spec({ actuation: 'Rollout', learnRatePerCore: true }))!.learnCapacity, true);
  assert.equal(autoscaleConfig(spec({ actuation: 'InPlace' }))!.learnCapacity, true);
  assert.equal(autoscaleConfig(spec({ actuation: 'InPlaceOrRollout' }))!.learnCapacity, true);
});

test('autoscaleWith sizes with the learned rate per core, and exactly as autoscale() with learning off', () => {
  const config = autoscaleConfig(spec({ learnRatePerCore: true }))!;
  const input: InstanceInput[] = [0, 1].map((p) => ({
    id: p,
    partitions: [p],
    policy: undefined,
    current: { cpuRequest: 2000, cpuLimit: 2000 },
    state: settled,
    paused: false,
  }));
  const samples = reading(2, 2, 500, 600);
  const now = new Date(T0);
  const off = autoscaleWith({ ...config, learnCapacity: false }, now, samples, input);
  assert.equal(off.capacity, undefined);
  assert.deepEqual(
    off,
    autoscale({ settings: config.settings, predictor: config.predictor, now, samples, instances: input }),
  );
  const first = autoscaleWith(config, now, samples, input);
  assert.equal(first.capacity!.view.source, 'configured', 'one read is not enough');
  const again = autoscaleWith(config, new Date(T0 + MIN), samples, input, first.capacity!.state);
  const second = autoscaleWith(config, new Date(T0 + 2 * MIN), samples, input, again.capacity!.state);
  // A read learned from already (explain, a re-read) teaches nothing.
  const replay = autoscaleWith(config, new Date(T0 + 2 * MIN), samples, input, again.capacity!.state, false);
  assert.equal(replay.capacity!.state, again.capacity!.state);
  near(second.capacity!.view.ratePerCore, 500);
  const cpuOff = off.instances[0]!.prediction!.cpuRequest!;
  const cpuOn = second.instances[0]!.prediction!.cpuRequest!;
  assert.ok(cpuOn >= 1.9 * cpuOff, `${cpuOn}m with learning, ${cpuOff}m without`);
});

test('with learning on, the CPU limit leaves every size the burst above its request that the learned value counts', () => {
  const config = autoscaleConfig(spec({ learnRatePerCore: true }))!;
  // 900 msg/s at the configured 1000 per core: 900m, whose whole-core limit alone leaves 11 %.
  // Resized a minute ago, the instance teaches nothing yet: both size with the configured value.
  const state = { ...settled, changedAt: new Date(T0 - MIN) };
  const input: InstanceInput[] = [
    { id: 0, partitions: [0], policy: undefined, current: { cpuRequest: 900 }, state, paused: false },
  ];
  const samples = new Map<number, PartitionSample>([[0, { production: 900, consumption: 900, behind: 0 }]]);
  const now = new Date(T0);
  const off = autoscaleWith({ ...config, learnCapacity: false }, now, samples, input).instances[0]!
    .prediction!;
  const on = autoscaleWith(config, now, samples, input).instances[0]!.prediction!;
  assert.equal(off.cpuRequest, 900);
  assert.equal(off.cpuLimit, 1000);
  assert.equal(on.cpuRequest, 900, 'nothing learned yet: the same request');
  assert.equal(on.cpuLimit, 2000, 'at least 900m × 1.25, in whole cores');
  // Memory follows the CPU the pod may use: 1.125 cores' worth instead of 1.
  assert.ok(on.memoryRequest! > off.memoryRequest!, `${on.memoryRequest} vs ${off.memoryRequest}`);
});

test('between status checkpoints only evidence changes are held back; a new rate in use is written', () => {
  const now = new Date(T0);
  const stored = {
    lastSyncTime: new Date(T0 - MIN).toISOString(),
    capacity: {
      configuredRatePerCore: 1000,
      ratePerCore: 600,
      source: 'learned' as const,
      confidence: 0.6,
      weight: 3,
    },
  };
  const moreEvidence = { ...stored, capacity: { ...stored.capacity, confidence: 0.7, weight: 4 } };
  assert.deepEqual(withPersistedSync(stored, moreEvidence, 5 * MIN, now)?.capacity, stored.capacity);
  const newRate = { ...stored, capacity: { ...stored.capacity, ratePerCore: 550 } };
  assert.deepEqual(withPersistedSync(stored, newRate, 5 * MIN, now)?.capacity, newRate.capacity);
});
