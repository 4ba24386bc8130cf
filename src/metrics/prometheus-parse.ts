// Pure: turns one Prometheus HTTP API answer (/api/v1/query) into per-partition values, with a
// warning for every series it could not use. No I/O.
import { partitionRanges, type MetricType } from './types.js';

/** A PromQL query returning one series per partition, and the label that holds the partition. */
export interface PrometheusQuery {
  query: string;
  partitionLabel: string;
}

/** A query that produced a usable vector or matrix (possibly with no series). */
export interface QueryAnswer {
  ok: true;
  /** Known values of partitions `0..numPartitions-1`; unusable ones are absent. */
  values: Map<number, number>;
  /** Series in the result. */
  series: number;
  /** Largest sample timestamp (Unix seconds) among the values used; undefined without any. */
  timestamp?: number;
  warnings: string[];
}

export interface QueryFailure {
  ok: false;
  error: string;
}

export type QueryOutcome = QueryAnswer | QueryFailure;

/** The parts of an HTTP response the parser looks at. */
export interface RawResponse {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Parses an /api/v1/query response. Fails (ok: false, with the HTTP status and the reason) on
 * HTTP errors, non-JSON bodies (HTML error pages of proxies), API errors, and scalar or string
 * results, which carry no partition. Otherwise returns the values of a vector (each sample) or a
 * matrix (the last sample of each series) keyed by the integer in `partitionLabel`; series it
 * cannot use are left out with a warning:
 * - missing or non-integer partition label, partition >= numPartitions: skipped;
 * - NaN, ±Inf, negative or above 2^53: unknown (a negative `offset` is kafka_exporter's -1
 *   sentinel for "nothing committed");
 * - several series for one partition (the query lacks `by (<label>)`): the max is used.
 */
export function parseQueryResponse(
  res: RawResponse,
  type: MetricType,
  partitionLabel: string,
  numPartitions: number,
): QueryOutcome {
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    return fail(`HTTP ${res.status}: not a Prometheus API response (${describeBody(res)})`);
  }
  if (!isObject(json))
    return fail(`HTTP ${res.status}: not a Prometheus API response (${describeBody(res)})`);
  if (res.status < 200 || res.status >= 300) {
    const apiError = json.status === 'error' ? `: ${describeApiError(json)}` : '';
    return fail(`HTTP ${res.status}${apiError}`);
  }
  if (json.status !== 'success') return fail(`query failed: ${describeApiError(json)}`);
  const data = json.data;
  if (!isObject(data)) return fail('malformed response: no data');
  const warnings = Array.isArray(json.warnings)
    ? json.warnings.map((w) => `Prometheus warning: ${String(w)}`)
    : [];
  const resultType = data.resultType;
  if (resultType === 'scalar' || resultType === 'string') {
    return fail(
      `unsupported result type "${resultType}": the query must return one series per partition ` +
        `(e.g. "... by (${partitionLabel})")`,
    );
  }
  if (resultType !== 'vector' && resultType !== 'matrix') {
    return fail(`malformed response: unknown result type ${JSON.stringify(resultType)}`);
  }
  if (!Array.isArray(data.result)) return fail('malformed response: result is not a list');
  return parseSeries(data.result, resultType, type, partitionLabel, numPartitions, warnings);
}

