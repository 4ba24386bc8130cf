// Property-based tests of the autoscaling layer (src/autoscale) with the invariants of the
// autoscaling issue, on random metrics (including absurd ones), policies, budgets, settings,
// states and times. Every registered predictor is checked, not only `naive`.
// FC_SEED=<n> replays a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ScalingStatus } from '../../src/api/constants.js';
import type { ContainerPolicy } from '../../src/api/schema.js';
import { autoscale, type InstanceInput } from '../../src/autoscale/autoscale.js';
import { allocateBudget, type BudgetClaim } from '../../src/autoscale/budget.js';
import { limitToPolicy } from '../../src/autoscale/limiter.js';
import { decide, type ScalingState } from '../../src/autoscale/policy.js';
import { predictors } from '../../src/autoscale/predictor.js';
import type { AutoscaleSettings } from '../../src/autoscale/settings.js';
import { instanceSignal, partitionSignal } from '../../src/autoscale/signals.js';
import type { PartitionSample } from '../../src/metrics/types.js';
import type { Sizing } from '../../src/autoscale/sizing.js';
import { check } from '../support/properties.js';

const SEC = 1000;
const MIN = 60 * SEC;
const t0 = new Date('2026-01-01T00:00:00Z').getTime();

const settingsArb: fc.Arbitrary<AutoscaleSettings> = fc
  .record({
    ratePerCore: fc.integer({ min: 1, max: 1_000_000 }),
    ramPerCoreBytes: fc.integer({ min: 1, max: 64 * 2 ** 30 }),
    cpuIncrementMillis: fc.integer({ min: 1, max: 2000 }),
    tolerableLagMs: fc.integer({ min: 1, max: 60 * MIN }),
    criticalExtraMs: fc.option(fc.integer({ min: 0, max: 120 * MIN }), { nil: undefined }),
    // Sub-second recovery times pass the schema's "positive" rule.
    recoveryTimeMs: fc.oneof(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 1, max: 240 * MIN })),
    pendingScaleUpMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 * MIN })),
    pendingScaleDownMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 60 * MIN })),
    scaleDownAfterLagFreeSyncs: fc.integer({ min: 1, max: 10 }),
    fallbackStrategy: fc.constantFrom('min' as const, 'max' as const),
  })
  .map(({ criticalExtraMs, ...s }) => ({
    ...s,
    criticalLagMs: criticalExtraMs === undefined ? undefined : s.tolerableLagMs + criticalExtraMs,
  }));

/** Rates and backlogs from idle to absurd (what a broken exporter might report). */
const amount = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 100_000 }) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 1e7, noNaN: true }) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 1e300, noNaN: true, noDefaultInfinity: true }) },
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 5 });
const sampleArb: fc.Arbitrary<PartitionSample> = fc
  .record({ production: maybe(amount), consumption: maybe(amount), behind: maybe(amount) })
  .map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as PartitionSample);

/** A container policy with min ≤ max where both are given (the CRD's CEL rule). */
const policyArb: fc.Arbitrary<ContainerPolicy> = fc
  .record({
    cpuMin: maybe(fc.integer({ min: 1, max: 8000 })),
    cpuSpan: maybe(fc.integer({ min: 0, max: 16000 })),
    memMin: maybe(fc.integer({ min: 1, max: 4096 })),
    memSpan: maybe(fc.integer({ min: 0, max: 8192 })),
  })
  .map(({ cpuMin, cpuSpan, memMin, memSpan }) => {
    const minAllowed: Record<string, string> = {};
    const maxAllowed: Record<string, string> = {};
    if (cpuMin !== undefined) minAllowed.cpu = `${cpuMin}m`;
    if (cpuSpan !== undefined) maxAllowed.cpu = `${(cpuMin ?? 1) + cpuSpan}m`;
    if (memMin !== undefined) minAllowed.memory = `${memMin}Mi`;
    if (memSpan !== undefined) maxAllowed.memory = `${(memMin ?? 1) + memSpan}Mi`;
    return { containerName: 'consumer', minAllowed, maxAllowed };
  });

