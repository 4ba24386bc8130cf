// An informer (list + watch) that restarts itself after errors, with a way to wait until the
// cache has caught up with the operator's own writes.
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
} from '@kubernetes/client-node';
import type { Logger } from '../util/log.js';

type Handler<T> = (obj: T) => void;

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
    list: ListPromise<T>,
    private readonly log: Logger,
  ) {
    this.informer = new ListWatch<T>(path, new Watch(kubeConfig), list, false);
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
