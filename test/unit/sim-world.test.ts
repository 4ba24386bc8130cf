// The simulator's mechanics: messages are conserved, the oracle has no lag, a restart costs
// consumption, the metric pipeline lags behind the world, runs are deterministic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchmarkConsumer } from '../../src/sim/bench-consumer.js';
import { defaultParams } from '../../src/sim/params.js';
import {
  benchmarkPolicies,
  oraclePolicy,
  oracleWithinMaxAllowed,
  oursDefault,
  originalPolicy,
  policyFromRef,
  policyRef,
} from '../../src/sim/policies/index.js';
import type { PolicySpec } from '../../src/sim/policy.js';
import { simulate } from '../../src/sim/run.js';
import { simSetup } from '../../src/sim/setup.js';
import type { Trace } from '../../src/sim/trace.js';
import { burstsTrace } from '../../src/sim/traces.js';
import { newUnit, World } from '../../src/sim/world.js';
import { MetricsPipeline } from '../../src/sim/metrics-pipeline.js';
import { kedaPolicy } from '../../src/sim/policies/keda.js';
import { DEFAULT_PENDING_BOUND_MS } from '../../src/controller/in-place.js';

const MINUTE = 60_000;

/** Constant rates, then `factor` × from `stepAtMs` on. */
function flatTrace(rates: number[], minutes: number, extra: Partial<Trace> = {}): Trace {
  return {
    name: 'flat',
    title: 'flat',
    description: '',
    stepMs: MINUTE,
    durationMs: minutes * MINUTE,
    rates: rates.map((r) => new Float64Array(minutes).fill(r)),
    stalls: [],
    gaps: [],
    ...extra,
  };
}

const shortBursts = () => {
  const trace = burstsTrace({ seed: 7, partitions: 4, peakRate: 2000 });
  const minutes = 180;
  return { ...trace, durationMs: minutes * MINUTE, rates: trace.rates.map((r) => r.slice(0, minutes)) };
};

test('messages are conserved: produced = consumed + behind, for every partition and policy', () => {
  const trace = shortBursts();
  const setup = simSetup(benchmarkConsumer(4));
  for (const policy of benchmarkPolicies) {
    const world = new World(trace, defaultParams());
    const sim = policy.create({ trace, params: world.params, setup });
    sim.start(world);
    for (let i = 0; i < world.tickCount; i++) {
      world.observe();
      sim.step(world);
      world.advance();
    }
    for (let p = 0; p < 4; p++) {
      const produced = world.produced[p]!;
      assert.ok(produced > 0, 'something was produced');
      assert.ok(
        Math.abs(produced - world.consumed[p]! - world.backlog[p]!) <= 1e-9 * produced,
        `${policy.id}, partition ${p}: ${produced} ≠ ${world.consumed[p]} + ${world.backlog[p]}`,
      );
      assert.ok(world.backlog[p]! >= 0, 'no negative backlog');
    }
  }
});

test('the oracle never lags (without stalls) and is the cheapest policy', () => {
  const trace = shortBursts();
  const setup = simSetup(benchmarkConsumer(4));
  const params = defaultParams();
  const oracle = simulate(trace, oraclePolicy, setup, params);
  assert.equal(oracle.figures.maxLagSeconds, 0);
  assert.equal(oracle.figures.sloViolationShare, 0);
  assert.equal(oracle.totals.backlog, 0);
  const ours = simulate(trace, oursDefault, setup, params);
  assert.ok(ours.figures.maxLagSeconds > 0, 'a real policy sees some lag');
  assert.ok(ours.figures.coreHours >= oracle.figures.coreHours, 'the oracle is cheapest');
});

