// The robustness table: every trace with a Consumer whose ratePerCore is wrong (the real capacity
// per core at a multiple of the setting), our default policy with capacity learning on and off,
// against the oracle (which knows the real capacity), uncapped and held to the Consumer's
// maxAllowed. Pure computation, as benchmark.ts.
import { benchmarkConsumer } from './bench-consumer.js';
import { defaultParams } from './params.js';
import { oraclePolicy, oracleWithinMaxAllowed } from './policies/oracle.js';
import { oursPolicy } from './policies/ours.js';
import type { PolicySpec } from './policy.js';
import { simulateAll, type SimJob } from './parallel.js';
import { combinedCost } from './cost.js';
import { DEFAULT_TRACE_OPTIONS, traceGenerators } from './traces.js';

/** Real capacity per core ÷ the Consumer's ratePerCore. */
export const CAPACITY_FACTORS = [0.5, 0.7, 1, 1.5, 2] as const;

export interface RobustnessRow {
  trace: string;
  factor: number;
  learning: boolean;
  withinSloPercent: number;
  /**
   * The oracle's own share on the same trace and capacity: below 100 % where no CPU helps (a
   * stalled partition), so a ceiling for any policy there; one the policy's maxAllowed may keep out
   * of reach (the oracle has none).
   */
  oracleWithinSloPercent?: number;
  /**
   * The same oracle with its CPU request and limit held to the Consumer's maxAllowed: the most an
   * autoscaler held to that maxAllowed can reach (unset in files written before it was recorded).
   */
  maxAllowedOracleWithinSloPercent?: number;
  /** Core-hours ÷ the oracle's (which knows the real capacity). */
  coreHoursRatio: number;
  /**
   * The same with learning off and ratePerCore set to the real capacity: what a user who had
   * measured it would pay. Learning can do better: per requested core it learns what pods really
   * get, node headroom included.
   */
  setRightCoreHoursRatio?: number;
  costRatio: number;
  restartsPerPartitionDay: number;
  oomKills: number;
}

export interface RobustnessResults {
  seed: number;
  configuredRatePerCore: number;
  rows: RobustnessRow[];
  elapsedSeconds: number;
}

const learningPolicy = (learn: boolean): PolicySpec =>
  oursPolicy({
    id: learn ? 'ours-learning' : 'ours-fixed',
    label: learn ? 'Ours, learning on' : 'Ours, learning off',
    description: '',
    mode: 'in-place',
    learnCapacity: learn,
  });

export async function runRobustness(
  options: { seed?: number; traces?: string[]; factors?: readonly number[]; threads?: number } = {},
): Promise<RobustnessResults> {
  const started = Date.now();
  const seed = options.seed ?? DEFAULT_TRACE_OPTIONS.seed;
  const configured = defaultParams({ seed }).ratePerCore;
  const factors = options.factors ?? CAPACITY_FACTORS;
  const names = options.traces ?? Object.keys(traceGenerators);
  // Per trace and factor: the oracle, the oracle within maxAllowed, learning off, learning on,
  // and learning off with the setting right (the Consumer says the real capacity; at factor 1
  // that is the learning-off run).
  const fixed = learningPolicy(false);
  const learning = learningPolicy(true);
  const jobs: SimJob[] = [];
  const cells: {
    oracle: number;
    cappedOracle: number;
    off: number;
    on: number;
    setRight: number;
    factor: number;
  }[] = [];
  for (const name of names) {
    const generate = traceGenerators[name];
    if (!generate) throw new Error(`unknown trace "${name}"`);
    const trace = generate({ ...DEFAULT_TRACE_OPTIONS, seed });
    for (const factor of factors) {
      const params = defaultParams({ seed, ratePerCore: configured * factor });
      const job = (policy: PolicySpec, ratePerCore: number) =>
        jobs.push({ trace, spec: benchmarkConsumer(trace.rates.length, ratePerCore), params, policy }) - 1;
      const oracle = job(oraclePolicy, configured);
      const cappedOracle = job(oracleWithinMaxAllowed, configured);
      const off = job(fixed, configured);
      const on = job(learning, configured);
      const setRight = params.ratePerCore === configured ? off : job(fixed, params.ratePerCore);
      cells.push({ oracle, cappedOracle, off, on, setRight, factor });
    }
  }
  const all = await simulateAll(jobs, options.threads !== undefined ? { threads: options.threads } : {});
  const rows: RobustnessRow[] = [];
  for (const cell of cells) {
    const oracle = all[cell.oracle]!.figures;
    const cappedOracle = all[cell.cappedOracle]!.figures;
    const setRight = all[cell.setRight]!.figures;
    for (const index of [cell.off, cell.on]) {
      const f = all[index]!.figures;
      rows.push({
        trace: jobs[index]!.trace.name,
        factor: cell.factor,
        learning: index === cell.on,
        withinSloPercent: 100 * (1 - f.sloViolationShare),
        oracleWithinSloPercent: 100 * (1 - oracle.sloViolationShare),
        maxAllowedOracleWithinSloPercent: 100 * (1 - cappedOracle.sloViolationShare),
        coreHoursRatio: f.coreHours / oracle.coreHours,
        setRightCoreHoursRatio: setRight.coreHours / oracle.coreHours,
        costRatio: combinedCost(f) / combinedCost(oracle),
        restartsPerPartitionDay: f.restartsPerPartitionDay,
        oomKills: f.oomKills,
      });
    }
  }
  return { seed, configuredRatePerCore: configured, rows, elapsedSeconds: (Date.now() - started) / 1000 };
}

