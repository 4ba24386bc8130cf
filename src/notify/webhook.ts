// Delivering notifications to one webhook target: a bounded queue, one request at a time (so the
// target sees events in the order they happened), retries with backoff, a timeout per request.
// Nothing here waits on the caller: `enqueue` returns at once, and a target that is down, slow or
// failing only fills its own queue. The receiver's answer is never read beyond its status and
// Retry-After header (its body is discarded unread), and failures go to the operator's log only.
// undici is imported on the first delivery: an operator without webhook targets never loads it.
import type { Agent } from 'undici';
import type { Logger } from '../util/log.js';
import { BoundedQueue } from './bounded-queue.js';
import { CLOUDEVENTS_CONTENT_TYPE, type CloudEvent } from './cloudevent.js';
import { isRetryable, nextAttemptDelayMs, type AttemptOutcome, type RetryPolicy } from './retry.js';

export type DropReason = 'queue_full' | 'max_attempts' | 'rejected' | 'shutdown';

/** Where delivery reports to (the operator's metrics). */
export interface DeliveryObserver {
  attempt(target: string, outcome: AttemptOutcome['kind'], seconds: number): void;
  dropped(target: string, reason: DropReason): void;
  depth(target: string, depth: number): void;
}

/** Sends one request; never rejects. */
export type Send = (
  url: URL,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
) => Promise<AttemptOutcome>;

export interface TargetOptions {
  /** The target's label in metrics and logs (never its URL, which may hold a token). */
  name: string;
  url: URL;
  headers: Record<string, string>;
  /** Headers read again for each attempt (values from mounted Secrets); they replace `headers`. */
  readHeaders?: () => Promise<Record<string, string>>;
  queueCapacity: number;
  timeoutMs: number;
  retry: RetryPolicy;
}

/** A drop is logged at most this often per target; the metric counts every one. */
const LOG_INTERVAL_MS = 10_000;

export class WebhookTarget {
  private readonly queue: BoundedQueue<CloudEvent>;
  private readonly closing = new AbortController();
  /** The delivery loop, while it runs (it ends when the queue is empty). */
  private draining: Promise<void> | undefined;
  private lastLogAt = -Infinity;
  private unlogged = 0;

  constructor(
    private readonly options: TargetOptions,
    private readonly send: Send,
    private readonly observer: DeliveryObserver,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.queue = new BoundedQueue(options.queueCapacity);
    observer.depth(options.name, 0);
  }

  get name(): string {
    return this.options.name;
  }

  /** Queues an event; drops it (counted) when the queue is full or the target is closed. */
  enqueue(event: CloudEvent): void {
    const { name } = this.options;
    if (this.closing.signal.aborted) return this.drop('shutdown', event, 'the operator is stopping');
    if (!this.queue.push(event))
      return this.drop('queue_full', event, `the queue holds ${this.queue.capacity} events already`);
    this.observer.depth(name, this.queue.length);
    this.draining ??= this.drain();
  }

  /** Stops delivering: the request in flight is aborted, what is queued is dropped (counted). */
  async close(): Promise<void> {
    this.closing.abort();
    await this.draining;
    for (const event of this.queue.clear()) this.drop('shutdown', event, 'the operator is stopping');
    this.observer.depth(this.options.name, 0);
  }

  private async drain(): Promise<void> {
    try {
      for (let event = this.queue.peek(); event && !this.closing.signal.aborted; event = this.queue.peek()) {
        await this.deliver(event);
        if (this.closing.signal.aborted) break; // close() drops it with the rest
        this.queue.shift();
        this.observer.depth(this.options.name, this.queue.length);
      }
    } catch (error) {
      // Not expected (sending never rejects); a rejection here must not end the operator.
      this.log.error({ target: this.options.name, err: String(error) }, 'webhook delivery loop failed');
    } finally {
      // In the same step as the last look at the queue: an event queued after it starts a new loop.
      this.draining = undefined;
    }
  }

  private async deliver(event: CloudEvent): Promise<void> {
    const { name, url, headers, readHeaders, timeoutMs, retry } = this.options;
    const body = JSON.stringify(event);
    for (let attempt = 1; ; attempt++) {
      const fromFiles = readHeaders ? await readHeaders() : {};
      const allHeaders = { ...headers, ...fromFiles, 'content-type': CLOUDEVENTS_CONTENT_TYPE };
      const started = performance.now();
      const outcome = await this.send(url, body, allHeaders, timeoutMs, this.closing.signal);
      if (this.closing.signal.aborted) return; // close() drops it with the rest
      this.observer.attempt(name, outcome.kind, (performance.now() - started) / 1000);
      if (outcome.kind === 'delivered') return;
      const delay = nextAttemptDelayMs(attempt, outcome, retry, new Date(), this.random);
      this.log.debug(
        { target: name, event: event.id, attempt, outcome: describe(outcome), retryInMs: delay },
        'webhook attempt failed',
      );
      if (delay === undefined) {
        const reason = isRetryable(outcome) ? 'max_attempts' : 'rejected';
        return this.drop(reason, event, `after ${attempt} attempt(s), the last: ${describe(outcome)}`);
      }
      if (!(await sleep(delay, this.closing.signal))) return;
    }
  }

  private drop(reason: DropReason, event: CloudEvent, why: string): void {
    this.observer.dropped(this.options.name, reason);
    const now = performance.now();
    if (now - this.lastLogAt < LOG_INTERVAL_MS) {
      this.unlogged++;
      return;
    }
    this.log.warn(
      {
        target: this.options.name,
        dropReason: reason,
        eventType: event.type,
        event: event.id,
        alsoDroppedSinceLastLog: this.unlogged,
      },
      `webhook notification dropped: ${why}`,
    );
    this.lastLogAt = now;
    this.unlogged = 0;
  }
}

/** An outcome for the log: a status code or an error code, never what the receiver sent. */
function describe(outcome: AttemptOutcome): string {
  switch (outcome.kind) {
    case 'delivered':
      return `HTTP ${outcome.status}`;
    case 'http_error':
      return `HTTP ${outcome.status}`;
    case 'timeout':
      return 'timed out';
    case 'network_error':
      return `network error ${outcome.code}`;
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const ERROR_CODE = /^[A-Z][A-Z0-9_]{1,63}$/;

function codeOf(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && ERROR_CODE.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return 'UNKNOWN';
}

/** A Send over an undici Agent: POST, no redirect followed (a 3xx is a failure), body discarded. */
export function undiciSend(agent: Agent): Send {
  return async (url, body, headers, timeoutMs, signal) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const { request } = await import('undici');
      const response = await request(url, {
        method: 'POST',
        body,
        headers,
        dispatcher: agent,
        signal: AbortSignal.any([signal, timeout]),
      });
      // Not read: nothing the receiver says goes anywhere.
      await response.body.dump({ limit: 0 }).catch(() => undefined);
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { kind: 'delivered', status };
      const retryAfter = response.headers['retry-after'];
      return {
        kind: 'http_error',
        status,
        ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
      };
    } catch (error) {
      if (timeout.aborted) return { kind: 'timeout' };
      return { kind: 'network_error', code: codeOf(error) };
    }
  };
}