test('a restart costs consumption; an in-place resize does not', () => {
  const trace = flatTrace([1000], 30);
  const params = defaultParams({ throughputNoise: 0, nodeHeadroom: 0 });
  const consumedAfter = (mode: 'restart' | 'in-place') => {
    const world = new World(trace, params);
    world.units = [newUnit([0], 1500, 2 ** 30)];
    const rates: number[] = [];
    for (let i = 0; i < world.tickCount; i++) {
      world.observe();
      if (world.nowMs === 10 * MINUTE) world.resize(world.units[0]!, 1600, 2 ** 30, mode);
      const before = world.consumed[0]!;
      world.advance();
      rates.push((world.consumed[0]! - before) / (params.tickMs / 1000));
    }
    return { world, rates };
  };
  const restarted = consumedAfter('restart');
  const resized = consumedAfter('in-place');
  // The hand-over pause: steps with no consumption at all, then a warm-up below full speed.
  assert.ok(
    restarted.rates.filter((r) => r === 0).length >= params.restart.pauseMs / params.tickMs,
    'steps without consumption',
  );
  assert.equal(resized.rates.filter((r) => r === 0).length, 0);
  // In the 40 s after the change (start + hand-over), the restarted consumer got less done.
  const window = (rates: number[]) => rates.slice(120, 128).reduce((a, b) => a + b, 0);
  assert.ok(window(restarted.rates) < window(resized.rates), 'less consumed after a restart');
  assert.equal(restarted.world.counters.disruptions, 1);
  assert.equal(resized.world.counters.disruptions, 0);
  // The backlog the pause left behind shows as lag in time.
  assert.ok(
    Math.max(...Array.from(restarted.world.lagByMinute[0]!)) >= params.restart.pauseMs / 1000,
    'the pause shows as lag',
  );
});

test('a stalled partition consumes nothing, whatever its CPU', () => {
  const trace = flatTrace([100, 100], 60, {
    stalls: [{ partition: 1, startMs: 10 * MINUTE, endMs: 20 * MINUTE }],
  });
  const result = simulate(trace, oraclePolicy, simSetup(benchmarkConsumer(2)), defaultParams());
  assert.equal(Math.max(...Array.from(result.lagByMinute[0]!)), 0);
  const lag1 = Array.from(result.lagByMinute[1]!);
  assert.ok(Math.abs(lag1[19]! - 600) <= 10, `lag at the end of the stall ${lag1[19]} s`);
  assert.equal(lag1[25], 0, 'the oracle drains right after');
});

test('the metric pipeline: the last scrape, rates over the window, absent series and failed queries', () => {
  const gaps = [
    { kind: 'absent' as const, startMs: 10 * MINUTE, endMs: 20 * MINUTE },
    { kind: 'error' as const, startMs: 30 * MINUTE, endMs: 31 * MINUTE },
  ];
  const pipeline = new MetricsPipeline(1, 15_000, 2 * MINUTE, gaps);
  const produced = new Float64Array(1);
  const consumed = new Float64Array(1);
  const at = (t: number) => {
    produced[0] = t * 0.1; // 100 msg/s
    consumed[0] = t * 0.05; // 50 msg/s
    pipeline.scrape(t, produced, consumed);
  };
  for (let t = 0; t <= 5 * MINUTE; t += 15_000) at(t);
  const reading = pipeline.read(5 * MINUTE + 10_000).samples.get(0)!;
  assert.ok(Math.abs(reading.production! - 100) < 1e-9, 'production rate');
  assert.ok(Math.abs(reading.consumption! - 50) < 1e-9, 'consumption rate');
  assert.equal(reading.behind, 5 * 60 * 50, 'behind at the last scrape, not now');
  for (let t = 5 * MINUTE + 15_000; t <= 11 * MINUTE; t += 15_000) at(t);
  assert.equal(pipeline.read(11 * MINUTE).samples.has(0), true, 'rate() still has samples in its window');
  assert.equal(pipeline.read(11 * MINUTE).samples.get(0)!.behind, undefined, 'the series is gone');
  for (let t = 11 * MINUTE + 15_000; t <= 13 * MINUTE; t += 15_000) at(t);
  assert.equal(pipeline.read(13 * MINUTE).samples.has(0), false, 'no sample left in the window');
  assert.match(pipeline.read(30 * MINUTE).error ?? '', /unreachable/);
});

