// Pure: turns one Prometheus HTTP API answer (/api/v1/query) into per-partition values, with a
// warning for every series it could not use. No I/O.
//
// Errors and warnings are read by the Consumer's author (status, events), who chose the address:
// they say what kind of answer it was (status code, media type, size, "not a Prometheus API
// answer", how many series were unusable) and never copy text the server chose (the body, an
// error string, Prometheus warnings, label values). That text goes to `details`, which only the
// operator's log shows, cut short.
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
  /** The server's own words behind the warnings (examples of skipped series, Prometheus warnings): for the operator's log. */
  details: string[];
}

export interface QueryFailure {
  ok: false;
  error: string;
  /** What the server said, for the operator's log only. */
  detail?: string;
  /** The endpoint policy refused the address: nothing was sent. */
  denied?: boolean;
}

export type QueryOutcome = QueryAnswer | QueryFailure;

/** The parts of an HTTP response the parser looks at. */
export interface RawResponse {
  status: number;
  contentType: string;
  body: string;
}

/** The errorType values of the Prometheus HTTP API: a known one is shown, anything else is not. */
const API_ERROR_TYPES = new Set([
  'bad_data',
  'timeout',
  'canceled',
  'execution',
  'internal',
  'unavailable',
  'not_found',
  'not_acceptable',
]);

/** Longest server text kept for the operator's log. */
const DETAIL_CHARS = 300;

/**
 * Parses an /api/v1/query response. Fails (ok: false, with the HTTP status and the kind of
 * problem) on HTTP errors, redirects (never followed), non-JSON bodies (HTML error pages of
 * proxies), API errors, and scalar or string results, which carry no partition. Otherwise returns
 * the values of a vector (each sample) or a matrix (the last sample of each series) keyed by the
 * integer in `partitionLabel`; series it cannot use are left out with a warning:
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
  if (res.status >= 300 && res.status < 400) {
    return fail(
      `HTTP ${res.status}: a redirect, which is not followed (the address must be the Prometheus API itself)`,
      bodyDetail(res),
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    return fail(`HTTP ${res.status}: not a Prometheus API answer (${describeBody(res)})`, bodyDetail(res));
  }
  if (!isObject(json))
    return fail(`HTTP ${res.status}: not a Prometheus API answer (${describeBody(res)})`, bodyDetail(res));
  if (res.status < 200 || res.status >= 300) {
    const apiError = json.status === 'error' ? `: ${describeApiError(json)}` : '';
    return fail(`HTTP ${res.status}${apiError}`, apiErrorDetail(json) ?? bodyDetail(res));
  }
  if (json.status !== 'success')
    return fail(`query failed: ${describeApiError(json)}`, apiErrorDetail(json) ?? bodyDetail(res));
  const data = json.data;
  if (!isObject(data)) return fail('malformed response: no data');
  const warnings: string[] = [];
  const details: string[] = [];
  if (Array.isArray(json.warnings) && json.warnings.length > 0) {
    warnings.push(
      `Prometheus answered with ${count(json.warnings.length, 'warning')} (their text is in the operator's log)`,
    );
    details.push(...json.warnings.slice(0, 5).map((w) => `Prometheus warning: ${clip(String(w))}`));
  }
  const resultType = data.resultType;
  if (resultType === 'scalar' || resultType === 'string') {
    return fail(
      `unsupported result type "${resultType}": the query must return one series per partition ` +
        `(e.g. "... by (${partitionLabel})")`,
    );
  }
  if (resultType !== 'vector' && resultType !== 'matrix') {
    return fail('malformed response: unknown result type', `result type ${clip(JSON.stringify(resultType))}`);
  }
  if (!Array.isArray(data.result)) return fail('malformed response: result is not a list');
  return parseSeries(data.result, resultType, type, partitionLabel, numPartitions, warnings, details);
}

function parseSeries(
  result: unknown[],
  resultType: 'vector' | 'matrix',
  type: MetricType,
  partitionLabel: string,
  numPartitions: number,
  warnings: string[],
  details: string[],
): QueryAnswer {
  const values = new Map<number, number>();
  let timestamp: number | undefined;
  const missingLabel: string[] = [];
  const badLabel: string[] = [];
  const outOfRange: number[] = [];
  const duplicates = new Set<number>();
  const invalid = new Map<string, number[]>(); // reason -> partitions
  const malformedValues: string[] = [];
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
    if (reason === 'malformed value' && malformedValues.length < 3)
      malformedValues.push(JSON.stringify(sample[1]));
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
        `(aggregate with "by (${partitionLabel})")`,
    );
    details.push(`a series without label "${partitionLabel}": ${clip(missingLabel[0]!)}`);
  }
  if (badLabel.length) {
    warnings.push(`${count(badLabel.length, 'series')} with a non-integer "${partitionLabel}" label skipped`);
    details.push(`non-integer "${partitionLabel}" labels: ${clip(badLabel.slice(0, 3).join(', '))}`);
  }
  if (outOfRange.length) {
    warnings.push(
      `series for partitions ${partitionRanges(outOfRange)} ignored: beyond numPartitions ${numPartitions}`,
    );
  }
  if (malformed.length) warnings.push(`${count(malformed.length, 'malformed series')} skipped`);
  if (malformedValues.length) details.push(`malformed values: ${clip(malformedValues.join(', '))}`);
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
    details,
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
  if (Number.isNaN(value)) return raw === 'NaN' ? 'value NaN' : 'malformed value';
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

/** `Prometheus API error "bad_data"`: the errorType when it is one the API defines, never the error text. */
function describeApiError(json: Record<string, unknown>): string {
  const type = json.errorType;
  return typeof type === 'string' && API_ERROR_TYPES.has(type)
    ? `Prometheus API error "${type}" (its message is in the operator's log)`
    : "Prometheus API error (its message is in the operator's log)";
}

function apiErrorDetail(json: Record<string, unknown>): string | undefined {
  if (typeof json.error !== 'string') return undefined;
  const type = typeof json.errorType === 'string' ? `${json.errorType}: ` : '';
  return clip(`${type}${json.error}`);
}

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,40}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,60}$/;

/** The media type (without parameters, when it looks like one) and the size of the body. */
function describeBody(res: RawResponse): string {
  const media = res.contentType.split(';')[0]!.trim().toLowerCase();
  const type = !media ? 'no content type' : MEDIA_TYPE.test(media) ? media : 'an unusual content type';
  const bytes = Buffer.byteLength(res.body, 'utf8');
  return bytes === 0 ? `${type}, empty body` : `${type}, ${bytes} bytes`;
}

/** The start of the body, tags stripped, for the operator's log. */
function bodyDetail(res: RawResponse): string | undefined {
  const text = res.body
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text ? `${res.contentType || 'no content type'}: ${clip(text)}` : undefined;
}

function clip(text: string): string {
  return text.length > DETAIL_CHARS ? `${text.slice(0, DETAIL_CHARS)}…` : text;
}

function formatLabels(metric: Record<string, unknown>): string {
  const pairs = Object.entries(metric).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `{${pairs.join(',')}}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}`;
}

function fail(error: string, detail?: string): QueryFailure {
  return { ok: false, error, ...(detail !== undefined ? { detail } : {}) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