const bounds = (policy: ContainerPolicy) => {
  const milli = (v: unknown) => (v === undefined ? undefined : Number(String(v).slice(0, -1)));
  const mib = (v: unknown) => (v === undefined ? undefined : Number(String(v).slice(0, -2)) * 2 ** 20);
  return {
    cpuMin: milli(policy.minAllowed?.cpu),
    cpuMax: milli(policy.maxAllowed?.cpu),
    memMin: mib(policy.minAllowed?.memory),
    memMax: mib(policy.maxAllowed?.memory),
  };
};

const statusArb = fc.constantFrom(
  ScalingStatus.running,
  ScalingStatus.saturated,
  ScalingStatus.pendingScaleUp,
  ScalingStatus.pendingScaleDown,
  undefined,
);
const stateArb: fc.Arbitrary<ScalingState> = fc.record({
  status: statusArb,
  changedAt: fc.option(
    fc.integer({ min: 0, max: 120 * MIN }).map((ago) => new Date(t0 - ago)),
    { nil: undefined },
  ),
  lagFreeSyncs: fc.integer({ min: 0, max: 12 }),
});

const currentArb: fc.Arbitrary<Sizing> = fc
  .record({ cpu: fc.integer({ min: 1, max: 20000 }), mem: fc.integer({ min: 1, max: 8192 }) })
  .map(({ cpu, mem }) => ({
    cpuRequest: cpu,
    cpuLimit: Math.ceil(cpu / 1000) * 1000,
    memoryRequest: mem * 2 ** 20,
    memoryLimit: mem * 2 ** 20,
  }));

const instancesArb = fc.array(
  fc.record({
    samples: fc.array(fc.option(sampleArb, { nil: undefined, freq: 4 }), { minLength: 1, maxLength: 4 }),
    policy: policyArb,
    current: currentArb,
    state: stateArb,
    paused: fc.boolean(),
  }),
  { minLength: 1, maxLength: 6 },
);

/** Builds the autoscaler input: instance i holds partitions [4i, 4i+k). */
type Rows = typeof instancesArb extends fc.Arbitrary<infer T> ? T : never;
function inputsOf(rows: Rows) {
  const samples = new Map<number, PartitionSample>();
  const instances: InstanceInput[] = rows.map((row, id) => {
    const partitions = row.samples.map((s, k) => {
      if (s !== undefined) samples.set(id * 4 + k, s);
      return id * 4 + k;
    });
    return { id, partitions, policy: row.policy, current: row.current, state: row.state, paused: row.paused };
  });
  return { samples, instances };
}

const predictorNames = Object.keys(predictors);
const predictorArb = fc.constantFrom(...predictorNames);

test('property: every predictor gives finite, whole requests within their limits, at least one CPU step, for any metrics and settings', () => {
  check(
    fc.property(
      predictorArb,
      settingsArb,
      fc.array(sampleArb, { minLength: 1, maxLength: 6 }),
      (name, settings, samples) => {
        const prediction = predictors[name]!(
          samples.map((s, i) => partitionSignal(i, s)),
          settings,
        );
        if (prediction === undefined) return;
        for (const [key, value] of Object.entries(prediction))
          assert.ok(Number.isFinite(value) && value >= 0, `${key} = ${value}`);
        assert.ok(prediction.cpuRequest! >= Math.min(settings.cpuIncrementMillis, prediction.cpuLimit!));
        assert.ok(prediction.cpuRequest! <= prediction.cpuLimit!, 'cpu request ≤ limit');
        assert.ok(prediction.memoryRequest! <= prediction.memoryLimit!, 'memory request ≤ limit');
      },
    ),
    400,
  );
});

