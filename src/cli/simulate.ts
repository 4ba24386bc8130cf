// `konsumerator simulate`: replay a user's own traffic (CSV of per-partition production rates)
// against their Consumer's settings in the closed-loop simulator, and print what it would cost,
// how much lag it would let through and how often it would restart pods — before deploying.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseConsumerYaml } from '../sim/consumer-file.js';
import { parseTraceCsv } from '../sim/csv.js';
import { defaultParams } from '../sim/params.js';
import {
  kedaPolicy,
  oraclePolicy,
  originalPolicy,
  originalTunedPolicy,
  oursInPlace,
  oursNaive,
  staticPeakPolicy,
  vpaPolicy,
} from '../sim/policies/index.js';
import { oursPolicy } from '../sim/policies/ours.js';
import { simulateAll } from '../sim/parallel.js';
import type { PolicySpec } from '../sim/policy.js';
import type { SimResult } from '../sim/run.js';
import { simSetup } from '../sim/setup.js';
import { DEFAULT_PREDICTOR } from '../autoscale/predictor.js';
import { table } from './table.js';
import { BASELINE_NAMES, type BaselineName } from './simulate-names.js';

export { BASELINE_NAMES } from './simulate-names.js';

export interface SimulateOptions {
  consumer: string;
  traffic: string;
  compare: string;
  series?: string;
  seed: string;
  trueRatePerCore?: string;
}

const baselines: Record<BaselineName, PolicySpec> = {
  oracle: oraclePolicy,
  original: originalPolicy,
  'original-tuned': originalTunedPolicy,
  static: staticPeakPolicy,
  vpa: vpaPolicy,
  keda: kedaPolicy,
  'in-place': oursInPlace,
  naive: oursNaive,
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

export async function runSimulate(options: SimulateOptions): Promise<void> {
  const spec = parseConsumerYaml(read(options.consumer, 'Consumer file'), basename(options.consumer));
  const trace = parseTraceCsv(read(options.traffic, 'traffic file'), basename(options.traffic));
  if (trace.rates.length !== spec.numPartitions)
    throw new Error(
      `${basename(options.traffic)} has ${trace.rates.length} partition columns but the Consumer has numPartitions ${spec.numPartitions}`,
    );
  const setup = simSetup(spec);
  const settings = setup.config.settings;
  const compare =
    options.compare === 'none' || options.compare === ''
      ? []
      : options.compare.split(',').map((name) => {
          const known = (BASELINE_NAMES as readonly string[]).includes(name.trim());
          const policy = known ? baselines[name.trim() as BaselineName] : undefined;
          if (!policy)
            throw new Error(
              `--compare: unknown policy "${name}" (known: ${BASELINE_NAMES.join(', ')}, or none)`,
            );
          return policy;
        });
  const params = defaultParams({
    seed: Math.trunc(positiveNumber(options.seed, '--seed')),
    ratePerCore: options.trueRatePerCore
      ? positiveNumber(options.trueRatePerCore, '--true-rate-per-core')
      : settings.ratePerCore,
    tolerableLagMs: settings.tolerableLagMs,
    memoryBaseBytes: 0.2 * settings.ramPerCoreBytes,
    memoryPerBusyCoreBytes: 0.5 * settings.ramPerCoreBytes,
  });
  const predictor = spec.autoscaler.predictor ?? DEFAULT_PREDICTOR;
  const ours = oursPolicy({
    id: 'consumer',
    label: `this Consumer (predictor ${predictor})`,
    description: '',
    mode: 'restart',
  });
  const policies = [ours, ...compare.filter((p) => p !== ours)];
  // On every core when the run is large enough (parallel.ts); the results are the same.
  const simulated = await simulateAll(policies.map((policy) => ({ trace, spec, params, policy })));
  const results = policies.map((policy, i) => ({ policy, result: simulated[i]! }));
  const oracle = results.find((r) => r.policy.id === 'oracle')?.result;
  const hours = trace.durationMs / 3_600_000;
  process.stdout.write(
    `${trace.rates.length} partitions in ${setup.buckets.length} instances, ${hours.toFixed(1)} h of traffic from ${basename(options.traffic)}; ` +
      `tolerableLag ${settings.tolerableLagMs / 1000} s, ratePerCore ${settings.ratePerCore}` +
      (params.ratePerCore !== settings.ratePerCore ? ` (true: ${params.ratePerCore})` : '') +
      `, seed ${params.seed}\n\n`,
  );
  const rows = results.map(({ policy, result }) => row(policy.label, result, oracle));
  process.stdout.write(
    table(
      [
        'POLICY',
        'CORE-HOURS',
        'VS-ORACLE',
        'GIB-HOURS',
        'WITHIN-TOLERABLE-LAG',
        'P99-LAG',
        'MAX-LAG',
        'RESTARTS/PARTITION-DAY',
        'SCALE-ACTIONS',
        'OOM-KILLS',
      ],
      rows,
    ) + '\n',
  );
  if (options.series) {
    const lines = ['policy,time_s,cpu_cores,memory_gib,max_lag_s'];
    for (const { policy, result } of results)
      for (const p of result.series)
        lines.push(
          [
            policy.id,
            (p.timeMs / 1000).toFixed(0),
            p.cpuCores.toFixed(3),
            p.memoryGiB.toFixed(3),
            p.maxLagSeconds.toFixed(1),
          ].join(','),
        );
    writeFileSync(options.series, lines.join('\n') + '\n');
    process.stdout.write(`\ntime series (per minute) written to ${options.series}\n`);
  }
}

function row(label: string, result: SimResult, oracle: SimResult | undefined): string[] {
  const f = result.figures;
  return [
    label,
    f.coreHours.toFixed(1),
    oracle ? `${(f.coreHours / oracle.figures.coreHours).toFixed(2)}×` : '-',
    f.gibHours.toFixed(1),
    `${(100 * (1 - f.sloViolationShare)).toFixed(2)} %`,
    `${f.p99LagSeconds.toFixed(0)} s`,
    `${f.maxLagSeconds.toFixed(0)} s`,
    f.restartsPerPartitionDay.toFixed(1),
    String(f.scaleActions),
    String(f.oomKills),
  ];
}