test('the same seed gives the same results; another seed gives others', () => {
  const trace = shortBursts();
  const setup = simSetup(benchmarkConsumer(4));
  const run = (seed: number) =>
    [oursDefault, originalPolicy].map((p) => simulate(trace, p, setup, defaultParams({ seed })));
  const a = run(3);
  const b = run(3);
  const c = run(4);
  assert.deepEqual(
    a.map((r) => r.figures),
    b.map((r) => r.figures),
  );
  assert.deepEqual(
    a.map((r) => r.series),
    b.map((r) => r.series),
  );
  assert.notDeepEqual(
    a.map((r) => r.figures),
    c.map((r) => r.figures),
  );
});

test('in place: the node grants growth up to its unrequested CPU; beyond, it defers until the operator rolls the pod out', () => {
  const trace = flatTrace([500], 40);
  const params = defaultParams({ throughputNoise: 0, nodeFreeCpuMillis: 1000, nodeHeadroom: 0 });
  const world = new World(trace, params);
  world.units = [world.newUnit([0], 1000, 2 ** 30)];
  const unit = world.units[0]!;
  const at = (minute: number, act: () => void) => {
    while (world.nowMs < minute * MINUTE) {
      world.observe();
      world.advance();
    }
    act();
  };
  // +600m fits (400m left on the node): applied in place after the delay, no restart.
  at(1, () => world.resize(unit, 1600, 2 ** 30, 'in-place'));
  at(2, () => {
    assert.equal(unit.activeCpuMillis, 1600);
    assert.equal(unit.nodeFreeMillis, 400);
    assert.equal(world.counters.disruptions, 0);
  });
  // +1000m does not fit: deferred; a later decision does not restart the bound's clock.
  at(3, () => world.resize(unit, 2600, 2 ** 30, 'in-place'));
  at(5, () => world.resize(unit, 2700, 2 ** 30, 'in-place'));
  at(7, () => {
    assert.equal(unit.activeCpuMillis, 1600, 'the pod still runs with what the node granted');
    assert.equal(unit.cpuMillis, 1600, 'the node allocated nothing new');
  });
  // The operator's bound (5 min from minute 3): it rolls the pod out; after the new pod's start,
  // it runs with the new size, on a node with room again.
  at(8, () => world.rollOutDeferred(unit));
  at(9, () => {
    assert.equal(unit.activeCpuMillis, 2700);
    assert.deepEqual(world.counters.disruptionsBy, { rollout: 0, fallback: 1, oom: 0, rebalance: 0 });
    assert.equal(unit.nodeFreeMillis, 1000);
  });
  // A deferred growth given up for a decision that fits is applied in place: no rollout.
  at(10, () => world.resize(unit, 4000, 2 ** 30, 'in-place'));
  at(11, () => world.resize(unit, 3200, 2 ** 30, 'in-place'));
  at(20, () => {
    assert.equal(unit.activeCpuMillis, 3200);
    assert.equal(unit.nodeFreeMillis, 500);
    assert.equal(world.counters.disruptions, 1);
  });
});

test('a deferred growth is charged from when it is allocated (the fallback rollout), not while the node defers it', () => {
  const trace = flatTrace([500], 20);
  const params = defaultParams({ throughputNoise: 0, nodeFreeCpuMillis: 500, nodeHeadroom: 0 });
  const world = new World(trace, params);
  world.units = [world.newUnit([0], 1000, 2 ** 30)];
  const unit = world.units[0]!;
  const until = (minute: number) => {
    while (world.nowMs < minute * MINUTE) {
      world.observe();
      world.advance();
    }
  };
  until(1);
  world.resize(unit, 3000, 2 * 2 ** 30, 'in-place'); // +2000m on a node with 500m: deferred
  const atDecision = { cpu: world.cpuMilliMs, memory: world.memoryByteMs };
  until(6); // the bound (5 min): the operator rolls the pod out (below)
  assert.equal(world.cpuMilliMs - atDecision.cpu, 1000 * 5 * MINUTE, 'the old CPU request, 5 minutes');
  assert.equal(world.memoryByteMs - atDecision.memory, 2 ** 30 * 5 * MINUTE, 'the old memory, 5 minutes');
  assert.equal(unit.memoryBytes, 2 ** 30, 'the old memory limit is in force');
  world.rollOutDeferred(unit);
  const atRollout = world.cpuMilliMs;
  until(7);
  assert.equal(world.cpuMilliMs - atRollout, 3000 * MINUTE, 'the new pod has the new requests');
  assert.equal(unit.cpuMillis, 3000);
  assert.deepEqual(world.counters.disruptionsBy, { rollout: 0, fallback: 1, oom: 0, rebalance: 0 });
});

