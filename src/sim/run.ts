// One closed-loop run: a trace, a policy, the world; then the figures of the run.
import type { SimParams } from './params.js';
import type { PolicySpec } from './policy.js';
import type { SimSetup } from './setup.js';
import type { Trace } from './trace.js';
import { StepInputs } from './step-inputs.js';
import { World, type DisruptionCause, type SeriesPoint } from './world.js';

export interface SimFigures {
  coreHours: number;
  gibHours: number;
  /** Share of partition-minutes whose worst lag exceeded tolerableLag. */
  sloViolationShare: number;
  p99LagSeconds: number;
  maxLagSeconds: number;
  /** Partition disruptions (restarts, OOM kills, rebalances) per partition per day. */
  restartsPerPartitionDay: number;
  /**
   * The same by cause: rollouts of a changed pod, rollouts after a node deferred an in-place resize
   * too long, OOM kills, consumer-group rebalances.
   */
  restartsByCause: Record<DisruptionCause, number>;
  scaleActions: number;
  oomKills: number;
}

export interface SimResult {
  trace: string;
  policy: string;
  figures: SimFigures;
  series: SeriesPoint[];
  /** Messages, for the conservation check. */
  totals: { produced: number; consumed: number; backlog: number };
  /** Worst lag per partition per minute, seconds. */
  lagByMinute: Float32Array[];
  /** With `params.partitionSeries`: each partition's pod's requests per minute (cores, GiB); else empty. */
  cpuByMinute: Float32Array[];
  memoryByMinute: Float32Array[];
}

export function quantile(values: Float32Array | number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[quantileIndex(sorted.length, q)]!;
}

export function simulate(trace: Trace, spec: PolicySpec, setup: SimSetup, params: SimParams): SimResult {
  return simulateTogether(trace, [{ policy: spec, setup }], params)[0]!;
}

/**
 * Several policies on the same trace, stepped together: each has its own world, and what all of
 * them see (production, noise) is computed once per step. Each result is what `simulate` gives for
 * that policy alone.
 */
export function simulateTogether(
  trace: Trace,
  runs: readonly { policy: PolicySpec; setup: SimSetup }[],
  params: SimParams,
): SimResult[] {
  const inputs = new StepInputs(trace, params);
  const worlds = runs.map(() => new World(trace, params, inputs));
  const policies = runs.map(({ policy, setup }) => policy.create({ trace, params, setup }));
  policies.forEach((policy, i) => policy.start(worlds[i]!));
  const ticks = worlds[0]?.tickCount ?? 0;
  for (let tick = 0; tick < ticks; tick++)
    for (let i = 0; i < worlds.length; i++) {
      const world = worlds[i]!;
      world.observe();
      policies[i]!.step(world);
      world.advance();
    }
  return worlds.map((world, i) => results(world, trace, runs[i]!.policy, params));
}

function results(world: World, trace: Trace, spec: PolicySpec, params: SimParams): SimResult {
  const lag = lagFigures(world.lagByMinute, params.tolerableLagMs / 1000);
  const days = trace.durationMs / 86_400_000;
  return {
    trace: trace.name,
    policy: spec.id,
    figures: {
      coreHours: world.cpuMilliMs / 1000 / 3_600_000,
      gibHours: world.memoryByteMs / 1024 ** 3 / 3_600_000,
      sloViolationShare: lag.count ? lag.over / lag.count : 0,
      p99LagSeconds: lag.p99,
      maxLagSeconds: lag.max,
      restartsPerPartitionDay: world.counters.disruptions / world.partitions / days,
      restartsByCause: {
        rollout: world.counters.disruptionsBy.rollout / world.partitions / days,
        fallback: world.counters.disruptionsBy.fallback / world.partitions / days,
        oom: world.counters.disruptionsBy.oom / world.partitions / days,
        rebalance: world.counters.disruptionsBy.rebalance / world.partitions / days,
      },
      scaleActions: world.counters.scaleActions,
      oomKills: world.counters.oomKills,
    },
    series: world.series,
    totals: { produced: sum(world.produced), consumed: sum(world.consumed), backlog: sum(world.backlog) },
    lagByMinute: world.lagByMinute,
    cpuByMinute: world.cpuByMinute,
    memoryByMinute: world.memoryByMinute,
  };
}

function sum(values: Float64Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}

/**
 * Over all partition-minutes: how many, how many above `tolerable`, the largest and the 99th
 * percentile (the value `quantile` would give, found by selection instead of a sort).
 */
function lagFigures(lagByMinute: readonly Float32Array[], tolerable: number) {
  let count = 0;
  for (const series of lagByMinute) count += series.length;
  const all = new Float32Array(count);
  let over = 0;
  let max = 0;
  let at = 0;
  for (const series of lagByMinute) {
    for (let i = 0; i < series.length; i++) {
      const lag = series[i]!;
      if (lag > tolerable) over++;
      max = Math.max(max, lag);
    }
    all.set(series, at);
    at += series.length;
  }
  const p99 =
    count === 0 ? 0 : Number.isNaN(max) ? quantile(all, 0.99) : select(all, quantileIndex(count, 0.99));
  return { count, over, max, p99 };
}

const quantileIndex = (n: number, q: number) => Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));

/** The k-th smallest value (Hoare's selection, in place); no NaN in `values`. */
function select(values: Float32Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[k]!;
    let i = lo;
    let j = hi;
    do {
      while (values[i]! < pivot) i++;
      while (pivot < values[j]!) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) lo = i;
    if (k < i) hi = j;
  }
  return values[k]!;
}
