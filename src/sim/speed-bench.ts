// How fast the simulator is (`npm run bench -- --only sim-speed`): the engine before the speed-up
// (its sources at BASELINE_COMMIT, taken from git) against this one, on the same work in the same
// run, single-threaded and on worker threads; then what `konsumerator simulate` does for 1,000
// partitions and a week of traffic with three policies (parse the CSV, simulate). The machine may
// be shared: each measurement records the load average around it and the CPU time it used, every
// engine runs the same number of rounds (previous, one thread, worker threads; again), and the
// ratios compare each engine's fastest run, the one other processes disturbed least.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { pathToFileURL } from 'node:url';
import { benchmarkConsumer } from './bench-consumer.js';
import { parseTraceCsv, traceToCsv } from './csv.js';
import { simulateAll, type SimJob } from './parallel.js';
import { defaultParams, type SimParams } from './params.js';
import { oraclePolicy, originalPolicy, oursDefault } from './policies/index.js';
import type { SimResult } from './run.js';
import type { Trace } from './trace.js';
import { DEFAULT_TRACE_OPTIONS, weekTrace } from './traces.js';

/** The last commit with the engine before the speed-up (per-step allocations, one thread). */
export const BASELINE_COMMIT = '04c7d16f68a3ab67fefd314a1d452c31485348ad';

/** What a user waits for at most: 1,000 partitions × 7 days × 3 policies. */
export const WEEK_TARGET_SECONDS = 60;

const POLICIES = [oursDefault, oraclePolicy, originalPolicy];
const DAY = 86_400_000;

export interface SpeedRun {
  /** Threads that computed: the calling one and `threads - 1` workers. */
  threads: number;
  wallSeconds: number;
  /** CPU time of every thread of this process during the run. */
  cpuSeconds: number;
  /** Wall time per partition-day per policy, ms. */
  msPerPartitionDay: number;
  /** 1-minute load average before and after. */
  load: { before: number; after: number };
}

export interface SimSpeedResults {
  machine: { cpuModel: string; cpus: number; node: string; memoryGiB: number };
  policies: string[];
  /** The same simulations by the previous engine and by this one. */
  comparison: {
    partitions: number;
    days: number;
    baselineCommit: string;
    /** One run per round, in the order they ran (previous, one thread, worker threads). */
    baseline: SpeedRun[] | { unavailable: string };
    singleThread: SpeedRun[];
    parallel: SpeedRun[];
    /** Figures, series, totals and lag of the previous engine equal this one's (every run). */
    identical: boolean | undefined;
    /**
     * Figures, series, totals and lag of this engine's runs (one thread, worker threads, every
     * round) equal each other. Absent in results from before it was recorded.
     */
    identicalAcrossThreads?: boolean;
    /**
     * Core-hours of each policy (in `policies` order) by the previous engine and by this one: they
     * differ where the simulated world changed after the previous engine's commit.
     */
    coreHours?: { previous: number[]; current: number[] };
    /**
     * The previous engine's fastest wall time / this engine's fastest; `singleThreadCpu`: the same
     * with the least CPU time, which other processes disturb less.
     */
    speedup: { singleThread: number; singleThreadCpu: number; parallel: number } | undefined;
  };
  /**
   * `konsumerator simulate` on 1,000 partitions × 7 days: parse the CSV, then simulate; as many
   * runs as rounds, `totalSeconds` from the fastest.
   */
  week: {
    partitions: number;
    days: number;
    csvMiB: number;
    parseSeconds: number[];
    simulation: SpeedRun[];
    totalSeconds: number;
    targetSeconds: number;
  };
  elapsedSeconds: number;
}

export interface SpeedBenchOptions {
  /** The repository (for the baseline's sources in git and a cache under node_modules). */
  repoRoot: string;
  partitions?: number;
  /** Days of traffic in the comparison (the first days of the week trace). */
  comparisonDays?: number;
  /** How many times each engine runs the comparison. */
  rounds?: number;
  threads?: number;
  onProgress?: (line: string) => void;
}