test('node headroom: a pod uses idle CPU above its request up to its limit; none without headroom', () => {
  // 1,600 msg/s for a pod of 1 core (1,000 msg/s per core): it can keep up only by bursting.
  const consumedWith = (nodeHeadroom: number | undefined, cpuLimitMillis: number, traceHeadroom?: number) => {
    const trace = flatTrace([1600], 10, traceHeadroom === undefined ? {} : { nodeHeadroom: traceHeadroom });
    const params = defaultParams({
      throughputNoise: 0,
      ...(nodeHeadroom === undefined ? {} : { nodeHeadroom }),
    });
    const world = new World(trace, params);
    world.units = [world.newUnit([0], 1000, 4 * 2 ** 30, cpuLimitMillis)];
    for (let i = 0; i < world.tickCount; i++) {
      world.observe();
      world.advance();
    }
    return { rate: world.consumed[0]! / (10 * 60), cores: world.units[0]!.usageCores };
  };
  assert.equal(consumedWith(0, 2000).rate, 1000, 'headroom off: the request only');
  assert.equal(consumedWith(0.25, 2000).rate, 1250, 'a quarter of the request on top');
  assert.equal(consumedWith(0.25, 2000).cores, 1.25, 'the usage a recommender sees is above the request');
  assert.equal(consumedWith(0.25, 1100).rate, 1100, 'no further than the CPU limit');
  assert.equal(consumedWith(0.25, 1000).rate, 1000, 'limit = request: no burst');
  assert.equal(
    consumedWith(1, Infinity).rate,
    1600,
    'no CPU limit: as much as the work needs, within the headroom',
  );
  assert.equal(consumedWith(0.25, Infinity, 0).rate, 1000, "the trace's setting wins over the default");
  assert.equal(defaultParams().nodeHeadroom, 0.25);
});

test("the simulator's resize bound is the operator's default", () => {
  assert.equal(defaultParams().resizePendingBoundMs, DEFAULT_PENDING_BOUND_MS);
});

test("KEDA-like: the HPA's default scale-up, 100 % or 4 pods per 15 s, no stabilisation on the way up", () => {
  // 32 partitions at a trickle (one replica), then each 100× for the rest of the run.
  const minutes = 20;
  const trace: Trace = {
    ...flatTrace(new Array<number>(32).fill(10), minutes),
    rates: Array.from({ length: 32 }, () => {
      const rates = new Float64Array(minutes).fill(10);
      rates.fill(1000, 5);
      return rates;
    }),
  };
  const setup = simSetup(benchmarkConsumer(32));
  const params = defaultParams({ throughputNoise: 0 });
  const world = new World(trace, params);
  const policy = kedaPolicy.create({ trace, params, setup });
  policy.start(world);
  const replicasAt: number[] = [];
  let requested = 0;
  while (world.nowMs < 8 * MINUTE) {
    world.observe();
    const before = world.counters.scaleActions;
    policy.step(world);
    if (world.counters.scaleActions > before) replicasAt.push(world.nowMs);
    world.advance();
    requested = world.units.length;
  }
  assert.ok(requested > 1, `grew from one replica: ${requested}`);
  // Changes 15 s apart while the lag grows (a 60 s period would allow one a minute).
  const gaps = replicasAt.slice(1).map((t, i) => t - replicasAt[i]!);
  assert.ok(gaps.includes(15_000), `scale-ups 15 s apart: ${replicasAt.map((t) => t / 1000).join(', ')} s`);
});

