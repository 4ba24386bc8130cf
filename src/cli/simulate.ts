// `konsumerator simulate`: replay a user's own traffic (CSV of per-partition production rates)
// against their Consumer's settings in the closed-loop simulator, and print what it would cost,
// how much lag it would let through and how often it would restart pods — before deploying.
import { accessSync, closeSync, constants, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseConsumerYaml } from '../sim/consumer-file.js';
import { parseTraceCsv } from '../sim/csv.js';
import { defaultParams } from '../sim/params.js';
import {
  balancedPolicy,
  kedaPolicy,
  kedaTunedPolicy,
  oraclePolicy,
  originalPolicy,
  originalTunedPolicy,
  oursNaive,
  staticPeakPolicy,
  vpaPolicy,
  vpaTunedPolicy,
} from '../sim/policies/index.js';
import { oursPolicy } from '../sim/policies/ours.js';
import { simulateAll } from '../sim/parallel.js';
import type { PolicySpec } from '../sim/policy.js';
import { simSetup } from '../sim/setup.js';
import { DEFAULT_PREDICTOR } from '../autoscale/predictor.js';
import { Actuation } from '../api/constants.js';
import { actuationOf } from '../api/resolve.js';
import { BASELINE_NAMES, type BaselineName } from './simulate-names.js';
import {
  partitionSeriesCsv,
  renderNotes,
  renderTable,
  totalSeriesCsv,
  type SimulatedPolicy,
} from './simulate-output.js';

export { BASELINE_NAMES } from './simulate-names.js';

export interface SimulateOptions {
  consumer: string;
  traffic: string;
  compare: string;
  /** Write the per-minute series as CSV: totals per policy, or per partition with `seriesPerPartition`. */
  series?: string;
  seriesPerPartition?: boolean;
  /** Write the report's charts (CPU, lag, cost vs lag) for this traffic as one SVG. */
  plot?: string;
  seed: string;
  trueRatePerCore?: string;
}

const baselines: Record<BaselineName, { policy: PolicySpec; legend: string }> = {
  oracle: {
    policy: oraclePolicy,
    legend: 'knows the future, resizes for free: the lowest cost',
  },
  original: { policy: originalPolicy, legend: 'konsumerator v1.2.2 (the Go original) with these settings' },
  'original-tuned': {
    policy: originalTunedPolicy,
    legend: 'the original, tolerableLag × 0.4, pendingScaleUpDuration 1m',
  },
  static: { policy: staticPeakPolicy, legend: "each instance sized once for its partitions' peak + 15 %" },
  vpa: { policy: vpaPolicy, legend: 'a VPA-like recommender on CPU usage (evicts to resize)' },
  'vpa-tuned': {
    policy: vpaTunedPolicy,
    legend: 'VPA-like, no CPU limit, half-life 2 h, p95 target',
  },
  keda: { policy: kedaPolicy, legend: 'KEDA-like: replicas of one group, scaled on total lag' },
  'keda-tuned': {
    policy: kedaTunedPolicy,
    legend: 'KEDA-like, lagThreshold 20 s, 10 min down-stabilisation',
  },
  'in-place': {
    policy: oursPolicy({ id: 'in-place', label: 'in-place', description: '', mode: 'in-place' }),
    legend: 'this Consumer with actuation: InPlaceOrRollout (the default)',
  },
  rollout: {
    policy: oursPolicy({ id: 'rollout', label: 'rollout', description: '', mode: 'restart' }),
    legend: 'this Consumer with actuation: Rollout (each change rolls the pod)',
  },
  naive: { policy: oursNaive, legend: 'this Consumer with predictor: naive' },
  balanced: {
    policy: balancedPolicy,
    legend: 'this Consumer with assignment: Balanced, one replica per 4 partitions',
  },
};

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `cannot read the ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

function positiveNumber(text: string, option: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${option} must be a positive number, got "${text}"`);
  return n;
}

function seedOf(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n))
    throw new Error(`--seed must be an integer ≥ 0, got "${text}"`);
  return n;
}

/** Fails before the run when `file` cannot be written (no such directory, no permission, a directory). */
export function checkWritable(file: string, option: string): void {
  const path = resolve(file);
  try {
    const existing = statSync(path, { throwIfNoEntry: false });
    if (existing?.isDirectory()) throw new Error('is a directory');
    accessSync(existing ? path : dirname(path), constants.W_OK);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`${option} ${file}: cannot write there (${reason})`);
  }
}

/** What simulate-plot.ts offers (declared here: the build must not follow it, see there). */
interface Plotter {
  renderPlot(
    title: string,
    policies: readonly SimulatedPolicy[],
    tolerableLagSeconds: number,
  ): Promise<string>;
}

/** A name the build does not follow: the charts need vega, which only a checkout has. */
const PLOT_MODULE = './simulate-plot.js';

