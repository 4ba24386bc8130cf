import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { naivePredictor, sizeForRate, expectedConsumption } from '../../src/autoscale/predictor.js';
import { instanceSignal, partitionSignal } from '../../src/autoscale/signals.js';
import type { PartitionSample } from '../../src/metrics/types.js';
import { decide, type PolicyInput, type ScalingState } from '../../src/autoscale/policy.js';
import { allocateBudget } from '../../src/autoscale/budget.js';
import { autoscale, type InstanceInput } from '../../src/autoscale/autoscale.js';
import { limitToPolicy } from '../../src/autoscale/limiter.js';
import type { AutoscaleSettings } from '../../src/autoscale/settings.js';

const MIN = 60_000;
const settings: AutoscaleSettings = {
  ratePerCore: 500,
  ramPerCoreBytes: 300e6,
  cpuIncrementMillis: 100,
  tolerableLagMs: 5 * MIN,
  criticalLagMs: 60 * MIN,
  recoveryTimeMs: 30 * MIN,
  pendingScaleUpMs: 5 * MIN,
  pendingScaleDownMs: 15 * MIN,
  scaleDownAfterLagFreeSyncs: 1,
  fallbackStrategy: 'min',
};
const policy = {
  containerName: 'c',
  minAllowed: { cpu: '100m', memory: '100M' },
  maxAllowed: { cpu: '4', memory: '2G' },
};
const signals = (samples: PartitionSample[]) => samples.map((s, i) => partitionSignal(i, s));

test('naive predictor: production / ratePerCore, request rounded to cpuIncrement, limit to cores, memory per limit core', () => {
  assert.deepEqual(naivePredictor(signals([{ production: 1000, behind: 0 }]), settings), {
    cpuRequest: 2000,
    cpuLimit: 2000,
    memoryRequest: 600e6,
    memoryLimit: 600e6,
  });
  assert.deepEqual(sizeForRate(130, settings), {
    cpuRequest: 300,
    cpuLimit: 1000,
    memoryRequest: 300e6,
    memoryLimit: 300e6,
  });
  assert.deepEqual(sizeForRate(130, { ...settings, cpuIncrementMillis: 250 }).cpuRequest, 500);
});

test('naive predictor: a backlog is drained within recoveryTime (the original integer arithmetic)', () => {
  // behind 600000 at 1000 msg/s = 600 s of lag; recovery 1800 s → (600·1000 + 1000·1800) / 1800 = 1333.
  const signal = partitionSignal(0, { production: 1000, behind: 600_000 });
  assert.equal(signal.lagMs, 600_000);
  assert.equal(expectedConsumption(signal, settings.recoveryTimeMs), 1333);
  assert.deepEqual(naivePredictor([signal], settings), {
    cpuRequest: 2700,
    cpuLimit: 3000,
    memoryRequest: 900e6,
    memoryLimit: 900e6,
  });
});

test('naive predictor: partitions without metrics count as the busiest; no metrics, no prediction', () => {
  const mixed = signals([{ production: 10 }, { production: 11 }, {}, {}]);
  // 10 + 11 + 11 + 11 = 43 msg/s → 86m → 100m
  assert.equal(naivePredictor(mixed, settings)!.cpuRequest, 100);
  assert.equal(naivePredictor(mixed, { ...settings, ratePerCore: 10 })!.cpuRequest, 4300);
  assert.equal(naivePredictor(signals([{}, {}]), settings), undefined);
  assert.equal(
    naivePredictor(signals([{ production: 0 }, {}]), settings)!.cpuRequest,
    100,
    'idle: the smallest step',
  );
});

