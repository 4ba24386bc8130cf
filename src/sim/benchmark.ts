// The benchmark: every policy on every trace, against the benchmark Consumer, with figures
// relative to the oracle. Pure computation; writing files is report.ts's job.
import { benchmarkConsumer } from './bench-consumer.js';
import { defaultParams, type SimParams } from './params.js';
import { benchmarkPolicies } from './policies/index.js';
import type { PolicySpec } from './policy.js';
import { simulateAll, type SimJob } from './parallel.js';
import type { SimFigures } from './run.js';
import { combinedCost } from './cost.js';
import type { Trace } from './trace.js';
import { DEFAULT_TRACE_OPTIONS, traceGenerators } from './traces.js';
import type { SeriesPoint } from './world.js';

export interface PolicyFigures extends SimFigures {
  coreHoursRatio: number;
  gibHoursRatio: number;
  /** Core-hours and GiB-hours priced at CPU_TO_MEMORY_PRICE_RATIO, relative to the oracle's. */
  costRatio: number;
  /** % of partition-minutes within tolerableLag. */
  withinSloPercent: number;
}

export interface TraceResults {
  name: string;
  title: string;
  description: string;
  partitions: number;
  hours: number;
  figures: Record<string, PolicyFigures>;
}

export interface SimBenchmark {
  seed: number;
  params: SimParams;
  policies: { id: string; label: string; description: string }[];
  /** With each trace's node headroom (the default: `params.nodeHeadroom`). */
  traces: TraceResults[];
  /** The same traces with no node headroom (throughput = the CPU request); absent in older results. */
  tracesWithoutHeadroom?: TraceResults[];
  /** Wall time of the simulation part, seconds. */
  elapsedSeconds: number;
}

export interface SimBenchmarkRun {
  results: SimBenchmark;
  /** Time series per trace and policy, for the plots (not stored in the JSON). */
  series: Map<string, { policy: PolicySpec; points: SeriesPoint[] }[]>;
}

export { CPU_TO_MEMORY_PRICE_RATIO, combinedCost } from './cost.js';

export interface BenchmarkOptions {
  seed?: number;
  traces?: string[];
  policies?: PolicySpec[];
  /** Threads to compute on (parallel.ts); the figures do not depend on it. */
  threads?: number;
  onProgress?: (message: string) => void;
}

export async function runSimBenchmark(options: BenchmarkOptions = {}): Promise<SimBenchmarkRun> {
  const started = Date.now();
  const seed = options.seed ?? DEFAULT_TRACE_OPTIONS.seed;
  const params = defaultParams({ seed });
  const policies = options.policies ?? benchmarkPolicies;
  const names = options.traces ?? Object.keys(traceGenerators);
  const traces: Trace[] = names.map((name) => {
    const generate = traceGenerators[name];
    if (!generate)
      throw new Error(`unknown trace "${name}" (known: ${Object.keys(traceGenerators).join(', ')})`);
    return generate({ ...DEFAULT_TRACE_OPTIONS, seed });
  });
  // Every trace twice: with its node headroom, and without any (throughput = the CPU request).
  const withoutHeadroom = traces.map((trace) => ({ ...trace, nodeHeadroom: 0 }));
  const jobs: SimJob[] = [...traces, ...withoutHeadroom].flatMap((trace) =>
    policies.map((policy) => ({
      trace,
      spec: benchmarkConsumer(trace.rates.length, params.ratePerCore),
      params,
      policy,
    })),
  );
  const all = await simulateAll(jobs, {
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    onResult: (index, _result, seconds) =>
      options.onProgress?.(`${jobs[index]!.trace.name} / ${jobs[index]!.policy.id}: ${seconds.toFixed(1)} s`),
  });
  const series = new Map<string, { policy: PolicySpec; points: SeriesPoint[] }[]>();
  const resultsOf = (t: number, trace: Trace): TraceResults => {
    const runs = policies.map((policy, i) => ({ policy, result: all[t * policies.length + i]! }));
    const oracle = runs.find((r) => r.policy.id === 'oracle')?.result.figures;
    const figures: Record<string, PolicyFigures> = {};
    for (const { policy, result } of runs) {
      figures[policy.id] = {
        ...result.figures,
        coreHoursRatio: oracle ? result.figures.coreHours / oracle.coreHours : NaN,
        gibHoursRatio: oracle ? result.figures.gibHours / oracle.gibHours : NaN,
        costRatio: oracle ? combinedCost(result.figures) / combinedCost(oracle) : NaN,
        withinSloPercent: 100 * (1 - result.figures.sloViolationShare),
      };
    }
    if (t < traces.length)
      series.set(
        trace.name,
        runs.map(({ policy, result }) => ({ policy, points: result.series })),
      );
    return {
      name: trace.name,
      title: trace.title,
      description: trace.description,
      partitions: trace.rates.length,
      hours: trace.durationMs / 3_600_000,
      figures,
    };
  };
  return {
    results: {
      seed,
      params,
      policies: policies.map((p) => ({ id: p.id, label: p.label, description: p.description })),
      traces: traces.map((trace, t) => resultsOf(t, trace)),
      tracesWithoutHeadroom: withoutHeadroom.map((trace, t) => resultsOf(traces.length + t, trace)),
      elapsedSeconds: (Date.now() - started) / 1000,
    },
    series,
  };
}
