// What `konsumerator simulate` prints and writes: a table that fits a terminal (short policy names,
// a legend below it), notes that explain the outliers (restarts by cause, OOM kills, the worst
// lag), and the per-minute series as CSV. Pure: results in, text out.
import { combinedCost } from '../sim/cost.js';
import type { SimResult } from '../sim/run.js';
import type { Trace } from '../sim/trace.js';
import { table } from './table.js';

export interface SimulatedPolicy {
  /** Short name: the table's first column, the series' policy column, the plot's legend. */
  name: string;
  /** What the policy is, for the legend. */
  legend: string;
  result: SimResult;
}

/** A duration in the unit that keeps it short: 45s, 12m, 3.4h. */
export function shortDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  if (seconds < 100) return `${seconds.toFixed(0)}s`;
  if (seconds < 100 * 60) return `${(seconds / 60).toFixed(0)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}

const ratio = (value: number, oracle: number | undefined) =>
  oracle === undefined || !(oracle > 0) ? '-' : `${(value / oracle).toFixed(2)}×`;

export const TABLE_COLUMNS = [
  ['POLICY', 'the policy (legend below)'],
  ['CORE-H', 'core-hours: the CPU requested, summed over time'],
  ['CPU×', 'core-hours / the oracle’s'],
  ['MEM×', 'GiB-hours (memory requested over time) / the oracle’s'],
  ['COST×', '(core-hours × 8 + GiB-hours) / the oracle’s'],
  ['IN-LAG', '% of partition-minutes with a lag within tolerableLag'],
  ['P99', '99th percentile of the lag (partition-minutes)'],
  ['MAX', 'the largest lag'],
  ['RST/PD', 'restarts per partition-day (causes in the notes)'],
  ['OOM', 'OOM kills'],
] as const;

/** The table: one row per policy, then the legend of policies and columns. */
export function renderTable(policies: readonly SimulatedPolicy[]): string {
  const oracle = policies.find((p) => p.name === 'oracle')?.result.figures;
  const rows = policies.map(({ name, result }) => {
    const f = result.figures;
    return [
      name,
      f.coreHours.toFixed(1),
      ratio(f.coreHours, oracle?.coreHours),
      ratio(f.gibHours, oracle?.gibHours),
      ratio(combinedCost(f), oracle ? combinedCost(oracle) : undefined),
      `${(100 * (1 - f.sloViolationShare)).toFixed(2)}%`,
      shortDuration(f.p99LagSeconds),
      shortDuration(f.maxLagSeconds),
      f.restartsPerPartitionDay.toFixed(1),
      String(f.oomKills),
    ];
  });
  const width = Math.max(...policies.map((p) => p.name.length), 'POLICY'.length);
  const legend = policies.map((p) => `  ${p.name.padEnd(width)}  ${p.legend}`);
  const columns = TABLE_COLUMNS.slice(1).map(([column, meaning]) => `  ${column.padEnd(width)}  ${meaning}`);
  return [
    table(
      TABLE_COLUMNS.map(([column]) => column),
      rows,
    ),
    '',
    'Policies:',
    ...legend,
    ...(oracle ? [] : ['  (no oracle in --compare: the × columns need it)']),
    'Columns:',
    ...columns,
  ].join('\n');
}

/** A rate per partition-day: a rare cause still shows (0.04, not 0.0). */
const perDay = (rate: number) => rate.toFixed(rate > 0 && rate < 0.1 ? 2 : 1);

/** The partition and minute of the largest lag (the first when several are equal). */
function worstLag(result: SimResult): { partition: number; minute: number; seconds: number } {
  let worst = { partition: 0, minute: 0, seconds: 0 };
  result.lagByMinute.forEach((series, partition) => {
    for (let minute = 0; minute < series.length; minute++)
      if (series[minute]! > worst.seconds) worst = { partition, minute, seconds: series[minute]! };
  });
  return worst;
}

/**
 * Why a row stands out, one line per policy that has something to explain: its restarts by cause
 * and the worst lag when it went above tolerableLag.
 */
export function renderNotes(policies: readonly SimulatedPolicy[], tolerableLagSeconds: number): string {
  const lines: string[] = [];
  for (const { name, result } of policies) {
    const f = result.figures;
    const parts: string[] = [];
    const by = f.restartsByCause;
    const causes = [
      [by.rollout, 'restarts to apply a new size (rollout or eviction)'],
      [by.fallback, 'rollouts after a node deferred an in-place resize too long'],
      [by.oom, `from ${f.oomKills} OOM kill${f.oomKills === 1 ? '' : 's'} (memory in use above the limit)`],
      [by.rebalance, 'rebalances (a replica added or removed stops the whole group)'],
    ] as const;
    const present = causes.filter(([rate]) => rate > 0);
    if (present.length > 0)
      parts.push(
        `${perDay(f.restartsPerPartitionDay)} restarts/partition-day = ` +
          present.map(([rate, what]) => `${perDay(rate)} ${what}`).join(' + '),
      );
    if (f.maxLagSeconds > tolerableLagSeconds) {
      const worst = worstLag(result);
      parts.push(
        `worst lag ${shortDuration(worst.seconds)} on partition ${worst.partition} at ${(worst.minute / 60).toFixed(1)} h`,
      );
    }
    if (parts.length > 0)
      lines.push(...wrap(`${name}: ${parts.join('; ')}`, 76).map((l, i) => (i === 0 ? '  ' : '    ') + l));
  }
  return lines.length > 0 ? ['Notes:', ...lines].join('\n') : '';
}

/** Lines of at most `width` characters, broken at spaces. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The per-minute totals of every policy: CPU and memory requested, the worst partition's lag. */
export function* totalSeriesCsv(policies: readonly SimulatedPolicy[]): Generator<string> {
  yield 'policy,time_s,cpu_cores,memory_gib,max_lag_s\n';
  for (const { name, result } of policies)
    for (const p of result.series)
      yield `${name},${(p.timeMs / 1000).toFixed(0)},${p.cpuCores.toFixed(3)},${p.memoryGiB.toFixed(3)},${p.maxLagSeconds.toFixed(1)}\n`;
}

/**
 * One row per policy, minute and partition (time_s: the minute's end, as in the totals): the
 * partition's production at the start of the minute, what its pod requested (averaged over the minute; a pod of several partitions counts for
 * each of them) and its worst lag. The results must come from a run with `partitionSeries`.
 */
export function* partitionSeriesCsv(policies: readonly SimulatedPolicy[], trace: Trace): Generator<string> {
  yield 'policy,time_s,partition,production_msg_s,pod_cpu_cores,pod_memory_gib,lag_s\n';
  for (const { name, result } of policies) {
    const minutes = result.lagByMinute[0]?.length ?? 0;
    for (let minute = 0; minute < minutes; minute++) {
      const rows: string[] = [];
      for (let p = 0; p < result.lagByMinute.length; p++) {
        const rate =
          trace.rates[p]![
            Math.min(trace.rates[p]!.length - 1, Math.floor((minute * 60_000) / trace.stepMs))
          ]!;
        rows.push(
          `${name},${(minute + 1) * 60},${p},${rate.toFixed(2)},${result.cpuByMinute[p]![minute]!.toFixed(3)},${result.memoryByMinute[p]![minute]!.toFixed(3)},${result.lagByMinute[p]![minute]!.toFixed(1)}\n`,
        );
      }
      yield rows.join('');
    }
  }
}
