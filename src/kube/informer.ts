// List, then watch from the list's resourceVersion, keeping a store of the objects and telling
// handlers of each add, update and delete. A watch the server ends (its timeoutSeconds) is resumed
// from the last resourceVersion seen (bookmarks included); a 410 Gone (the version is too old)
// lists again, and whatever vanished meanwhile is reported deleted. Any other error stops the
// informer and goes to the error handler; start() again resumes from the last resourceVersion.
import { KubeApiError, type KubeClient, type WatchEvent } from './client.js';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
}

export interface KubeObject {
  metadata?: ObjectMeta;
}

export interface KubeList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface InformerOptions<T> {
  /** The collection, e.g. `/apis/apps/v1/deployments`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Applied to each object before it is stored (to keep less). */
  trim?: (obj: T) => T;
  /** Items per list page (all pages come from one snapshot; default LIST_PAGE_SIZE). */
  pageSize?: number;
  /** Server-side watch timeout: a random value in [min, 2 × min) seconds (default 300). */
  minWatchSeconds?: number;
  /** Each list that succeeded, and each watch answer or event: the API server answers. */
  onProgress?: (what: 'list' | 'watch') => void;
}

export type InformerEvent = 'add' | 'update' | 'delete';

/**
 * Items per list page. Each page is one response body, parsed whole before its items are trimmed:
 * with 500 (client-go's choice) a relist of 10,000 Deployments left the operator about 15 MiB
 * more resident than pages of 100 (141 against 126 MiB in the memory benchmark), for 80 more
 * requests of a few milliseconds each.
 */
export const LIST_PAGE_SIZE = 100;

/** The page of a list: the API server names the continue token `continue`. */
type Page<T> = KubeList<T>;

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, Map<string, T>>();
  private readonly handlers: Record<InformerEvent, ((obj: T) => void)[]> = {
    add: [],
    update: [],
    delete: [],
  };
  private readonly errorHandlers: ((error: unknown) => void)[] = [];
  private resourceVersion: string | undefined;
  private abort: AbortController | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: InformerOptions<T>,
  ) {}

  on(event: InformerEvent, handler: (obj: T) => void): void {
    this.handlers[event].push(handler);
  }

  onError(handler: (error: unknown) => void): void {
    this.errorHandlers.push(handler);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.store.get(namespace ?? '')?.get(name);
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.store.get(namespace)?.values() ?? [])];
    const all: T[] = [];
    for (const objects of this.store.values()) for (const o of objects.values()) all.push(o);
    return all;
  }

  /** Lists unless a resourceVersion is known, then watches in the background; rejects if the list fails. */
  async start(): Promise<void> {
    this.stopWatch();
    const abort = new AbortController();
    this.abort = abort;
    if (this.resourceVersion === undefined) await this.relist();
    if (abort.signal.aborted) return;
    void this.watchLoop(abort.signal);
  }

  stop(): void {
    this.stopWatch();
  }

  private stopWatch(): void {
    this.abort?.abort();
    this.abort = undefined;
  }

  private selectors(): Record<string, string> {
    const { labelSelector, fieldSelector } = this.options;
    return { ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) };
  }

  /** Lists in pages; replaces the store, reporting adds, updates (a new resourceVersion) and deletes. */
  private async relist(): Promise<void> {
    const trim = this.options.trim ?? ((o: T) => o);
    const fresh = new Map<string, Map<string, T>>();
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.client.get<Page<T>>(this.options.path, {
        ...this.selectors(),
        limit: this.options.pageSize ?? LIST_PAGE_SIZE,
        ...(continueToken ? { continue: continueToken } : {}),
      });
      for (const item of page.items ?? []) {
        const obj = trim(item);
        const ns = obj.metadata?.namespace ?? '';
        let objects = fresh.get(ns);
        if (!objects) fresh.set(ns, (objects = new Map()));
        objects.set(obj.metadata?.name ?? '', obj);
      }
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (continueToken);
    const old = this.store;
    const gone: T[] = [];
    for (const [ns, objects] of old)
      for (const [name, obj] of objects) if (!fresh.get(ns)?.has(name)) gone.push(obj);
    const changes: [InformerEvent, T][] = [];
    for (const [ns, objects] of fresh)
      for (const [name, obj] of objects) {
        const before = old.get(ns)?.get(name);
        if (!before) changes.push(['add', obj]);
        else if (before.metadata?.resourceVersion !== obj.metadata?.resourceVersion)
          changes.push(['update', obj]);
      }
    old.clear();
    for (const [ns, objects] of fresh) old.set(ns, objects);
    this.resourceVersion = resourceVersion;
    this.options.onProgress?.('list');
    for (const obj of gone) this.emit('delete', obj);
    for (const [event, obj] of changes) this.emit(event, obj);
  }

  private async watchLoop(signal: AbortSignal): Promise<void> {
    const minSeconds = this.options.minWatchSeconds ?? 300;
    while (!signal.aborted) {
      try {
        await this.client.watch<T>(
          this.options.path,
          {
            ...this.selectors(),
            allowWatchBookmarks: true,
            timeoutSeconds: Math.floor(minSeconds * (1 + Math.random())),
            ...(this.resourceVersion ? { resourceVersion: this.resourceVersion } : {}),
          },
          (event) => this.apply(event),
          signal,
        );
        if (!signal.aborted) this.options.onProgress?.('watch');
      } catch (error) {
        if (signal.aborted) return;
        if (isGone(error)) {
          try {
            this.resourceVersion = undefined;
            await this.relist();
            continue;
          } catch (listError) {
            return this.fail(listError, signal);
          }
        }
        return this.fail(error, signal);
      }
    }
  }

  private fail(error: unknown, signal: AbortSignal): void {
    if (signal.aborted) return;
    if (this.abort?.signal === signal) this.abort = undefined;
    for (const handler of this.errorHandlers) handler(error);
  }

  /** One watch event into the store. An ERROR event ends the watch (thrown to the loop). */
  private apply(event: WatchEvent<T>): void {
    this.options.onProgress?.('watch');
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number };
      throw new KubeApiError(status.code ?? 500, event.object, 'WATCH', this.options.path);
    }
    const rv = event.object?.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = this.options.trim ? this.options.trim(event.object) : event.object;
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    if (rv) this.resourceVersion = rv;
    if (event.type === 'DELETED') {
      const objects = this.store.get(ns);
      const had = objects?.get(name);
      objects?.delete(name);
      if (objects?.size === 0) this.store.delete(ns);
      this.emit('delete', had && !obj.metadata ? had : obj);
      return;
    }
    let objects = this.store.get(ns);
    if (!objects) this.store.set(ns, (objects = new Map()));
    const before = objects.get(name);
    objects.set(name, obj);
    if (!before) this.emit('add', obj);
    else if (before.metadata?.resourceVersion !== rv) this.emit('update', obj);
  }

  private emit(event: InformerEvent, obj: T): void {
    for (const handler of this.handlers[event]) handler(obj);
  }
}

/** The resourceVersion asked for is too old (410 Gone, as a status or inside an ERROR event). */
export function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 410;
}
