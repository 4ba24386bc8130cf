// The lag of a partition: the age of its oldest unconsumed message. The produced counter is
// recorded at every step; the message the consumer is at was produced when that counter passed
// the consumed count. A cursor per partition only moves on, so only the steps from the cursor to
// now are kept, in a ring per partition: the rings start side by side in one array and a ring that
// a backlog outgrows moves to an array of its own, twice as large. Memory follows the longest lag,
// not the length of the run.

const FIRST_RING = 16;

export class LagClock {
  /** Per partition: the array its ring is in (the shared one, or its own) and where it starts. */
  private readonly rings: Float64Array[];
  private readonly offsets: Int32Array;
  /** Ring size - 1 (a power of two - 1), per partition. */
  private readonly masks: Int32Array;
  /** Per partition: the last step whose produced count the consumer has passed. */
  private readonly cursors: Int32Array;

  constructor(
    partitions: number,
    private readonly tickMs: number,
  ) {
    const shared = new Float64Array(partitions * FIRST_RING);
    this.rings = Array.from({ length: partitions }, () => shared);
    this.offsets = Int32Array.from({ length: partitions }, (_, p) => p * FIRST_RING);
    this.masks = new Int32Array(partitions).fill(FIRST_RING - 1);
    this.cursors = new Int32Array(partitions);
  }

  /** Records the produced counter of `partition` at step `tick` (steps are recorded in order). */
  record(partition: number, tick: number, produced: number): void {
    if (tick - this.cursors[partition]! > this.masks[partition]!) this.grow(partition, tick);
    this.rings[partition]![this.offsets[partition]! + (tick & this.masks[partition]!)] = produced;
  }

  /**
   * Lag in ms at step `tick` (time `nowMs`), 0 when (almost) nothing is waiting. The cursor moves
   * on even then: it moves while the produced count at the next step is within the consumed
   * count, which only grows, so moving it earlier ends where moving it later would.
   */
  lagMs(partition: number, tick: number, nowMs: number, consumed: number, backlog: number): number {
    const ring = this.rings[partition]!;
    const offset = this.offsets[partition]!;
    const mask = this.masks[partition]!;
    let k = this.cursors[partition]!;
    while (k < tick && ring[offset + ((k + 1) & mask)]! <= consumed) k++;
    this.cursors[partition] = k;
    if (backlog <= 1e-6) return 0;
    // At the newest step there is no next count to interpolate to: the message is from now.
    const at = ring[offset + (k & mask)]!;
    const span = k < tick ? ring[offset + ((k + 1) & mask)]! - at : 0;
    const within = span > 0 ? (consumed - at) / span : 0;
    return Math.max(0, nowMs - (k + within) * this.tickMs);
  }

  private grow(partition: number, tick: number): void {
    const ring = this.rings[partition]!;
    const offset = this.offsets[partition]!;
    const mask = this.masks[partition]!;
    const from = this.cursors[partition]!;
    let size = (mask + 1) * 2;
    while (tick - from > size - 1) size *= 2;
    const bigger = new Float64Array(size);
    for (let j = from; j < tick; j++) bigger[j & (size - 1)] = ring[offset + (j & mask)]!;
    this.rings[partition] = bigger;
    this.offsets[partition] = 0;
    this.masks[partition] = size - 1;
  }
}
