// `konsumerator export-traffic`: a topic's production rate per partition over a past period, from
// Prometheus (kafka_exporter's log-end offsets by default, or any query with one series per
// partition), written as the CSV `konsumerator simulate --traffic` reads: `time,0,1,...` with ISO
// times and msg/s. Range queries are split to stay under Prometheus' 11,000 points per series.
import { writeFileSync, readFileSync } from 'node:fs';
import { parseDuration } from '../util/units.js';

export interface ExportTrafficOptions {
  prometheus: string;
  topic?: string;
  query?: string;
  partitionLabel: string;
  since: string;
  until?: string;
  step: string;
  rateWindow?: string;
  partitions?: string;
  header?: string[];
  bearerTokenFile?: string;
  out?: string;
}

const MAX_POINTS_PER_QUERY = 10_000;

/** Go-style duration text for PromQL (whole seconds). */
const promDuration = (ms: number) => `${Math.max(1, Math.round(ms / 1000))}s`;

/** The production rate query of kafka_exporter for `topic`. */
export function productionQuery(topic: string, rateWindowMs: number): string {
  if (!/^[a-zA-Z0-9._-]+$/.test(topic))
    throw new Error(`--topic: not a Kafka topic name: ${JSON.stringify(topic)}`);
  return `sum by (partition) (rate(kafka_topic_partition_current_offset{topic="${topic}"}[${promDuration(rateWindowMs)}]))`;
}

interface Series {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

function headersFrom(options: ExportTrafficOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of options.header ?? []) {
    const at = h.indexOf(':');
    if (at <= 0) throw new Error(`--header must be "Name: value", got ${JSON.stringify(h)}`);
    headers[h.slice(0, at).trim()] = h.slice(at + 1).trim();
  }
  if (options.bearerTokenFile)
    headers.authorization = `Bearer ${readFileSync(options.bearerTokenFile, 'utf8').trim()}`;
  return headers;
}

async function queryRange(
  base: string,
  query: string,
  startS: number,
  endS: number,
  stepS: number,
  headers: Record<string, string>,
): Promise<Series[]> {
  const url = new URL(`${base.replace(/\/+$/, '')}/api/v1/query_range`);
  const body = new URLSearchParams({ query, start: String(startS), end: String(endS), step: String(stepS) });
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  let parsed: { status?: string; error?: string; data?: { resultType?: string; result?: Series[] } };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new Error(`${url.origin}: HTTP ${response.status}, not a Prometheus API answer`);
  }
  if (parsed.status !== 'success')
    throw new Error(`${url.origin}: HTTP ${response.status}: ${parsed.error ?? 'query failed'}`);
  if (parsed.data?.resultType !== 'matrix')
    throw new Error(`expected a matrix, got ${parsed.data?.resultType}`);
  return parsed.data.result ?? [];
}

export interface TrafficTable {
  /** Unix seconds of each row. */
  times: number[];
  /** rates[partition][row], msg/s. */
  rates: number[][];
  /** Rows without a value for a partition (filled with its previous value, or 0 at the start). */
  filled: number;
  warnings: string[];
}

/** Series by partition → one row per step; a missing value repeats the previous one (0 at first). */
export function toTable(
  series: readonly Series[],
  partitionLabel: string,
  times: readonly number[],
  partitions?: number,
): TrafficTable {
  const warnings: string[] = [];
  const byPartition = new Map<number, Map<number, number>>();
  for (const s of series) {
    const label = s.metric[partitionLabel];
    if (label === undefined || !/^(0|[1-9][0-9]{0,5})$/.test(label)) {
      warnings.push(`a series without a partition number in label ${partitionLabel} was skipped`);
      continue;
    }
    const values = byPartition.get(Number(label)) ?? new Map<number, number>();
    for (const [t, v] of s.values) {
      const n = Number(v);
      if (Number.isFinite(n) && n >= 0) values.set(Math.round(t), n);
    }
    byPartition.set(Number(label), values);
  }
  const count = partitions ?? (byPartition.size ? Math.max(...byPartition.keys()) + 1 : 0);
  if (count === 0) throw new Error('the query returned no series with a partition label: nothing to export');
  for (const p of byPartition.keys())
    if (p >= count) warnings.push(`partition ${p} is beyond --partitions ${count} and was left out`);
  let filled = 0;
  const rates = Array.from({ length: count }, (_, p) => {
    const values = byPartition.get(p);
    let last = 0;
    return times.map((t) => {
      const v = values?.get(t);
      if (v === undefined) {
        filled++;
        return last;
      }
      last = v;
      return v;
    });
  });
  return { times: [...times], rates, filled, warnings: [...new Set(warnings)] };
}

export function toCsv(table: TrafficTable): string {
  const header = ['time', ...table.rates.map((_, p) => String(p))].join(',');
  const round = (n: number) => String(Math.round(n * 1000) / 1000);
  const rows = table.times.map((t, i) =>
    [new Date(t * 1000).toISOString(), ...table.rates.map((r) => round(r[i]!))].join(','),
  );
  return `# msg/s produced per partition, exported by konsumerator export-traffic\n${header}\n${rows.join('\n')}\n`;
}

export async function runExportTraffic(options: ExportTrafficOptions): Promise<void> {
  const stepS = parseDuration(options.step) / 1000;
  if (!(stepS >= 1)) throw new Error('--step must be at least 1s');
  const endS = Math.floor((options.until ? Date.parse(options.until) : Date.now()) / 1000);
  if (!Number.isFinite(endS)) throw new Error(`--until: not an ISO-8601 time: ${options.until}`);
  const startS = endS - Math.floor(parseDuration(options.since) / 1000);
  if (!(startS < endS)) throw new Error('--since must be longer than --step');
  const rateWindowMs = options.rateWindow
    ? parseDuration(options.rateWindow)
    : Math.max(120_000, 2 * stepS * 1000);
  if (!options.query && !options.topic) throw new Error('give --topic (kafka_exporter) or --query');
  const query = options.query ?? productionQuery(options.topic!, rateWindowMs);
  const partitions = options.partitions !== undefined ? Number(options.partitions) : undefined;
  if (partitions !== undefined && !(Number.isInteger(partitions) && partitions > 0))
    throw new Error('--partitions must be a positive whole number');
  const headers = headersFrom(options);

  const first = Math.ceil(startS / stepS) * stepS;
  const times: number[] = [];
  for (let t = first; t <= endS; t += stepS) times.push(t);
  const series = new Map<string, Series>();
  for (let i = 0; i < times.length; i += MAX_POINTS_PER_QUERY) {
    const chunk = times.slice(i, i + MAX_POINTS_PER_QUERY);
    for (const s of await queryRange(options.prometheus, query, chunk[0]!, chunk.at(-1)!, stepS, headers)) {
      const key = JSON.stringify(s.metric);
      const known = series.get(key);
      if (known) known.values.push(...s.values);
      else series.set(key, { metric: s.metric, values: [...s.values] });
    }
  }
  const table = toTable([...series.values()], options.partitionLabel, times, partitions);
  const csv = toCsv(table);
  if (options.out) writeFileSync(options.out, csv);
  else process.stdout.write(csv);
  for (const w of table.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stderr.write(
    `${table.times.length} rows × ${table.rates.length} partitions` +
      (table.filled ? `; ${table.filled} missing values repeated the previous one (0 at the start)` : '') +
      '\n',
  );
}
