// An informer (list + watch) that restarts itself after errors, with a way to wait until the
// cache has caught up with the operator's own writes.
//
// client-node's ListWatch relists after a 410 Gone and resumes from the last resourceVersion
// after its Watch gave up on a silent connection, but stops for good after any other error (a
// refused connection while the API server restarts, a 5xx, an aborted request), so every error
// here schedules a restart with backoff: the watch resumes from the last resourceVersion it saw,
// and when that is too old the API server answers 410 and the ListWatch relists, firing deletes
// for what vanished meanwhile. Watches ask the server to end them after 5 to 10 minutes (as
// client-go does) and for bookmarks; a watch that receives nothing for the watch deadline
// (kube-config.ts, 30 s by default) is given up by the Watch itself, so a silently dead
// connection cannot keep the cache stale for longer than that.
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ListPromise,
} from '@kubernetes/client-node';
import type { Logger } from '../util/log.js';
import { watchIdleMs } from './kube-config.js';

type Handler<T> = (obj: T) => void;

/** One page of a list: `limit` items from `continueToken` on. */
export type ListPage<T extends KubernetesObject> = (
  continueToken: string | undefined,
  limit: number,
) => Promise<KubernetesListObject<T>>;

/**
 * Lists in pages of `limit` (all pages come from one snapshot, whose resourceVersion the last
 * page carries), trimming each item as it arrives: a cluster's worth of Deployments is never
 * held untrimmed at once.
 */
export function pagedList<T extends KubernetesObject>(
  page: ListPage<T>,
  trim: (obj: T) => T,
  limit = 500,
): ListPromise<T> {
  return async () => {
    const items: T[] = [];
    let continueToken: string | undefined;
    for (;;) {
      const result = await page(continueToken, limit);
      for (const item of result.items) items.push(trim(item));
      continueToken = result.metadata?._continue || undefined;
      if (!continueToken) return { ...result, items };
    }
  };
}

/** Orders resourceVersions; they are etcd revisions in practice, opaque in theory. */
export function isAtLeast(resourceVersion: string | undefined, target: string): boolean {
  if (resourceVersion === undefined) return false;
  if (/^\d+$/.test(resourceVersion) && /^\d+$/.test(target)) return BigInt(resourceVersion) >= BigInt(target);
  return resourceVersion === target;
}

export interface WatchTiming {
  /** Server-side watch timeout: a random value in [min, 2 × min) seconds (default 300). */
  minWatchSeconds?: number;
}

const FIRST_RESTART_DELAY_MS = 500;
// Two watches retried every 10 s are no load on an API server, and the operator notices within
// 10 s that the API server is back (client-go's 30 s cap would leave it idle for up to 30 s).
const MAX_RESTART_DELAY_MS = 10_000;

/**
 * Sets client-node's watch deadline: its Watch gives up on a watch that receives nothing (not even
 * its answer's headers) for `requestTimeoutMs`, a field its typings mark private (30 s). False
 * when the library has no such field (then its own deadline applies).
 */
export function setWatchIdleMs(watch: Watch, ms: number): boolean {
  const fields = watch as unknown as Record<string, unknown>;
  if (typeof fields.requestTimeoutMs !== 'number') return false;
  fields.requestTimeoutMs = ms;
  return true;
}

/**
 * Watches with a server-side timeout and bookmarks; each object is trimmed (see trim.ts) before
 * the informer stores it.
 */
class BoundedWatch<T extends KubernetesObject> extends Watch {
  constructor(
    config: KubeConfig,
    private readonly timing: Required<WatchTiming>,
    private readonly onOpen: () => void,
    private readonly trim: (obj: T) => T,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void, // eslint-disable-line @typescript-eslint/no-explicit-any
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const timeoutSeconds = Math.floor(this.timing.minWatchSeconds * (1 + Math.random()));
    let finished = false;
    const controller = await super.watch(
      path,
      { ...queryParams, timeoutSeconds, allowWatchBookmarks: true },
      (phase, obj, watchObj) => {
        if (phase !== 'ERROR') this.onOpen();
        const keep = phase === 'ERROR' || phase === 'BOOKMARK' || !obj ? obj : this.trim(obj as T);
        callback(phase, keep, watchObj);
      },
      (err) => {
        finished = true;
        done(err);
      },
    );
    if (!finished) this.onOpen();
    return controller;
  }
}

export class ResourceCache<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private stopped = false;
  private restartDelayMs = FIRST_RESTART_DELAY_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private listed = false;
  private readonly firstList: Promise<void>;
  private resolveFirstList: () => void = () => undefined;
  /** Lists done (the first one and every relist), and restarts after errors: for logs and tests. */
  readonly stats = { lists: 0, restarts: 0 };

  constructor(
    kubeConfig: KubeConfig,
    path: string,
    list: ListPage<T>,
    private readonly log: Logger,
    trim: (obj: T) => T = (obj) => obj,
    timing: WatchTiming = {},
    /** Only objects with these labels (the list function must ask for the same). */
    labelSelector?: string,
  ) {
    this.firstList = new Promise((resolve) => (this.resolveFirstList = resolve));
    const paged = pagedList(list, trim);
    const counted: ListPromise<T> = async () => {
      const result = await paged();
      this.stats.lists++;
      if (this.listed) this.log.info({ lists: this.stats.lists }, 'relisted');
      this.listed = true;
      this.resolveFirstList();
      this.succeeded();
      return result;
    };
    const watch = new BoundedWatch<T>(
      kubeConfig,
      { minWatchSeconds: timing.minWatchSeconds ?? 300 },
      () => this.succeeded(),
      trim,
    );
    if (!setWatchIdleMs(watch, watchIdleMs(kubeConfig)))
      log.warn("client-node's Watch has no requestTimeoutMs: watches keep the library's own deadline");
    this.informer = new ListWatch<T>(path, watch, counted, false, labelSelector);
    this.informer.on('error', (err?: unknown) => this.restart(err));
  }

  /** The first list has succeeded. */
  get hasListed(): boolean {
    return this.listed;
  }

  /** Starts listing and watching; resolves once the first list has succeeded (or on stop()). */
  async start(): Promise<void> {
    await this.informer.start();
    if (!this.listed) {
      this.log.warn('waiting for the first list to succeed');
      await this.firstList;
    }
  }

  /** The backoff starts over once the API server answers again. */
  private succeeded(): void {
    this.restartDelayMs = FIRST_RESTART_DELAY_MS;
  }

  private restart(err: unknown): void {
    if (this.stopped || this.restartTimer) return;
    const delay = this.restartDelayMs;
    this.log.warn({ err: String(err), delayMs: delay }, 'list or watch failed; restarting');
    this.stats.restarts++;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, MAX_RESTART_DELAY_MS);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) this.informer.start().catch((e: unknown) => this.restart(e));
    }, delay);
    this.restartTimer.unref();
  }

  onChange(handler: Handler<T>): void {
    this.informer.on('add', handler);
    this.informer.on('update', handler);
    this.informer.on('delete', handler);
  }

  get(name: string, namespace: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  /** Resolves true once `ready()` holds, or false after the timeout. */
  async waitUntil(ready: () => boolean, timeoutMs = 10_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.resolveFirstList();
    await this.informer.stop();
  }
}
