// An informer (list + watch) that restarts itself after errors, with a way to wait until the
// cache has caught up with the operator's own writes.
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ListPromise,
} from '@kubernetes/client-node';
import type { Logger } from '../util/log.js';

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

/** A Watch that trims each object before the informer stores it. */
class TrimmingWatch<T extends KubernetesObject> extends Watch {
  constructor(
    config: KubeConfig,
    private readonly trim: (obj: T) => T,
  ) {
    super(config);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const trimmed = (phase: string, apiObj: unknown, watchObj?: unknown) =>
      callback(phase, phase === 'ERROR' || !apiObj ? apiObj : this.trim(apiObj as T), watchObj);
    return super.watch(path, queryParams, trimmed, done);
  }
}

/** Orders resourceVersions; they are etcd revisions in practice, opaque in theory. */
export function isAtLeast(resourceVersion: string | undefined, target: string): boolean {
  if (resourceVersion === undefined) return false;
  if (/^\d+$/.test(resourceVersion) && /^\d+$/.test(target)) return BigInt(resourceVersion) >= BigInt(target);
  return resourceVersion === target;
}

export class ResourceCache<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private stopped = false;
  private restartDelayMs = 500;

  constructor(
    kubeConfig: KubeConfig,
    path: string,
    list: ListPage<T>,
    private readonly log: Logger,
    trim: (obj: T) => T = (obj) => obj,
  ) {
    this.informer = new ListWatch<T>(path, new TrimmingWatch(kubeConfig, trim), pagedList(list, trim), false);
    this.informer.on('error', (err?: unknown) => this.restart(err));
    this.informer.on('connect', () => (this.restartDelayMs = 500));
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  private restart(err: unknown): void {
    if (this.stopped) return;
    this.log.warn({ err: String(err), delayMs: this.restartDelayMs }, 'watch failed; restarting');
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, 30_000);
    setTimeout(() => {
      if (!this.stopped) this.informer.start().catch((e: unknown) => this.restart(e));
    }, delay).unref();
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
    await this.informer.stop();
  }
}