/** The table for the report: one line per trace and real capacity, learning off → on. */
export function renderRobustness(results: RobustnessResults): string {
  const lines = [
    `The benchmark Consumer says ratePerCore ${results.configuredRatePerCore}; the simulated pods really process ` +
      'that many times the factor. Each cell: learning off → on (`autoscaler.learnRatePerCore: false` → on, the default); core-hours are ' +
      'relative to the oracle, which knows the real capacity. The oracle column is its own share within ' +
      'tolerableLag: a ceiling for any policy on that trace (a stalled partition lags whatever its CPU). It ' +
      "ignores the Consumer's maxAllowed and drains a stall's backlog within one step. " +
      '"Oracle within maxAllowed" is the same oracle with its CPU request and limit held to maxAllowed, as ' +
      "every policy's are: it drains a stall's backlog more slowly, and its share is the most a policy held " +
      'to that maxAllowed can reach. ' +
      '"Set right" is learning off with ratePerCore set to the real capacity: what a user who measured it pays.',
    '',
    '| trace | real ÷ set | within tolerableLag | oracle | oracle within maxAllowed | core-hours vs oracle | set right | restarts / partition-day | OOM kills |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const key = (r: RobustnessRow) => `${r.trace}/${r.factor}`;
  const off = new Map(results.rows.filter((r) => !r.learning).map((r) => [key(r), r]));
  const share = (x: number | undefined) => (x === undefined ? '—' : `${x.toFixed(2)} %`);
  const ratio = (x: number | undefined) => (x === undefined ? '—' : `${x.toFixed(2)}×`);
  const pair = (a: number, b: number, digits: number, unit = '') =>
    `${a.toFixed(digits)}${unit} → ${b.toFixed(digits)}${unit}`;
  for (const on of results.rows.filter((r) => r.learning)) {
    const o = off.get(key(on))!;
    lines.push(
      `| ${on.trace} | ${on.factor}× | ${pair(o.withinSloPercent, on.withinSloPercent, 2, ' %')} | ${share(on.oracleWithinSloPercent)} | ` +
        `${share(on.maxAllowedOracleWithinSloPercent)} | ` +
        `${pair(o.coreHoursRatio, on.coreHoursRatio, 2, '×')} | ${ratio(on.setRightCoreHoursRatio)} | ` +
        `${pair(o.restartsPerPartitionDay, on.restartsPerPartitionDay, 1)} | ` +
        `${o.oomKills} → ${on.oomKills} |`,
    );
  }
  const on = results.rows.filter((r) => r.learning && r.factor !== 1);
  if (on.length > 0) {
    const worstSlo = on.reduce((a, b) => (b.withinSloPercent < a.withinSloPercent ? b : a));
    const worstCost = on.reduce((a, b) => (b.coreHoursRatio > a.coreHoursRatio ? b : a));
    lines.push(
      '',
      `With learning on and ratePerCore set wrong, the lowest share within tolerableLag is ` +
        `${worstSlo.withinSloPercent.toFixed(2)} % (${worstSlo.trace}, ${worstSlo.factor}×` +
        (worstSlo.oracleWithinSloPercent !== undefined
          ? `, where the oracle reaches ${worstSlo.oracleWithinSloPercent.toFixed(2)} %` +
            (worstSlo.maxAllowedOracleWithinSloPercent !== undefined
              ? `, ${worstSlo.maxAllowedOracleWithinSloPercent.toFixed(2)} % within maxAllowed`
              : '')
          : '') +
        `) and the highest ` +
        `core-hours ${worstCost.coreHoursRatio.toFixed(2)}× the oracle's (${worstCost.trace}, ${worstCost.factor}×` +
        (worstCost.setRightCoreHoursRatio !== undefined
          ? `, where the setting right costs ${worstCost.setRightCoreHoursRatio.toFixed(2)}×`
          : '') +
        ').',
    );
    const compared = on.filter((r) => r.setRightCoreHoursRatio !== undefined);
    if (compared.length > 0) {
      // Compared as shown, to two decimals.
      const cents = (x: number) => Math.round(x * 100);
      const dearer = compared.filter((r) => cents(r.coreHoursRatio) > cents(r.setRightCoreHoursRatio!));
      const most = Math.max(
        0,
        ...dearer.map((r) => cents(r.coreHoursRatio) - cents(r.setRightCoreHoursRatio!)),
      );
      lines.push(
        '',
        `Learning on costs more core-hours than the setting right in ${dearer.length} of ${compared.length} cells ` +
          `with ratePerCore set wrong` +
          (dearer.length > 0 ? ` (by at most ${(most / 100).toFixed(2)}× the oracle's core-hours).` : '.'),
      );
    }
  }
  const short = shortOfCeiling(results.rows);
  if (short) lines.push('', short);
  return lines.join('\n');
}

/** Below this share within tolerableLag, the summary sets learning on beside its reachable ceiling. */
const SHORT_PERCENT = 99.5;

/**
 * Where learning on keeps less than SHORT_PERCENT within tolerableLag: how far below the oracle
 * within maxAllowed it stays (the gap a better policy could close), compared as shown, to two
 * decimals. Undefined when there is no such cell with that oracle recorded.
 */
function shortOfCeiling(rows: readonly RobustnessRow[]): string | undefined {
  const learning = rows.filter((r) => r.learning);
  const short = learning.filter(
    (r) => r.withinSloPercent < SHORT_PERCENT && r.maxAllowedOracleWithinSloPercent !== undefined,
  );
  if (short.length === 0) return undefined;
  const cents = (x: number) => Math.round(Number(x.toFixed(2)) * 100); // as the table shows it
  const gaps = short.map((r) => cents(r.maxAllowedOracleWithinSloPercent!) - cents(r.withinSloPercent));
  const ceilings = short.map((r) => r.maxAllowedOracleWithinSloPercent!);
  const range = (values: number[], toText: (x: number) => string) => {
    const [low, high] = [toText(Math.min(...values)), toText(Math.max(...values))];
    return low === high ? low : `${low}–${high}`;
  };
  const traces = [...new Set(short.map((r) => r.trace))].join(', ');
  return (
    `Where learning on keeps less than ${SHORT_PERCENT} % within tolerableLag (${short.length} of ` +
    `${learning.length} cells: ${traces}), the oracle within maxAllowed reaches ` +
    `${range(ceilings, (x) => x.toFixed(2))} %, and learning on is ` +
    `${range(gaps, (x) => (x / 100).toFixed(2))} percentage points below it.`
  );
}