function parseSeries(
  result: unknown[],
  resultType: 'vector' | 'matrix',
  type: MetricType,
  partitionLabel: string,
  numPartitions: number,
  warnings: string[],
): QueryAnswer {
  const values = new Map<number, number>();
  let timestamp: number | undefined;
  const missingLabel: string[] = [];
  const badLabel: string[] = [];
  const outOfRange: number[] = [];
  const duplicates = new Set<number>();
  const invalid = new Map<string, number[]>(); // reason -> partitions
  const malformed: number[] = [];
  const seen = new Set<number>();

  result.forEach((series, index) => {
    if (!isObject(series) || !isObject(series.metric)) {
      malformed.push(index);
      return;
    }
    const sample = resultType === 'vector' ? series.value : lastOf(series.values);
    const label = series.metric[partitionLabel];
    if (label === undefined) {
      missingLabel.push(formatLabels(series.metric));
      return;
    }
    if (typeof label !== 'string' || !/^[0-9]+$/.test(label) || !Number.isSafeInteger(Number(label))) {
      badLabel.push(JSON.stringify(label));
      return;
    }
    const partition = Number(label);
    if (partition >= numPartitions) {
      outOfRange.push(partition);
      return;
    }
    if (seen.has(partition)) duplicates.add(partition);
    seen.add(partition);
    if (!Array.isArray(sample) || sample.length < 2 || typeof sample[0] !== 'number') {
      malformed.push(index);
      return;
    }
    const value = parseSampleValue(sample[1]);
    const reason = invalidReason(value, sample[1]);
    if (reason !== undefined) {
      const list = invalid.get(reason) ?? [];
      list.push(partition);
      invalid.set(reason, list);
      return;
    }
    const previous = values.get(partition);
    values.set(partition, previous === undefined ? value : Math.max(previous, value));
    timestamp = timestamp === undefined ? sample[0] : Math.max(timestamp, sample[0]);
  });

  if (result.length === 0) warnings.push('no series: every partition is unknown');
  if (missingLabel.length) {
    warnings.push(
      `${count(missingLabel.length, 'series')} without label "${partitionLabel}" skipped ` +
        `(e.g. ${missingLabel[0]}; aggregate with "by (${partitionLabel})")`,
    );
  }
  if (badLabel.length) {
    warnings.push(
      `${count(badLabel.length, 'series')} with a non-integer "${partitionLabel}" label skipped ` +
        `(e.g. ${badLabel.slice(0, 3).join(', ')})`,
    );
  }
  if (outOfRange.length) {
    warnings.push(
      `series for partitions ${partitionRanges(outOfRange)} ignored: beyond numPartitions ${numPartitions}`,
    );
  }
  if (malformed.length) warnings.push(`${count(malformed.length, 'malformed series')} skipped`);
  for (const [reason, partitions] of invalid) {
    // A partition with another, valid series keeps that one; only report partitions left unknown.
    const unknown = partitions.filter((p) => !values.has(p));
    if (unknown.length === 0) continue;
    const hint =
      type === 'offset' && reason.startsWith('negative') ? " (kafka_exporter's -1: nothing committed)" : '';
    warnings.push(`${reason} for partitions ${partitionRanges(unknown)}: unknown${hint}`);
  }
  if (duplicates.size) {
    warnings.push(
      `several series for partitions ${partitionRanges(duplicates)}: took the max ` +
        `(does the query lack "by (${partitionLabel})"?)`,
    );
  }
  if (result.length > 0) {
    const absent: number[] = [];
    for (let p = 0; p < numPartitions; p++) if (!seen.has(p)) absent.push(p);
    if (absent.length) warnings.push(`no series for partitions ${partitionRanges(absent)}: unknown`);
  }
  return {
    ok: true,
    values,
    series: result.length,
    ...(timestamp !== undefined ? { timestamp } : {}),
    warnings,
  };
}

/** A sample value as Prometheus writes it: a decimal string, "NaN", "+Inf" or "-Inf". */
export function parseSampleValue(raw: unknown): number {
  if (typeof raw !== 'string') return Number.NaN;
  switch (raw) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
  }
  const trimmed = raw.trim();
  return trimmed === '' ? Number.NaN : Number(trimmed);
}

function invalidReason(value: number, raw: unknown): string | undefined {
  if (typeof raw !== 'string') return 'malformed value';
  if (Number.isNaN(value)) return raw === 'NaN' ? 'value NaN' : `malformed value ${JSON.stringify(raw)}`;
  if (value === Number.POSITIVE_INFINITY) return 'value +Inf';
  if (value === Number.NEGATIVE_INFINITY) return 'value -Inf';
  if (value < 0) return `negative value`;
  // Beyond 2^53 a double is no longer exact, and no rate or backlog of a real topic gets there:
  // such a value is garbage, and taken at face value it would size an instance beyond anything
  // Kubernetes accepts.
  if (value > Number.MAX_SAFE_INTEGER) return 'implausibly large value';
  return undefined;
}

function lastOf(values: unknown): unknown {
  return Array.isArray(values) && values.length > 0 ? values[values.length - 1] : undefined;
}

function describeApiError(json: Record<string, unknown>): string {
  const type = typeof json.errorType === 'string' ? json.errorType : 'error';
  const error = typeof json.error === 'string' ? json.error : JSON.stringify(json).slice(0, 200);
  return `${type}: ${error}`;
}

/** Content type and the start of the body, tags stripped, for error messages. */
function describeBody(res: RawResponse): string {
  const text = res.body
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const snippet = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  return `${res.contentType || 'no content type'}${snippet ? `: "${snippet}"` : ', empty body'}`;
}

function formatLabels(metric: Record<string, unknown>): string {
  const pairs = Object.entries(metric).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `{${pairs.join(',')}}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}`;
}

function fail(error: string): QueryFailure {
  return { ok: false, error };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