test('lag in time is behind / production truncated to seconds; unknown inputs stay unknown', () => {
  assert.equal(partitionSignal(0, { production: 3, behind: 10 }).lagMs, 3000);
  assert.equal(partitionSignal(0, { production: 0, behind: 10 }).lagMs, 0);
  assert.equal(partitionSignal(0, { behind: 10 }).lagMs, undefined);
  assert.equal(partitionSignal(0, { production: 10, consumption: 15, behind: 100 }).drainMs, 20_000);
  assert.equal(partitionSignal(0, { production: 10, consumption: 5, behind: 100 }).drainMs, Infinity);
  assert.equal(partitionSignal(0, { production: 10, consumption: 0, behind: 100 }).stalled, true);
  const s = instanceSignal(
    [0, 1],
    new Map([[0, { production: 1, behind: 400 }]]),
    settings.tolerableLagMs,
    settings.criticalLagMs,
  );
  assert.equal(s.maxLagMs, 400_000);
  assert.equal(s.lagging, true);
  assert.equal(s.unknown, false);
  assert.equal(instanceSignal([0], new Map(), 1, undefined).unknown, true);
});

test('critical lag gives the policy maximum; without a maximum the prediction stays', () => {
  assert.deepEqual(limitToPolicy({ cpuRequest: 300, cpuLimit: 1000 }, policy, true).target, {
    cpuRequest: 4000,
    cpuLimit: 4000,
    memoryRequest: 2e9,
    memoryLimit: 2e9,
  });
  assert.deepEqual(limitToPolicy({ cpuRequest: 300 }, { containerName: 'c' }, true).target, {
    cpuRequest: 300,
  });
  assert.equal(limitToPolicy({ cpuRequest: 9000, cpuLimit: 9000 }, policy, false).cpuShortage, 5000);
});

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (minutes: number) => new Date(t0.getTime() + minutes * MIN);
const lagging = instanceSignal(
  [0],
  new Map([[0, { production: 100, behind: 100 * 600, consumption: 50 }]]),
  settings.tolerableLagMs,
  undefined,
);
const calm = instanceSignal(
  [0],
  new Map([[0, { production: 100, behind: 0, consumption: 100 }]]),
  settings.tolerableLagMs,
  undefined,
);
const stalled = instanceSignal(
  [0],
  new Map([[0, { production: 100, behind: 100 * 600, consumption: 0 }]]),
  settings.tolerableLagMs,
  undefined,
);
const unknown = instanceSignal([0], new Map(), settings.tolerableLagMs, undefined);
const small = { cpuRequest: 500 };
const big = { cpuRequest: 1000 };
const state = (status: ScalingState['status'], minutesAgo = 0, lagFreeSyncs = 0): ScalingState => ({
  status,
  changedAt: at(-minutesAgo),
  lagFreeSyncs,
});
const run = (over: Partial<PolicyInput>) =>
  decide({
    settings,
    now: t0,
    state: state('RUNNING'),
    current: small,
    target: small,
    cpuShortage: 0,
    signal: calm,
    ...over,
  });

test("the original's scaling state table, with its bugs fixed, row by row", () => {
  const rows: [string, Partial<PolicyInput>, boolean, string][] = [
    ['equal, lagging', { signal: lagging }, false, 'RUNNING'],
    ['equal, lagging, clamped', { signal: lagging, cpuShortage: 200 }, false, 'SATURATED'],
    ['equal, no lag', { state: state('PENDING_SCALE_UP') }, false, 'RUNNING'],
    ['more, lagging, RUNNING', { target: big, signal: lagging }, false, 'PENDING_SCALE_UP'],
    [
      'more, lagging, pending up too short',
      { target: big, signal: lagging, state: state('PENDING_SCALE_UP', 4) },
      false,
      'PENDING_SCALE_UP',
    ],
    [
      'more, lagging, pending up long enough',
      { target: big, signal: lagging, state: state('PENDING_SCALE_UP', 5) },
      true,
      'RUNNING',
    ],
    [
      'more, lagging, applied but clamped',
      { target: big, signal: lagging, state: state('PENDING_SCALE_UP', 5), cpuShortage: 300 },
      true,
      'SATURATED',
    ],
    [
      'more, no lag, SATURATED',
      { target: big, state: state('SATURATED'), cpuShortage: 100 },
      false,
      'SATURATED',
    ],
    ['more, no lag, other', { target: big, state: state('PENDING_SCALE_UP') }, false, 'RUNNING'],
    [
      'less, no lag, pending down long enough',
      { current: big, state: state('PENDING_SCALE_DOWN', 15, 5) },
      true,
      'RUNNING',
    ],
    [
      'less, no lag, pending down too short',
      { current: big, state: state('PENDING_SCALE_DOWN', 14, 5) },
      false,
      'PENDING_SCALE_DOWN',
    ],
    ['less, no lag, RUNNING', { current: big, state: state('RUNNING', 0, 5) }, false, 'PENDING_SCALE_DOWN'],
    [
      'less, lagging',
      { current: big, signal: lagging, state: state('PENDING_SCALE_DOWN', 60) },
      false,
      'RUNNING',
    ],
  ];
  for (const [name, over, apply, status] of rows) {
    const decision = run(over);
    assert.equal(decision.apply, apply, `${name}: apply`);
    assert.equal(decision.state.status, status, `${name}: status`);
  }
});

