// The Consumers as this operator's own status writes left them, until the informer has caught up.
// The reconcile after a status write must plan from that status: the informer may show the
// object from before the write for a while (seconds on a busy API server), and a reconcile that
// took the older status for the stored one would write again what it believed missing (a
// second, needless status write, e.g. an instance's last change undone).
import type { Consumer } from '../api/schema.js';
import { isAtLeast } from './cache.js';

export class OwnStatusWrites {
  private readonly written = new Map<string, Consumer>();

  /** The object the API server returned for a status write of the Consumer under `key`. */
  remember(key: string, stored: Consumer): void {
    if (stored.metadata.resourceVersion) this.written.set(key, stored);
  }

  /**
   * The newer of the cached Consumer and the one written last: the written one while the cache
   * holds an older version of the same object (by resourceVersion), else the cached one.
   */
  latest(key: string, cached: Consumer): Consumer {
    const own = this.written.get(key);
    if (!own) return cached;
    if (
      own.metadata.uid === cached.metadata.uid &&
      !isAtLeast(cached.metadata.resourceVersion, own.metadata.resourceVersion!)
    )
      return own;
    this.written.delete(key);
    return cached;
  }

  forget(key: string): void {
    this.written.delete(key);
  }
}
