// The Prometheus provider: the original's three PromQL queries (offset = messages behind,
// production and consumption rates), sent to every address in parallel; the answer is chosen by
// the winner rule in prometheus-choose.ts.
import {
  BodyTooLargeError,
  HttpClient,
  RequestAbortedError,
  RequestTimeoutError,
  type HttpAuth,
  type HttpResponse,
  type HttpTls,
} from './http.js';
import type { EndpointPolicy } from '../net/endpoint-policy.js';
import { describeConnectionError, errorDetail, findEndpointDenied } from '../net/errors.js';
import { noopObserver, type ProviderObserver } from './instrumentation.js';
import { combineAnswers, type AddressAnswer } from './prometheus-choose.js';
import { parseQueryResponse, type PrometheusQuery, type QueryOutcome } from './prometheus-parse.js';
import {
  checkNumPartitions,
  METRIC_TYPES,
  type MetricType,
  type MetricsProvider,
  type MetricsReading,
} from './types.js';

export type { PrometheusQuery } from './prometheus-parse.js';

export interface PrometheusProviderOptions {
  /** Prometheus base URLs (e.g. `http://prometheus:9090`, or with a path prefix). At least one. */
  addresses: string[];
  /** Messages behind per partition. */
  offset: PrometheusQuery;
  /** Produced messages per second per partition. */
  production: PrometheusQuery;
  /** Consumed messages per second per partition. */
  consumption: PrometheusQuery;
  /** Per-request timeout in milliseconds (default 10 000); also sent as the query's `timeout`. */
  timeoutMs?: number;
  /** Bearer token or basic auth, sent to every address. */
  auth?: HttpAuth;
  /** TLS settings for https addresses. */
  tls?: HttpTls;
  /** Extra headers (e.g. a tenant header for Thanos/Cortex/Mimir). */
  headers?: Record<string, string>;
  observer?: ProviderObserver;
  /** The time queries are evaluated at and the reading's time (default: the system clock). */
  clock?: () => Date;
  /** Where the addresses may point (checked after DNS); without one, anywhere. */
  endpointPolicy?: EndpointPolicy;
}

export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 10_000;

const QUERY_OF: Record<MetricType, 'production' | 'consumption' | 'offset'> = {
  production_rate: 'production',
  consumption_rate: 'consumption',
  offset: 'offset',
};

export class PrometheusProvider implements MetricsProvider {
  private readonly client: HttpClient;
  private readonly timeoutMs: number;
  private readonly observer: ProviderObserver;
  private readonly clock: () => Date;
  /** Addresses that answered POST with 405/501: asked with GET from then on. */
  private readonly getOnly = new Set<string>();

  constructor(private readonly options: PrometheusProviderOptions) {
    if (options.addresses.length === 0) throw new Error('prometheus: no address given');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PROMETHEUS_TIMEOUT_MS;
    if (!(this.timeoutMs > 0))
      throw new Error(`prometheus: timeoutMs must be positive, got ${options.timeoutMs}`);
    this.client = new HttpClient({
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.endpointPolicy ? { endpointPolicy: options.endpointPolicy } : {}),
    });
    this.observer = options.observer ?? noopObserver;
    this.clock = options.clock ?? (() => new Date());
  }

  async read(numPartitions: number, signal?: AbortSignal): Promise<MetricsReading> {
    checkNumPartitions(numPartitions);
    const time = this.clock();
    const started = performance.now();
    /** When the last address answered each type's query. */
    const answered = new Map<MetricType, number>();
    const answers: AddressAnswer[] = await Promise.all(
      this.options.addresses.map(async (address) => {
        const outcomes = await Promise.all(
          METRIC_TYPES.map(async (type) => {
            const outcome = await this.queryOne(address, type, numPartitions, time, signal);
            answered.set(type, Math.max(answered.get(type) ?? 0, performance.now()));
            return outcome;
          }),
        );
        return {
          address: displayAddress(address),
          outcomes: Object.fromEntries(METRIC_TYPES.map((t, i) => [t, outcomes[i]!])) as Record<
            MetricType,
            QueryOutcome
          >,
        };
      }),
    );
    if (signal?.aborted) throw new RequestAbortedError('prometheus: read aborted');
    for (const [type, at] of answered) this.observer.onQuery(type, (at - started) / 1000);
    const { reading, chosen } = combineAnswers(answers, numPartitions, time);
    for (const type of METRIC_TYPES) {
      const index = chosen[type];
      const outcome = index === undefined ? undefined : answers[index]!.outcomes[type];
      if (outcome?.ok) this.observer.onSamples(type, outcome.series);
    }
    return reading;
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private async queryOne(
    address: string,
    type: MetricType,
    numPartitions: number,
    time: Date,
    signal: AbortSignal | undefined,
  ): Promise<QueryOutcome> {
    const { query, partitionLabel } = this.options[QUERY_OF[type]];
    const started = performance.now();
    let outcome: QueryOutcome;
    try {
      const res = await this.send(address, query, time, signal);
      outcome = parseQueryResponse(res, type, partitionLabel, numPartitions);
    } catch (err) {
      if (err instanceof RequestAbortedError) return { ok: false, error: 'aborted' };
      outcome = requestFailure(err);
    }
    this.observer.onRequest(type, displayAddress(address), (performance.now() - started) / 1000, outcome.ok);
    return outcome;
  }

  /** POST /api/v1/query (form-encoded); GET when the address refuses POST with 405 or 501. */
  private async send(
    address: string,
    query: string,
    time: Date,
    signal?: AbortSignal,
  ): Promise<HttpResponse> {
    const url = queryUrl(address);
    const form = new URLSearchParams({
      query,
      time: (time.getTime() / 1000).toFixed(3),
      timeout: `${Math.max(1, Math.floor(this.timeoutMs / 1000))}s`,
    }).toString();
    const common = { timeoutMs: this.timeoutMs, ...(signal ? { signal } : {}) };
    if (!this.getOnly.has(address)) {
      const res = await this.client.request('POST', url, {
        ...common,
        body: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      if (res.status !== 405 && res.status !== 501) return res;
      this.getOnly.add(address);
    }
    const getUrl = new URL(url);
    getUrl.search = form;
    return this.client.request('GET', getUrl, common);
  }
}

/**
 * A request that got no answer, in words the Consumer's author may read: the kind of failure and
 * its code (the error's own text, which may quote the server, goes to the detail).
 */
function requestFailure(err: unknown): QueryOutcome {
  const denied = findEndpointDenied(err);
  if (denied) return { ok: false, error: denied.message, denied: true, detail: errorDetail(err) };
  if (err instanceof RequestTimeoutError || err instanceof BodyTooLargeError)
    return { ok: false, error: err.message };
  return { ok: false, error: describeConnectionError(err), detail: errorDetail(err) };
}

/** `<address>/api/v1/query`, keeping a path prefix (e.g. http://host/prometheus). */
export function queryUrl(address: string): URL {
  let base: URL;
  try {
    base = new URL(address);
  } catch {
    throw new Error('invalid address (expected http(s)://host:port[/prefix])');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new Error(`invalid address: protocol ${base.protocol} (expected http or https)`);
  }
  base.search = '';
  base.hash = '';
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL('api/v1/query', base);
}

/** The address without a password, for messages and metric labels. */
export function displayAddress(address: string): string {
  try {
    const url = new URL(address);
    if (!url.password && !url.username) return address;
    url.password = '';
    url.username = '';
    return url.toString().replace(/\/$/, address.endsWith('/') ? '/' : '');
  } catch {
    return address;
  }
}