test('fixed bugs of the original state machine', () => {
  // 11.8: PENDING_SCALE_DOWN (or no state) + lagging + more needed now moves to PENDING_SCALE_UP.
  assert.equal(
    run({ target: big, signal: lagging, state: state('PENDING_SCALE_DOWN', 1) }).state.status,
    'PENDING_SCALE_UP',
  );
  assert.equal(
    run({ target: big, signal: lagging, state: state(undefined) }).state.status,
    'PENDING_SCALE_UP',
  );
  // 11.5: SATURATED can grow again when capacity appears.
  assert.equal(
    run({ target: big, signal: lagging, state: state('SATURATED', 30) }).state.status,
    'PENDING_SCALE_UP',
  );
  // 11.9: a pending duration of 0 means at once (the original stopped autoscaling).
  assert.equal(
    run({ target: big, signal: lagging, settings: { ...settings, pendingScaleUpMs: 0 } }).apply,
    true,
  );
  assert.equal(
    run({ current: big, state: state('RUNNING', 0, 3), settings: { ...settings, pendingScaleDownMs: 0 } })
      .apply,
    true,
  );
  // The state change time moves only when the state changes.
  const waiting = run({ target: big, signal: lagging, state: state('PENDING_SCALE_UP', 2) });
  assert.deepEqual(waiting.state.changedAt, at(-2));
});

test('no scaling without metrics, none into a stall, no scale-down before enough lag-free syncs', () => {
  assert.equal(
    run({ current: big, signal: unknown, state: state('PENDING_SCALE_DOWN', 60, 9) }).apply,
    false,
  );
  const stall = run({ target: big, signal: stalled, state: state('PENDING_SCALE_UP', 60) });
  assert.equal(stall.apply, false);
  assert.match(stall.reason, /consumes nothing/);
  const patient = { ...settings, scaleDownAfterLagFreeSyncs: 3 };
  assert.equal(
    run({ current: big, settings: patient, state: state('RUNNING', 0, 1) }).state.status,
    'RUNNING',
  );
  assert.equal(
    run({ current: big, settings: patient, state: state('RUNNING', 0, 2) }).state.status,
    'PENDING_SCALE_DOWN',
  );
});

test('the global budget is a real cap, shared max-min fairly and deterministically', () => {
  const claims = [
    { id: 0, current: 1000, proposed: 3000, floor: 100, lagging: true },
    { id: 1, current: 1000, proposed: 1200, floor: 100, lagging: true },
    { id: 2, current: 1000, proposed: 500, floor: 100, lagging: false },
  ];
  const granted = allocateBudget(claims, 3000);
  // 500 freed by instance 2 + 0 spare = 500 to share: instance 1 needs 200, instance 0 gets the rest.
  assert.deepEqual(
    [...granted],
    [
      [0, 1300],
      [1, 1200],
      [2, 500],
    ],
  );
  assert.deepEqual(allocateBudget(claims, 3000), granted, 'deterministic');
  // A lowered cap: instances without lag give back first, never below their floor.
  assert.deepEqual(
    [
      ...allocateBudget(
        claims.map((c) => ({ ...c, proposed: c.current })),
        2500,
      ),
    ],
    [
      [0, 1000],
      [1, 1000],
      [2, 500],
    ],
  );
});

