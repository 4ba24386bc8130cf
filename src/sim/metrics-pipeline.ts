// What the operator can know: an exporter publishes each partition's log-end and committed
// offsets, Prometheus scrapes them every scrapeInterval, and the queries compute
// `rate(offset[window])` (production, consumption) and the difference of the last samples
// (messages behind). So a reading is as old as the last scrape, and a rate is the average of the
// last window: the delays any real pipeline has. During an `absent` gap the exporter is gone (the
// scrapes record nothing: the series vanish, a rate needs two samples in its window); during an
// `error` gap the query itself fails.
import type { PartitionSample } from '../metrics/types.js';
import { inWindow, type MetricGap } from './trace.js';

export interface Reading {
  error?: string;
  samples: Map<number, PartitionSample>;
}

export class MetricsPipeline {
  private readonly capacity: number;
  private readonly times: Float64Array;
  /** Per slot: produced and consumed offsets per partition; NaN when the scrape found nothing. */
  private readonly produced: Float64Array[];
  private readonly consumed: Float64Array[];
  private count = 0;
  /** Scratch: the slots inside the rate window, newest first. */
  private readonly slots: number[] = [];

  constructor(
    private readonly partitions: number,
    private readonly scrapeIntervalMs: number,
    private readonly rateWindowMs: number,
    private readonly gaps: readonly MetricGap[],
  ) {
    this.capacity = Math.ceil(rateWindowMs / scrapeIntervalMs) + 2;
    this.times = new Float64Array(this.capacity);
    this.produced = Array.from({ length: this.capacity }, () => new Float64Array(partitions));
    this.consumed = Array.from({ length: this.capacity }, () => new Float64Array(partitions));
  }

  isScrapeDue(timeMs: number): boolean {
    return timeMs % this.scrapeIntervalMs === 0;
  }

  scrape(timeMs: number, produced: Float64Array, consumed: Float64Array): void {
    const slot = this.count % this.capacity;
    this.times[slot] = timeMs;
    const absent = this.inGap('absent', timeMs);
    for (let p = 0; p < this.partitions; p++) {
      this.produced[slot]![p] = absent ? NaN : produced[p]!;
      this.consumed[slot]![p] = absent ? NaN : consumed[p]!;
    }
    this.count++;
  }

  private inGap(kind: MetricGap['kind'], timeMs: number): boolean {
    for (const gap of this.gaps) if (gap.kind === kind && inWindow(gap, timeMs)) return true;
    return false;
  }

  /** What the three queries return at `timeMs` (the latest scrape at or before it). */
  read(timeMs: number): Reading {
    const samples = new Map<number, PartitionSample>();
    if (this.inGap('error', timeMs)) return { error: 'metrics source unreachable', samples };
    if (this.count === 0) return { samples };
    const lastSlot = (this.count - 1) % this.capacity;
    const lastTime = this.times[lastSlot]!;
    const slots = this.slots;
    slots.length = 0;
    for (let i = 0; i < Math.min(this.count, this.capacity); i++) {
      const slot = (this.count - 1 - i + this.capacity) % this.capacity;
      if (this.times[slot]! < lastTime - this.rateWindowMs) break;
      slots.push(slot); // newest first
    }
    for (let p = 0; p < this.partitions; p++) {
      const sample: PartitionSample = {};
      const lastProduced = this.produced[lastSlot]![p]!;
      if (!Number.isNaN(lastProduced)) sample.behind = lastProduced - this.consumed[lastSlot]![p]!;
      // The newest and the oldest scrape in the window that found the partition.
      let newest = -1;
      let oldest = -1;
      for (const s of slots) {
        if (Number.isNaN(this.produced[s]![p]!)) continue;
        if (newest < 0) newest = s;
        else oldest = s;
      }
      if (oldest >= 0) {
        const seconds = (this.times[newest]! - this.times[oldest]!) / 1000;
        sample.production = (this.produced[newest]![p]! - this.produced[oldest]![p]!) / seconds;
        sample.consumption = (this.consumed[newest]![p]! - this.consumed[oldest]![p]!) / seconds;
      }
      if (sample.behind !== undefined || sample.production !== undefined) samples.set(p, sample);
    }
    return { samples };
  }
}