test('property: predictions are monotonic in production (at the same lag) and in lag (at the same production)', () => {
  const partition = fc.record({
    production: fc.integer({ min: 0, max: 200_000 }),
    lagSeconds: fc.integer({ min: 0, max: 100_000 }),
  });
  check(
    fc.property(
      predictorArb,
      settingsArb,
      fc.array(partition, { minLength: 1, maxLength: 5 }),
      fc.nat({ max: 4 }),
      fc.record({ production: fc.nat({ max: 100_000 }), lagSeconds: fc.nat({ max: 100_000 }) }),
      (name, settings, base, which, more) => {
        const index = which % base.length;
        // Lag in time is behind / production: a partition keeps its lag when behind grows with it.
        const predict = (rows: typeof base) =>
          predictors[name]!(
            rows.map((r, i) =>
              partitionSignal(i, { production: r.production, behind: r.production * r.lagSeconds }),
            ),
            settings,
          )!;
        const before = predict(base);
        for (const key of ['production', 'lagSeconds'] as const) {
          const after = predict(base.map((r, i) => (i === index ? { ...r, [key]: r[key] + more[key] } : r)));
          assert.ok(
            after.cpuRequest! >= before.cpuRequest!,
            `${key}: cpu ${before.cpuRequest} → ${after.cpuRequest}`,
          );
          assert.ok(after.memoryRequest! >= before.memoryRequest!, `${key}: memory`);
        }
      },
    ),
    400,
  );
});

test('property: the instance limit keeps every target within the container policy, requests ≤ limits', () => {
  check(
    fc.property(
      policyArb,
      fc.record({ cpu: fc.integer({ min: 1, max: 100_000 }), mem: fc.integer({ min: 1, max: 2 ** 40 }) }),
      fc.boolean(),
      (policy, { cpu, mem }, critical) => {
        const prediction = {
          cpuRequest: cpu,
          cpuLimit: Math.ceil(cpu / 1000) * 1000,
          memoryRequest: mem,
          memoryLimit: mem,
        };
        const { target, cpuShortage } = limitToPolicy(prediction, policy, critical);
        const b = bounds(policy);
        for (const [value, min, max] of [
          [target.cpuRequest, b.cpuMin, b.cpuMax],
          [target.cpuLimit, b.cpuMin, b.cpuMax],
          [target.memoryRequest, b.memMin, b.memMax],
          [target.memoryLimit, b.memMin, b.memMax],
        ] as const) {
          assert.ok(value! >= (min ?? 0) && value! <= (max ?? Infinity), `${value} not in [${min}, ${max}]`);
        }
        assert.ok(target.cpuRequest! <= target.cpuLimit! && target.memoryRequest! <= target.memoryLimit!);
        assert.ok(cpuShortage >= 0);
        if (critical && b.cpuMax !== undefined)
          assert.equal(target.cpuRequest, b.cpuMax, 'critical lag: maximum');
      },
    ),
    400,
  );
});