type Simulate = (trace: Trace, policy: unknown, setup: unknown, params: SimParams) => SimResult;

export async function runSimSpeedBench(options: SpeedBenchOptions): Promise<SimSpeedResults> {
  const started = performance.now();
  const progress = options.onProgress ?? (() => {});
  const partitions = options.partitions ?? 1000;
  const days = options.comparisonDays ?? 1;
  const threads = options.threads ?? Math.min(POLICIES.length, availableParallelism());
  const params = defaultParams({ seed: 1 });
  const spec = benchmarkConsumer(partitions, params.ratePerCore);
  const week = weekTrace({ ...DEFAULT_TRACE_OPTIONS, partitions });
  const trace = firstDays(week, days);
  const jobs: SimJob[] = POLICIES.map((policy) => ({ trace, spec, params, policy }));
  const partitionDays = partitions * days * POLICIES.length;

  const rounds = options.rounds ?? 2;
  let baseline: SpeedRun[] | { unavailable: string } = [];
  let engine: Baseline | undefined;
  try {
    engine = await loadBaseline(options.repoRoot);
  } catch (error) {
    baseline = { unavailable: (error as Error).message.split('\n')[0]! };
    progress(`previous engine unavailable: ${baseline.unavailable}`);
  }
  /** Each run's results: the previous engine's, and this one's (one thread, worker threads). */
  const previous: SimResult[][] = [];
  const current: SimResult[][] = [];
  const single: SpeedRun[] = [];
  const parallel: SpeedRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    const what = `${partitions} partitions × ${days} day, round ${round} of ${rounds}`;
    if (engine && Array.isArray(baseline)) {
      progress(`previous engine (${BASELINE_COMMIT.slice(0, 7)}), 1 thread: ${what}…`);
      const run = await measure(1, partitionDays, () =>
        POLICIES.map((policy) =>
          engine.simulate(trace, engine.policies[policy.id], engine.simSetup(spec), params),
        ),
      );
      baseline.push(run.speed);
      previous.push(run.value);
    }
    progress(`this engine, 1 thread: ${what}…`);
    const one = await measure(1, partitionDays, () => simulateAll(jobs, { threads: 1 }));
    single.push(one.speed);
    progress(`this engine, ${threads} threads: ${what}…`);
    const many = await measure(threads, partitionDays, () => simulateAll(jobs, { threads }));
    parallel.push(many.speed);
    current.push(one.value, many.value);
  }
  const same = (a: SimResult[], b: SimResult[]) =>
    a.every((r, i) =>
      isDeepStrictEqual(
        [r.figures, r.series, r.totals, r.lagByMinute.map((m) => Array.from(m))],
        [b[i]!.figures, b[i]!.series, b[i]!.totals, b[i]!.lagByMinute.map((m) => Array.from(m))],
      ),
    );
  const all = [...previous, ...current];
  const identical = engine ? all.every((run) => same(all[0]!, run)) : undefined;
  const identicalAcrossThreads = current.every((run) => same(current[0]!, run));
  const coreHoursOf = (run: SimResult[] | undefined) => (run ?? []).map((r) => r.figures.coreHours);
  const coreHours =
    previous.length > 0
      ? { previous: coreHoursOf(previous[0]), current: coreHoursOf(current[0]) }
      : undefined;
  const least = (runs: SpeedRun[], key: 'wallSeconds' | 'cpuSeconds') => Math.min(...runs.map((r) => r[key]));

  const csv = traceToCsv({ ...week, name: 'week.csv' });
  const weekParse: number[] = [];
  const weekRuns: SpeedRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    progress(
      `konsumerator simulate: ${partitions} partitions × 7 days, ${POLICIES.length} policies, round ${round} of ${rounds}…`,
    );
    const parseStarted = performance.now();
    const parsed = parseTraceCsv(csv, 'week.csv');
    weekParse.push((performance.now() - parseStarted) / 1000);
    const weekJobs = POLICIES.map((policy) => ({ trace: parsed, spec, params, policy }));
    const run = await measure(threads, partitions * 7 * POLICIES.length, () =>
      simulateAll(weekJobs, { threads }),
    );
    weekRuns.push(run.speed);
  }
  return {
    machine: {
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cpus: availableParallelism(),
      node: process.version,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
    },
    policies: POLICIES.map((p) => p.id),
    comparison: {
      partitions,
      days,
      baselineCommit: BASELINE_COMMIT,
      baseline,
      singleThread: single,
      parallel,
      identical,
      identicalAcrossThreads,
      ...(coreHours ? { coreHours } : {}),
      speedup:
        Array.isArray(baseline) && baseline.length > 0
          ? {
              singleThread: least(baseline, 'wallSeconds') / least(single, 'wallSeconds'),
              singleThreadCpu: least(baseline, 'cpuSeconds') / least(single, 'cpuSeconds'),
              parallel: least(baseline, 'wallSeconds') / least(parallel, 'wallSeconds'),
            }
          : undefined,
    },
    week: {
      partitions,
      days: 7,
      csvMiB: Buffer.byteLength(csv) / 2 ** 20,
      parseSeconds: weekParse,
      simulation: weekRuns,
      totalSeconds: Math.min(...weekRuns.map((r, i) => weekParse[i]! + r.wallSeconds)),
      targetSeconds: WEEK_TARGET_SECONDS,
    },
    elapsedSeconds: (performance.now() - started) / 1000,
  };
}

