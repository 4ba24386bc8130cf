// An informer (list + watch, src/kube/informer.ts) that restarts itself after errors, with a way to
// wait until the cache has caught up with the operator's own writes.
//
// The informer relists after a 410 Gone and resumes from the last resourceVersion after a watch
// the server ended, but stops after any other error (a refused connection while the API server
// restarts, a 5xx, a watch silent for the client's idle deadline), so every error here schedules
// a restart with backoff: the watch resumes from the last resourceVersion it saw, and when that is
// too old the API server answers 410 and the informer relists, firing deletes for what vanished
// meanwhile. Watches ask the server to end them after 5 to 10 minutes (as client-go does) and for
// bookmarks.
import type { KubeClient } from '../kube/client.js';
import { Informer, type KubeObject } from '../kube/informer.js';
import type { Logger } from '../util/log.js';

type Handler<T> = (obj: T) => void;

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

export class ResourceCache<T extends KubeObject> {
  private readonly informer: Informer<T>;
  private stopped = false;
  private restartDelayMs = FIRST_RESTART_DELAY_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private listed = false;
  private readonly firstList: Promise<void>;
  private resolveFirstList: () => void = () => undefined;
  /** Lists done (the first one and every relist), and restarts after errors: for logs and tests. */
  readonly stats = { lists: 0, restarts: 0 };

  constructor(
    client: KubeClient,
    /** The collection listed and watched, e.g. `/apis/apps/v1/deployments`. */
    path: string,
    private readonly log: Logger,
    trim: (obj: T) => T = (obj) => obj,
    timing: WatchTiming = {},
    /** Only objects with these labels. */
    labelSelector?: string,
  ) {
    this.firstList = new Promise((resolve) => (this.resolveFirstList = resolve));
    this.informer = new Informer<T>(client, {
      path,
      trim,
      minWatchSeconds: timing.minWatchSeconds ?? 300,
      ...(labelSelector ? { labelSelector } : {}),
      onProgress: (what) => {
        if (what === 'list') {
          this.stats.lists++;
          if (this.listed) this.log.info({ lists: this.stats.lists }, 'relisted');
          this.listed = true;
          this.resolveFirstList();
        }
        this.succeeded();
      },
    });
    this.informer.onError((err?: unknown) => this.restart(err));
  }

  /** The first list has succeeded. */
  get hasListed(): boolean {
    return this.listed;
  }

  /** Starts listing and watching; resolves once the first list has succeeded (or on stop()). */
  async start(): Promise<void> {
    await this.informer.start().catch((e: unknown) => this.restart(e));
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
    this.informer.stop();
  }
}