test('property: one autoscaling pass respects policy, budget, lag, pause and missing metrics', () => {
  check(
    fc.property(
      predictorArb,
      settingsArb,
      instancesArb,
      fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: undefined }),
      fc.option(fc.integer({ min: 0, max: 64 * 1024 }), { nil: undefined }),
      (name, settings, rows, cpuCap, memCapMi) => {
        const { samples, instances } = inputsOf(rows);
        const budget = {
          ...(cpuCap !== undefined ? { cpuMillis: cpuCap } : {}),
          ...(memCapMi !== undefined ? { memoryBytes: memCapMi * 2 ** 20 } : {}),
        };
        const input = {
          settings,
          predictor: predictors[name]!,
          now: new Date(t0),
          samples,
          instances,
          budget,
        };
        const result = autoscale(input);
        assert.deepEqual(autoscale(input), result, 'deterministic');

        // The budget binds unless the floors alone exceed it (untouchable instances keep what
        // they hold; the others can be cut down to their policy minimum, never below).
        const floorTotal = (key: 'cpu' | 'memory') =>
          result.instances.reduce((sum, o, i) => {
            const inst = instances[i]!;
            const held = key === 'cpu' ? inst.current.cpuRequest! : inst.current.memoryRequest!;
            if (inst.paused || o.signal.unknown) return sum + held;
            const b = bounds(inst.policy!);
            const min = key === 'cpu' ? b.cpuMin : b.memMin;
            return sum + Math.min(held, min ?? 0);
          }, 0);
        const heldTotal = (key: 'cpuRequest' | 'memoryRequest') =>
          instances.reduce((sum, i) => sum + i.current[key]!, 0);
        if (cpuCap !== undefined && floorTotal('cpu') <= cpuCap)
          assert.ok(
            result.allocated.cpuMillis <= Math.max(cpuCap, 0),
            `cpu ${result.allocated.cpuMillis} > ${cpuCap}`,
          );
        if (budget.memoryBytes !== undefined && floorTotal('memory') <= budget.memoryBytes)
          assert.ok(result.allocated.memoryBytes <= budget.memoryBytes, 'memory budget');
        // Never more in total than before when the budget was already exceeded.
        if (cpuCap !== undefined && heldTotal('cpuRequest') > cpuCap)
          assert.ok(result.allocated.cpuMillis <= heldTotal('cpuRequest'), 'over budget: nothing grows');

        for (const [i, outcome] of result.instances.entries()) {
          const inst = instances[i]!;
          const s = outcome.sizing;
          const b = bounds(inst.policy!);
          if (inst.paused || outcome.signal.unknown) {
            assert.equal(outcome.decision.apply, false, 'paused or without metrics: not moved');
            assert.deepEqual(s, inst.current);
            continue;
          }
          if (!outcome.decision.apply) {
            assert.deepEqual(s, inst.current, 'not applied: resources unchanged');
            continue;
          }
          assert.ok(s.cpuRequest! <= s.cpuLimit! && s.memoryRequest! <= s.memoryLimit!, 'requests ≤ limits');
          // Within maxAllowed, or (the policy was lowered under it) no higher than it already was:
          // without a prediction the autoscaler keeps what an instance holds.
          assert.ok(
            s.cpuLimit! <= Math.max(b.cpuMax ?? Infinity, inst.current.cpuLimit!),
            'cpu within maxAllowed',
          );
          assert.ok(
            s.memoryLimit! <= Math.max(b.memMax ?? Infinity, inst.current.memoryLimit!),
            'memory within maxAllowed',
          );

          const forcedByBudget =
            (cpuCap !== undefined && heldTotal('cpuRequest') > cpuCap) ||
            (budget.memoryBytes !== undefined && heldTotal('memoryRequest') > budget.memoryBytes);
          if (!forcedByBudget) {
            if (outcome.prediction)
              assert.ok(
                s.cpuLimit! <= (b.cpuMax ?? Infinity) && s.memoryLimit! <= (b.memMax ?? Infinity),
                'within maxAllowed',
              );
            assert.ok(
              s.cpuRequest! >= Math.min(b.cpuMin ?? 0, inst.current.cpuRequest!),
              'not below minAllowed',
            );
            if (outcome.signal.lagging)
              assert.ok(s.cpuRequest! >= inst.current.cpuRequest!, 'no scale-down while lagging');
            if (outcome.signal.stalled)
              assert.ok(s.cpuRequest! <= inst.current.cpuRequest!, 'stalled: no scale-up');
            if (s.cpuRequest! < inst.current.cpuRequest!)
              assert.ok(
                outcome.decision.state.lagFreeSyncs >= settings.scaleDownAfterLagFreeSyncs,
                'scale-down only after enough lag-free syncs',
              );
          }
        }
      },
    ),
    300,
  );
});

test('property: decide() depends on elapsed time only: shifting now and changedAt together changes nothing', () => {
  check(
    fc.property(
      predictorArb,
      settingsArb,
      instancesArb,
      fc.integer({ min: -10 * 365 * 24 * 60 * MIN, max: 10 * 365 * 24 * 60 * MIN }),
      (name, settings, rows, shiftMs) => {
        const { samples, instances } = inputsOf(rows);
        for (const inst of instances) {
          const signal = instanceSignal(
            inst.partitions,
            samples,
            settings.tolerableLagMs,
            settings.criticalLagMs,
          );
          const prediction = signal.unknown ? undefined : predictors[name]!(signal.partitions, settings);
          const limited = prediction
            ? limitToPolicy(prediction, inst.policy, signal.critical)
            : { target: inst.current, cpuShortage: 0 };
          const run = (shift: number) =>
            decide({
              settings,
              now: new Date(t0 + shift),
              state: {
                ...inst.state,
                changedAt: inst.state.changedAt && new Date(inst.state.changedAt.getTime() + shift),
              },
              current: inst.current,
              target: limited.target,
              cpuShortage: limited.cpuShortage,
              signal,
            });
          const a = run(0);
          const b = run(shiftMs);
          const unshift = (d: Date | undefined) => d && d.getTime() - shiftMs;
          assert.deepEqual(
            { ...b, state: { ...b.state, changedAt: unshift(b.state.changedAt) } },
            { ...a, state: { ...a.state, changedAt: a.state.changedAt?.getTime() } },
          );
          if (signal.unknown) assert.equal(a.apply, false, 'no metrics: no change');
          // A pending period is honoured: from a state other than the matching pending one
          // nothing moves in the same step unless the period is 0.
          if (a.apply && a.direction === 'up' && inst.state.status !== ScalingStatus.pendingScaleUp)
            assert.equal(settings.pendingScaleUpMs, 0);
          if (a.apply && a.direction === 'down' && inst.state.status !== ScalingStatus.pendingScaleDown)
            assert.equal(settings.pendingScaleDownMs, 0);
        }
      },
    ),
    300,
  );
});

