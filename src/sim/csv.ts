// A user's own traffic as a trace. The format (docs/simulator.md):
//
//   time,0,1,2          ← header: "time", then one column per partition number
//   0,120,40,7          ← seconds since the start (or an ISO-8601 timestamp), msg/s per partition
//   60,130,38,9
//
// Lines starting with # and blank lines are ignored. A rate holds until the next row; the last
// row holds for the smallest interval between two rows. Every problem names its line.
import type { Trace } from './trace.js';

export class TraceCsvError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'TraceCsvError';
  }
}

const MAX_STEPS = 2_000_000;

function parseTime(text: string, line: number): number {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new TraceCsvError(
    `time "${text}" is neither seconds since the start nor an ISO-8601 timestamp (2026-01-31T12:00:00Z)`,
    line,
  );
}

/**
 * The name every trace read from a CSV gets. The throughput noise is seeded by (seed, trace name),
 * so the same traffic gives the same figures whatever its file is called; the file's name is the
 * trace's title.
 */
export const CSV_TRACE_NAME = 'traffic';

export function parseTraceCsv(text: string, title = 'csv'): Trace {
  const lines = text.split(/\r?\n/).map((l, i) => ({ text: l.trim(), number: i + 1 }));
  const rows = lines.filter((l) => l.text !== '' && !l.text.startsWith('#'));
  if (rows.length === 0)
    throw new TraceCsvError('the file is empty: expected a header "time,0,1,…" and rows');
  const header = rows[0]!;
  const columns = header.text.split(',').map((c) => c.trim());
  if (columns[0]!.toLowerCase() !== 'time')
    throw new TraceCsvError(`the first column must be "time", got "${columns[0]}"`, header.number);
  if (columns.length < 2)
    throw new TraceCsvError('the header names no partition column (time,0,1,…)', header.number);
  const partitions = columns.slice(1).map((c) => {
    if (!/^\d+$/.test(c)) throw new TraceCsvError(`column "${c}" is not a partition number`, header.number);
    return Number(c);
  });
  const sorted = [...partitions].sort((a, b) => a - b);
  sorted.forEach((p, i) => {
    if (p !== i)
      throw new TraceCsvError(
        `the partition columns must be 0..${partitions.length - 1}, each once (found ${sorted.join(',')})`,
        header.number,
      );
  });
  if (rows.length < 2) throw new TraceCsvError('there are no data rows after the header', header.number);

  const times: number[] = [];
  const values: Float64Array[] = [];
  for (const row of rows.slice(1)) {
    const cells = row.text.split(',');
    if (cells.length !== columns.length)
      throw new TraceCsvError(
        `expected ${columns.length} values (as the header), got ${cells.length}`,
        row.number,
      );
    const time = parseTime(cells[0]!.trim(), row.number);
    if (times.length > 0 && time <= times[times.length - 1]!)
      throw new TraceCsvError('times must increase from row to row', row.number);
    times.push(time);
    const rates = new Float64Array(partitions.length);
    for (let i = 1; i < cells.length; i++) {
      // Number() ignores the same surrounding blanks as trim(); only a blank cell reads as 0.
      const cell = cells[i]!;
      const v = Number(cell);
      if (!Number.isFinite(v) || v < 0 || (v === 0 && cell.trim() === ''))
        throw new TraceCsvError(
          `the rate of partition ${partitions[i - 1]} must be a number ≥ 0 (msg/s), got "${cell.trim()}"`,
          row.number,
        );
      rates[i - 1] = v;
    }
    values.push(rates);
  }
  const start = times[0]!;
  const offsets = times.map((t) => t - start);
  let stepMs = Infinity;
  for (let i = 1; i < offsets.length; i++) stepMs = Math.min(stepMs, offsets[i]! - offsets[i - 1]!);
  if (!Number.isFinite(stepMs)) stepMs = 60_000; // a single row: one minute of traffic
  if (stepMs < 1000) throw new TraceCsvError('rows must be at least 1 second apart');
  const durationMs = offsets[offsets.length - 1]! + stepMs;
  const steps = Math.ceil(durationMs / stepMs);
  if (steps > MAX_STEPS)
    throw new TraceCsvError(
      `${steps} steps of ${stepMs / 1000} s: too long or too fine (at most ${MAX_STEPS}); use coarser rows`,
    );
  const rates = partitions.map(() => new Float64Array(steps));
  let row = 0;
  for (let i = 0; i < steps; i++) {
    const t = i * stepMs;
    while (row + 1 < offsets.length && offsets[row + 1]! <= t) row++;
    const rowRates = values[row]!;
    for (let column = 0; column < partitions.length; column++)
      rates[partitions[column]!]![i] = rowRates[column]!;
  }
  return {
    name: CSV_TRACE_NAME,
    title,
    description: `User traffic from ${title}: ${partitions.length} partitions, ${offsets.length} rows.`,
    stepMs,
    durationMs: steps * stepMs,
    rates,
    stalls: [],
    gaps: [],
  };
}

/** A trace as CSV in the same format (for `--write-trace` and the docs' examples). */
export function traceToCsv(trace: Trace): string {
  const header = ['time', ...trace.rates.map((_, p) => String(p))].join(',');
  const steps = trace.rates[0]?.length ?? 0;
  const lines = [header];
  for (let i = 0; i < steps; i++)
    lines.push([String((i * trace.stepMs) / 1000), ...trace.rates.map((r) => r[i]!.toFixed(2))].join(','));
  return lines.join('\n') + '\n';
}
