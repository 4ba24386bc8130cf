// One closed-loop run: a trace, a policy, the world; then the figures of the run.
import type { SimParams } from './params.js';
import type { PolicySpec } from './policy.js';
import type { SimSetup } from './setup.js';
import type { Trace } from './trace.js';
import { World, type SeriesPoint } from './world.js';

export interface SimFigures {
  coreHours: number;
  gibHours: number;
  /** Share of partition-minutes whose worst lag exceeded tolerableLag. */
  sloViolationShare: number;
  p99LagSeconds: number;
  maxLagSeconds: number;
  /** Partition disruptions (restarts, OOM kills, rebalances) per partition per day. */
  restartsPerPartitionDay: number;
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
}

export function quantile(values: Float32Array | number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

export function simulate(trace: Trace, spec: PolicySpec, setup: SimSetup, params: SimParams): SimResult {
  const world = new World(trace, params);
  const policy = spec.create({ trace, params, setup });
  policy.start(world);
  for (let i = 0; i < world.tickCount; i++) {
    world.observe();
    policy.step(world);
    world.advance();
  }
  const minutes = world.lagByMinute.flatMap((series) => Array.from(series));
  const tolerable = params.tolerableLagMs / 1000;
  const over = minutes.filter((lag) => lag > tolerable).length;
  const days = trace.durationMs / 86_400_000;
  const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
  return {
    trace: trace.name,
    policy: spec.id,
    figures: {
      coreHours: world.cpuMilliMs / 1000 / 3_600_000,
      gibHours: world.memoryByteMs / 1024 ** 3 / 3_600_000,
      sloViolationShare: minutes.length ? over / minutes.length : 0,
      p99LagSeconds: quantile(minutes, 0.99),
      maxLagSeconds: minutes.reduce((m, v) => Math.max(m, v), 0),
      restartsPerPartitionDay: world.counters.disruptions / world.partitions / days,
      scaleActions: world.counters.scaleActions,
      oomKills: world.counters.oomKills,
    },
    series: world.series,
    totals: { produced: sum(world.produced), consumed: sum(world.consumed), backlog: sum(world.backlog) },
    lagByMinute: world.lagByMinute,
  };
}