test('property: the budget share is deterministic, fair to increases, and never cuts below a floor', () => {
  const claimArb = fc.array(
    fc.record({
      current: fc.integer({ min: 0, max: 10_000 }),
      proposed: fc.integer({ min: 0, max: 10_000 }),
      floor: fc.integer({ min: 0, max: 10_000 }),
      lagging: fc.boolean(),
    }),
    { minLength: 1, maxLength: 12 },
  );
  check(
    fc.property(claimArb, fc.integer({ min: 0, max: 80_000 }), (rows, cap) => {
      // A floor is never above what the instance holds or asks (the policy minimum clamps both).
      const claims: BudgetClaim[] = rows.map((r, id) => ({
        id,
        ...r,
        floor: Math.min(r.floor, r.current, r.proposed),
      }));
      const granted = allocateBudget(claims, cap);
      assert.deepEqual(allocateBudget([...claims].reverse(), cap), granted, 'independent of order');
      const total = [...granted.values()].reduce((a, b) => a + b, 0);
      const floors = claims.reduce((a, c) => a + c.floor, 0);
      const held = claims.reduce((a, c) => a + Math.min(c.current, c.proposed), 0);
      if (floors <= cap) assert.ok(total <= cap, `total ${total} > cap ${cap}`);
      for (const c of claims) {
        const g = granted.get(c.id)!;
        assert.ok(g >= c.floor, 'never below the floor');
        assert.ok(g <= Math.max(c.current, c.proposed), 'never more than asked or held');
        if (c.proposed <= c.current && held <= cap) assert.equal(g, c.proposed, 'a decrease is granted');
      }
      // Max-min fairness of the increases (water-filling): an increase left short never got
      // more than one unit less than any other increase.
      if (held <= cap) {
        const increment = (c: BudgetClaim) => granted.get(c.id)! - Math.min(c.current, c.proposed);
        const growing = claims.filter((c) => c.proposed > c.current);
        for (const a of growing.filter((c) => granted.get(c.id)! < c.proposed))
          for (const b of growing) assert.ok(increment(b) <= increment(a) + 1, 'max-min fair');
      }
    }),
    400,
  );
});

test('regression: a sub-second recoveryTime and metrics of 1e300 give numbers, not NaN', () => {
  const settings: AutoscaleSettings = {
    ratePerCore: 1,
    ramPerCoreBytes: 1,
    cpuIncrementMillis: 1,
    tolerableLagMs: 1,
    criticalLagMs: undefined,
    recoveryTimeMs: 500,
    pendingScaleUpMs: 0,
    pendingScaleDownMs: 0,
    scaleDownAfterLagFreeSyncs: 1,
    fallbackStrategy: 'min',
  };
  // 1 behind at 1 msg/s = 1 s of lag, drained in the 1 s a 500 ms recoveryTime counts as: 2 msg/s.
  assert.equal(
    predictors.naive!([partitionSignal(0, { production: 1, behind: 1 })], settings)!.cpuRequest,
    2000,
  );
  const huge = predictors.naive!(
    [partitionSignal(0, { production: 1e300, behind: 1e300 }), partitionSignal(1, {})],
    settings,
  )!;
  assert.equal(huge.cpuRequest, 1e9, 'capped at a million cores');
});