test('an OOM kill is decided against the memory limit in force: a rollout to less memory does not kill the old pod', () => {
  // 2,000 msg/s on 2 cores: 0.2 GiB + 0.5 GiB × 2 busy cores = 1.2 GiB in use.
  const trace = flatTrace([2000], 10);
  const params = defaultParams({ throughputNoise: 0, nodeHeadroom: 0 });
  const world = new World(trace, params);
  world.units = [world.newUnit([0], 2000, 2 * 2 ** 30)];
  const unit = world.units[0]!;
  const until = (minute: number) => {
    while (world.nowMs < minute * MINUTE) {
      world.observe();
      world.advance();
    }
  };
  until(2);
  // Down to 0.5 cores and 1 GiB (too little for the traffic, but enough memory for 0.5 cores).
  world.resize(unit, 500, 2 ** 30, 'restart');
  until(3);
  assert.equal(unit.activeCpuMillis, 500, 'the new pod runs');
  assert.deepEqual(world.counters.disruptionsBy, { rollout: 1, fallback: 0, oom: 0, rebalance: 0 });
  // Now in place, down to 0.5 GiB with 0.5 cores busy (0.45 GiB in use): the resize applies both.
  world.resize(unit, 500, 2 ** 29, 'in-place');
  until(4);
  assert.equal(world.counters.oomKills, 0);
  // A memory limit below what is in use kills the pod once it is in force.
  world.resize(unit, 500, 2 ** 28, 'in-place');
  until(5);
  assert.ok(world.counters.oomKills > 0);
  assert.ok(world.counters.disruptionsBy.oom > 0);
});

test('a pod busy at exactly its CPU uses no more than it: memory sized for that CPU is never exceeded', () => {
  // Far more traffic than 16 cores drain, with throughput noise: every step the pod is busy at
  // its limit, and its usage is what its memory limit was sized for.
  const trace = flatTrace([40_000], 120);
  const params = defaultParams();
  const world = new World(trace, params);
  const memory = params.memoryBaseBytes + params.memoryPerBusyCoreBytes * 16;
  world.units = [world.newUnit([0], 16_000, memory, 16_000)];
  for (let i = 0; i < world.tickCount; i++) {
    world.observe();
    world.advance();
    assert.ok(world.units[0]!.usageCores <= 16, `step ${i}: ${world.units[0]!.usageCores} cores`);
  }
  assert.equal(world.counters.oomKills, 0);
});

test('the oracle within maxAllowed keeps CPU request and limit within it; the plain oracle does not', () => {
  // 20,000 msg/s on one partition: 20 cores at 1,000 msg/s per core, above maxAllowed (16).
  const trace = flatTrace([20_000], 30);
  const setup = simSetup(benchmarkConsumer(1));
  assert.equal(setup.maxCpuMillis, 16_000);
  const params = defaultParams();
  const run = (policy: PolicySpec) => {
    const world = new World(trace, params);
    const sim = policy.create({ trace, params: world.params, setup });
    sim.start(world);
    let request = 0;
    let limit = 0;
    for (let i = 0; i < world.tickCount; i++) {
      world.observe();
      sim.step(world);
      request = Math.max(request, world.units[0]!.cpuMillis);
      limit = Math.max(limit, world.units[0]!.cpuLimitMillis);
      world.advance();
    }
    return { request, limit, backlog: world.backlog[0]!, oomKills: world.counters.oomKills };
  };
  const plain = run(oraclePolicy);
  assert.ok(plain.limit > 16_000, `the plain oracle's limit: ${plain.limit}m`);
  assert.equal(plain.backlog, 0);
  // The same policy as a worker thread rebuilds it.
  for (const capped of [oracleWithinMaxAllowed, policyFromRef(policyRef(oracleWithinMaxAllowed))]) {
    const held = run(capped);
    assert.deepEqual({ request: held.request, limit: held.limit }, { request: 16_000, limit: 16_000 });
    assert.ok(held.backlog > 0, 'it falls behind, as any policy under that maxAllowed');
    assert.equal(held.oomKills, 0);
  }
});