/** The first `days` of a trace (its rates, stalls and gaps beyond are simply never reached). */
function firstDays(trace: Trace, days: number): Trace {
  const steps = Math.round((days * DAY) / trace.stepMs);
  return { ...trace, durationMs: steps * trace.stepMs, rates: trace.rates.map((r) => r.slice(0, steps)) };
}

async function measure<T>(
  threads: number,
  partitionDays: number,
  run: () => T | Promise<T>,
): Promise<{ value: T; speed: SpeedRun }> {
  const before = loadavg()[0]!;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await run();
  const wallSeconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    value,
    speed: {
      threads,
      wallSeconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      msPerPartitionDay: (wallSeconds * 1000) / partitionDays,
      load: { before, after: loadavg()[0]! },
    },
  };
}

interface Baseline {
  simulate: Simulate;
  simSetup: (spec: unknown) => unknown;
  policies: Record<string, unknown>;
}

/**
 * The previous engine: `src/` at BASELINE_COMMIT, from git, kept under node_modules/.cache (inside
 * the repository, so that its imports find the same packages). Runs only from the TypeScript
 * sources (tsx), as `npm run bench` does.
 */
async function loadBaseline(repoRoot: string): Promise<Baseline> {
  const dir = join(
    repoRoot,
    'node_modules',
    '.cache',
    'konsumerator-sim-baseline',
    BASELINE_COMMIT.slice(0, 12),
  );
  const done = join(dir, '.complete');
  if (!existsSync(done)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const archive = execFileSync('git', ['-C', repoRoot, 'archive', BASELINE_COMMIT, 'src'], {
      maxBuffer: 512 * 2 ** 20,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    writeFileSync(done, `${BASELINE_COMMIT}\n`);
  }
  const load = (path: string) => import(pathToFileURL(join(dir, 'src', 'sim', path)).href);
  const [run, setup, policies] = await Promise.all([
    load('run.ts'),
    load('setup.ts'),
    load('policies/index.ts'),
  ]);
  return {
    simulate: run.simulate,
    simSetup: setup.simSetup,
    policies: Object.fromEntries(
      POLICIES.map((p) => [p.id, policies.benchmarkPolicies.find((b: { id: string }) => b.id === p.id)]),
    ),
  };
}
