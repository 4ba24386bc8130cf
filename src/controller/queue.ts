// A keyed work queue in the shape of client-go's: a key waiting to be processed is held once no
// matter how often it is added; a key being processed is never handed to a second worker, and
// if it is added meanwhile it is processed again afterwards; failures are retried with
// per-key exponential backoff. Written by hand because no maintained npm package offers these
// semantics; it is small and fully unit-tested.

export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseDelayMs: 5, maxDelayMs: 300_000 };

/** What the queue reports for client-go's workqueue metrics (times in milliseconds). */
export interface QueueObserver {
  /** A key became pending (an add of a key already pending is not counted). */
  added(): void;
  /** A key was added with its backoff after a failure. */
  retried(): void;
  /** A worker took a key that had been pending for `waitedMs`. */
  started(waitedMs: number): void;
  /** A worker finished a key after `workedMs`. */
  finished(workedMs: number): void;
}

const noQueueObserver: QueueObserver = { added() {}, retried() {}, started() {}, finished() {} };

const DEFAULT_MAX_PACING_MS = 1000;

export interface PacingOptions {
  /**
   * A key added again while in work waits, after its work, until that work is at most this share
   * of the time since it started (0.25: three times as long as it took). Without it the key is
   * handed out again at once.
   */
  busyShare?: number;
  /**
   * …but never longer than this (default 1 s): the time in work includes waiting for writes (a
   * thousand creates take seconds), which is no reason to hold the next reconcile back as long.
   */
  maxWaitMs?: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Keys added while in work, waiting out their pacing before they are handed out again. */
  private readonly pacing = new Map<string, NodeJS.Timeout>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  /** When each pending key was added, and when each key in work was taken (performance.now()). */
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();

  constructor(
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
    private readonly observer: QueueObserver = noQueueObserver,
    private readonly pacingOptions: PacingOptions = {},
  ) {}

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, performance.now());
    this.observer.added();
    if (this.processing.has(key)) return; // re-queued by done()
    this.dispatch(key);
  }

  /** Adds the key after a delay; an earlier pending delay for the key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const existing = this.timers.get(key);
    if (existing) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  /** Adds the key after its exponential backoff: base × 2^failures, capped. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    this.observer.retried();
    const delay = Math.min(this.backoff.maxDelayMs, this.backoff.baseDelayMs * 2 ** failures);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure count after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * Waits for the next key; undefined once the queue shuts down. A key is handed out from a
   * setImmediate callback, never in the microtasks of whoever added it or finished the last key:
   * a reconcile that writes nothing awaits nothing that needs the event loop, so handed out at
   * once, one reconcile followed the next inside a single turn of the loop. Watch events kept
   * arriving and adding the key while timers (the Lease's renewal, the watches' deadlines, this
   * queue's pacing) and the metrics endpoint waited: 48 s at a time with a thousand instances.
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.start(key);
      return new Promise((resolve) => setImmediate(resolve, key));
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the key processed; if it was added while processing, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    const startedAt = this.startedAt.get(key);
    this.startedAt.delete(key);
    const workedMs = startedAt === undefined ? 0 : performance.now() - startedAt;
    if (startedAt !== undefined) this.observer.finished(workedMs);
    if (!this.dirty.has(key)) return;
    // Added again while in work: pending since then (and counted then). A Consumer with a thousand
    // instances takes a few hundred milliseconds to reconcile, and while its Deployments roll out
    // their status changes come faster than that: handed out again at once, it would be worked on
    // back to back and take the event loop from the watches, the Lease and the metrics endpoint.
    const share = this.pacingOptions.busyShare;
    const paced = share !== undefined && share > 0 && share < 1 ? workedMs * (1 / share - 1) : 0;
    const waitMs = Math.min(paced, this.pacingOptions.maxWaitMs ?? DEFAULT_MAX_PACING_MS);
    if (waitMs < 1) return this.dispatch(key);
    // Meanwhile adds find the key dirty and do nothing; shutDown() clears the timer.
    const timer = setTimeout(() => {
      this.pacing.delete(key);
      this.dispatch(key);
    }, waitMs);
    timer.unref();
    this.pacing.set(key, timer);
  }

  /** A pending key goes to a get() that waits for one, else to the back of the queue. */
  private dispatch(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.start(key);
      setImmediate(waiter, key);
    } else {
      this.queue.push(key);
    }
  }

  private start(key: string): void {
    const now = performance.now();
    this.processing.add(key);
    this.observer.started(now - (this.addedAt.get(key) ?? now));
    this.addedAt.delete(key);
    this.startedAt.set(key, now);
  }

  /** How long each key in work has been worked on, in milliseconds. */
  workAgesMs(): number[] {
    const now = performance.now();
    return [...this.startedAt.values()].map((at) => now - at);
  }

  get length(): number {
    return this.queue.length;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const timer of [...this.timers.values(), ...this.pacing.values()]) clearTimeout(timer);
    this.timers.clear();
    this.pacing.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