async function loadPlotter(): Promise<Plotter> {
  try {
    return (await import(PLOT_MODULE)) as Plotter;
  } catch (error) {
    throw new Error(
      `--plot needs the charting packages (vega), which only a checkout of konsumerator has: run it there (npm start -- simulate …) (${(error as Error).message.split('\n')[0]})`,
    );
  }
}

/** The policies to run besides the Consumer's own, from --compare. */
function comparedPolicies(list: string): BaselineName[] {
  if (list.trim() === 'none' || list.trim() === '') return [];
  const names = list.split(',').map((name) => name.trim());
  for (const name of names)
    if (!(BASELINE_NAMES as readonly string[]).includes(name))
      throw new Error(`--compare: unknown policy "${name}" (known: ${BASELINE_NAMES.join(', ')}, or none)`);
  return [...new Set(names as BaselineName[])];
}

/** `print` receives everything the command prints (stdout unless given). */
export async function runSimulate(
  options: SimulateOptions,
  print: (text: string) => void = (text) => void process.stdout.write(text),
): Promise<void> {
  const compare = comparedPolicies(options.compare);
  const seed = seedOf(options.seed);
  if (options.series) checkWritable(options.series, '--series');
  if (options.plot) checkWritable(options.plot, '--plot');
  const plotter = options.plot ? await loadPlotter() : undefined;
  if (options.seriesPerPartition && !options.series)
    throw new Error('--series-per-partition needs --series <file>');
  const spec = parseConsumerYaml(read(options.consumer, 'Consumer file'), basename(options.consumer));
  const trace = parseTraceCsv(read(options.traffic, 'traffic file'), basename(options.traffic));
  if (trace.rates.length !== spec.numPartitions)
    throw new Error(
      `${basename(options.traffic)} has ${trace.rates.length} partition columns but the Consumer has numPartitions ${spec.numPartitions}`,
    );
  const setup = simSetup(spec);
  const settings = setup.config.settings;
  const params = defaultParams({
    seed,
    ratePerCore: options.trueRatePerCore
      ? positiveNumber(options.trueRatePerCore, '--true-rate-per-core')
      : settings.ratePerCore,
    tolerableLagMs: settings.tolerableLagMs,
    memoryBaseBytes: 0.2 * settings.ramPerCoreBytes,
    memoryPerBusyCoreBytes: 0.5 * settings.ramPerCoreBytes,
    partitionSeries: options.seriesPerPartition === true,
  });
  const predictor = spec.autoscaler.predictor ?? DEFAULT_PREDICTOR;
  const actuation = actuationOf(spec);
  const inPlace = actuation !== Actuation.rollout;
  const ours = oursPolicy({
    id: 'consumer',
    label: 'ours',
    description: '',
    mode: inPlace ? 'in-place' : 'restart',
  });
  const runs = [
    {
      name: 'ours',
      legend: `this Consumer: predictor ${predictor}, actuation ${actuation}`,
      policy: ours,
    },
    ...compare.map((name) => ({ name, ...baselines[name] })),
  ];
  // On every core when the run is large enough (parallel.ts); the results are the same.
  const simulated = await simulateAll(runs.map(({ policy }) => ({ trace, spec, params, policy })));
  const results: SimulatedPolicy[] = runs.map(({ name, legend }, i) => ({
    name,
    legend,
    result: simulated[i]!,
  }));
  const hours = trace.durationMs / 3_600_000;
  print(
    `${trace.rates.length} partitions in ${setup.buckets.length} instances, ${hours.toFixed(1)} h of traffic from ${basename(options.traffic)}\n` +
      `tolerableLag ${settings.tolerableLagMs / 1000} s, ratePerCore ${settings.ratePerCore}` +
      (params.ratePerCore !== settings.ratePerCore ? ` (true: ${params.ratePerCore})` : '') +
      `, seed ${params.seed}, learnRatePerCore ${setup.config.learnCapacity ? 'on' : 'off'}\n\n`,
  );
  print(renderTable(results) + '\n');
  const notes = renderNotes(results, settings.tolerableLagMs / 1000);
  if (notes) print('\n' + notes + '\n');
  if (options.series) {
    writeLines(
      options.series,
      options.seriesPerPartition ? partitionSeriesCsv(results, trace) : totalSeriesCsv(results),
    );
    print(
      `\n${options.seriesPerPartition ? 'per-partition' : 'total'} time series (per minute) written to ${options.series}\n`,
    );
  }
  if (plotter) {
    writeLines(options.plot!, [
      await plotter.renderPlot(basename(options.traffic), results, settings.tolerableLagMs / 1000),
    ]);
    print(`charts written to ${options.plot}\n`);
  }
}

/** Writes the chunks one after the other (a per-partition series can be far larger than a string). */
function writeLines(file: string, chunks: Iterable<string>): void {
  const fd = openSync(file, 'w');
  try {
    for (const chunk of chunks) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}