test('budget through the whole pass: an instance limited by the budget is SATURATED with the missing CPU', () => {
  const instances: InstanceInput[] = [0, 1].map((id) => ({
    id,
    partitions: [id],
    policy,
    current: { cpuRequest: 1000, cpuLimit: 1000, memoryRequest: 300e6, memoryLimit: 300e6 },
    state: state('PENDING_SCALE_UP', 10),
    paused: false,
  }));
  const samples = new Map([
    [0, { production: 1000, behind: 1000 * 600, consumption: 900 }],
    [1, { production: 1000, behind: 1000 * 600, consumption: 900 }],
  ]);
  const result = autoscale({
    settings,
    predictor: naivePredictor,
    now: t0,
    samples,
    instances,
    budget: { cpuMillis: 4000 },
  });
  assert.equal(result.allocated.cpuMillis, 4000);
  for (const outcome of result.instances) {
    assert.equal(outcome.decision.apply, true);
    assert.equal(outcome.decision.state.status, 'SATURATED');
    assert.equal(outcome.decision.saturationMillis, 700);
  }
});

test('property: within policy and budget, requests ≤ limits, no scale-down while lagging', () => {
  const sample = fc.record({
    production: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
    consumption: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
    behind: fc.option(fc.integer({ min: 0, max: 5_000_000 }), { nil: undefined }),
  });
  const status = fc.constantFrom('RUNNING', 'SATURATED', 'PENDING_SCALE_UP', 'PENDING_SCALE_DOWN', undefined);
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          sample,
          fc.integer({ min: 100, max: 4000 }),
          status,
          fc.integer({ min: 0, max: 60 }),
          fc.boolean(),
        ),
        { minLength: 1, maxLength: 8 },
      ),
      fc.integer({ min: 0, max: 40_000 }),
      fc.integer({ min: 0, max: 4 }),
      (rows, cap, lagFree) => {
        const instances: InstanceInput[] = rows.map(([, cpu, s, ago, paused], id) => ({
          id,
          partitions: [id],
          policy,
          current: {
            cpuRequest: cpu,
            cpuLimit: Math.ceil(cpu / 1000) * 1000,
            memoryRequest: 300e6,
            memoryLimit: 300e6,
          },
          state: state(s as ScalingState['status'], ago, lagFree),
          paused,
        }));
        const samples = new Map(rows.map(([s], id) => [id, s]));
        const currentTotal = instances.reduce((sum, i) => sum + i.current.cpuRequest!, 0);
        const result = autoscale({
          settings: { ...settings, pendingScaleUpMs: 0 },
          predictor: naivePredictor,
          now: t0,
          samples,
          instances,
          budget: { cpuMillis: cap },
        });
        const untouchable = result.instances.filter((o, i) => instances[i]!.paused || o.signal.unknown);
        const floors =
          untouchable.reduce((sum, o) => sum + instances[o.id]!.current.cpuRequest!, 0) +
          (instances.length - untouchable.length) * 100;
        if (cap >= floors)
          assert.ok(result.allocated.cpuMillis <= cap, `budget: ${result.allocated.cpuMillis} > ${cap}`);
        for (const [i, outcome] of result.instances.entries()) {
          const s = outcome.sizing;
          assert.ok((s.cpuRequest ?? 0) <= (s.cpuLimit ?? Infinity), 'request ≤ limit');
          if (outcome.decision.apply) {
            assert.ok(s.cpuLimit! <= 4000 && s.memoryLimit! <= 2e9, 'never above maxAllowed');
            if (cap >= floors) assert.ok(s.cpuRequest! >= 100, 'never below minAllowed');
          }
          if (outcome.signal.lagging && outcome.decision.apply && !(cap < currentTotal)) {
            assert.ok(s.cpuRequest! >= instances[i]!.current.cpuRequest!, 'no scale-down while lagging');
          }
          if (instances[i]!.paused || outcome.signal.unknown)
            assert.equal(outcome.decision.apply, false, 'paused or unknown: untouched');
        }
      },
    ),
    { numRuns: 500 },
  );
});
