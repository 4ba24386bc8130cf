// Full garbage collections at the operator's quiet moments. V8 collects its old generation when
// it reaches a limit, not when the program stops allocating: the first lists of thousands of
// objects (each page parsed whole, then trimmed) and the reconciles that follow leave garbage
// resident, several times what is live, until the next growth, which an idle operator may never
// reach. So one is run when no reconcile is queued or running and the heap has grown by
// `growthBytes` since the last (or once idle after the start, for the start's own garbage), and
// one even while busy when the heap has doubled since the last. Needs the runtime's gc() (node
// --expose-gc, as the image starts it); without it nothing is done.
import { getHeapSpaceStatistics } from 'node:v8';

export interface IdleGcOptions {
  /** True while nothing is queued or being worked on. */
  idle: () => boolean;
  /**
   * The runtime's full collection (globalThis.gc under --expose-gc); `release`: also give the
   * freed memory back to the system (slower: V8 collects until nothing more is freed).
   */
  collect: (release: boolean) => void;
  /** Heap growth since the last full collection that makes one worth it when idle (default 8 MiB). */
  growthBytes?: number;
  /**
   * Heap growth that makes one worth it even while busy (default: as large as the heap was after
   * the last collection, at least 32 MiB): V8 itself lets a heap of thousands of parsed objects
   * grow to several times what is live before it collects.
   */
  busyGrowthBytes?: (baseline: number) => number;
  /** How often idleness and growth are checked (default 2 s). */
  intervalMs?: number;
  /**
   * The heap's committed size outside the young generation (default from V8's heap spaces; the
   * young generation refills with every burst of work and is not what stays resident).
   */
  heapBytes?: () => number;
  /** At least this long between two collections (default 30 s). */
  minIntervalMs?: number;
  /** The clock, ms (default Date.now). */
  now?: () => number;
}

export class IdleGc {
  private timer: NodeJS.Timeout | undefined;
  /** The heap's size after the last full collection (none yet: the first idle check collects). */
  private baseline = -Infinity;
  private lastAt = -Infinity;
  /** Collections run: for logs and tests. */
  collections = 0;

  constructor(private readonly options: IdleGcOptions) {}

  private heapBytes(): number {
    if (this.options.heapBytes) return this.options.heapBytes();
    let bytes = 0;
    for (const space of getHeapSpaceStatistics())
      if (!space.space_name.startsWith('new_')) bytes += space.space_size;
    return bytes;
  }

  /** One check: collects when idle and grown enough; returns whether it collected. */
  check(): boolean {
    const size = this.heapBytes();
    // The heap shrank by itself (V8 collected): measure growth from there.
    if (size < this.baseline) this.baseline = size;
    const grown = size - this.baseline;
    const first = this.baseline === -Infinity;
    const doubled =
      !first &&
      grown >= (this.options.busyGrowthBytes?.(this.baseline) ?? Math.max(32 * 2 ** 20, this.baseline));
    const quietAndGrown = grown >= (this.options.growthBytes ?? 8 * 2 ** 20) && this.options.idle();
    if (!doubled && !quietAndGrown) return false;
    const now = (this.options.now ?? Date.now)();
    if (now - this.lastAt < (this.options.minIntervalMs ?? 30_000)) return false;
    this.lastAt = now;
    // While busy, the freed memory is about to be used again.
    this.options.collect(quietAndGrown);
    this.collections++;
    this.baseline = this.heapBytes();
    return true;
  }

  start(): void {
    this.timer ??= setInterval(() => this.check(), this.options.intervalMs ?? 2000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

type V8Gc = (options?: { type: 'major'; execution: 'sync'; flavor?: 'regular' | 'last-resort' }) => void;

/**
 * The runtime's gc() when node runs with --expose-gc, else undefined. A plain full collection
 * leaves what it freed committed; the `last-resort` one (as under memory pressure) releases it.
 */
export function exposedGc(): ((release: boolean) => void) | undefined {
  const gc = (globalThis as { gc?: V8Gc }).gc;
  if (typeof gc !== 'function') return undefined;
  return (release) => gc({ type: 'major', execution: 'sync', flavor: release ? 'last-resort' : 'regular' });
}
