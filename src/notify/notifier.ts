// The operator's notification targets: each event is wrapped once in a CloudEvent (one id for
// every target) and queued on each target that wants its type. Targets come from the operator's
// flags (`--notify-url`), set by whoever installs the operator.
import { randomUUID } from 'node:crypto';
import type { Agent } from 'undici';
import type { Logger } from '../util/log.js';
import { cloudEvent, type EventSource, type Notification } from './cloudevent.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import {
  checkDistinct,
  checkReadable,
  FileHeaders,
  parseNotifyHeader,
  type HeaderFromFile,
} from './secret-headers.js';
import { undiciSend, WebhookTarget, type DeliveryObserver, type Send } from './webhook.js';

export interface NotifierOptions {
  /** Events waiting per target; more are dropped (default 1000). */
  queueCapacity?: number;
  /** Per request (default 5 s). */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** How requests are sent (tests); default: undici with keep-alive. */
  send?: Send;
}

export interface NotifyTargetConfig {
  /** The label in metrics and logs. */
  name: string;
  url: URL;
  /** Headers whose values are read from files (`--notify-header`). */
  headers?: readonly HeaderFromFile[];
}

export const DEFAULT_QUEUE_CAPACITY = 1000;
export const DEFAULT_TIMEOUT_MS = 5000;

/** A `--notify-url` value: an http(s) URL. The label is its host (the path may hold a token). */
export function parseNotifyUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error(`--notify-url: "${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`--notify-url: ${url.protocol} is not supported; use http:// or https://`);
  if (url.username || url.password) throw new Error('--notify-url: credentials in the URL are not supported');
  return url;
}

/**
 * Targets from URLs, labelled by host:port, with #2, #3, ... when several share one, and the
 * `--notify-header` values that add headers to them (each file is read once here, so a missing or
 * empty one stops the operator at start).
 */
export function notifyTargets(
  urls: readonly string[],
  headerFlags: readonly string[] = [],
): NotifyTargetConfig[] {
  const headers = headerFlags.map((text) => parseNotifyHeader(text, urls.length));
  checkDistinct(headers);
  for (const header of headers) checkReadable(header);
  const seen = new Map<string, number>();
  return urls.map((text, index) => {
    const url = parseNotifyUrl(text);
    const count = (seen.get(url.host) ?? 0) + 1;
    seen.set(url.host, count);
    const own = headers.filter((h) => h.target === index);
    return {
      name: count === 1 ? url.host : `${url.host}#${count}`,
      url,
      ...(own.length ? { headers: own } : {}),
    };
  });
}

export class Notifier {
  private readonly targets: WebhookTarget[];
  /** Made on the first delivery (undici is loaded then, not by an operator without targets). */
  private agent: Promise<Agent> | undefined;

  constructor(
    configs: readonly NotifyTargetConfig[],
    observer: DeliveryObserver,
    log: Logger,
    options: NotifierOptions = {},
  ) {
    const agent = () =>
      (this.agent ??= import('undici').then(
        ({ Agent }) => new Agent({ connections: 2, keepAliveTimeout: 30_000 }),
      ));
    const send: Send = options.send ?? (async (...args) => undiciSend(await agent())(...args));
    this.targets = configs.map((config) => {
      const fileHeaders = config.headers?.length
        ? new FileHeaders(config.headers, (problem) =>
            log.warn({ target: config.name }, `webhook header kept its last value: ${problem}`),
          )
        : undefined;
      return new WebhookTarget(
        {
          name: config.name,
          url: config.url,
          headers: {},
          ...(fileHeaders ? { readHeaders: () => fileHeaders.read() } : {}),
          queueCapacity: options.queueCapacity ?? DEFAULT_QUEUE_CAPACITY,
          timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          retry: options.retry ?? DEFAULT_RETRY,
        },
        send,
        observer,
        log,
      );
    });
  }

  get targetNames(): string[] {
    return this.targets.map((t) => t.name);
  }

  /** Queues the event on every target; returns at once. */
  publish(notification: Notification, consumer: EventSource, now: Date): void {
    if (this.targets.length === 0) return;
    const event = cloudEvent(notification, consumer, randomUUID(), now);
    for (const target of this.targets) target.enqueue(event);
  }

  async close(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.close()));
    if (this.agent) await (await this.agent).close().catch(() => undefined);
  }
}
