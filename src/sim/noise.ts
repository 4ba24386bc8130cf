// The throughput noise of every partition: an AR(1) process around 1, one draw per partition per
// step from its own seeded stream. Every policy of a run sees the same noise, so worlds stepped
// together (run.ts, `simulateTogether`) share one source, which draws each step once for all.
import type { SimParams } from './params.js';
import { RandomStreams, streamSeed } from './random.js';
import type { Trace } from './trace.js';

export class NoiseSource {
  /** The multiplier of each partition's throughput at the current step. */
  readonly values: Float64Array;
  private readonly random: RandomStreams;
  private readonly decay: number;
  private readonly scale: number;
  private tick = 0;

  constructor(trace: Trace, params: SimParams) {
    const n = trace.rates.length;
    this.random = new RandomStreams(
      Array.from({ length: n }, (_, p) => streamSeed(params.seed, trace.name, 'noise', p)),
    );
    this.decay = Math.exp(-params.tickMs / params.noiseCorrelationMs);
    this.scale = params.throughputNoise * Math.sqrt(1 - this.decay ** 2);
    this.values = new Float64Array(n);
    for (let p = 0; p < n; p++) this.values[p] = 1 + params.throughputNoise * this.random.normal(p);
  }

  /** Moves to step `tick`: drawn by the first world that gets there, the others find it drawn. */
  advanceTo(tick: number): void {
    if (tick === this.tick) return;
    if (tick !== this.tick + 1)
      throw new Error(`noise drawn for step ${this.tick}, asked for step ${tick}: worlds must step together`);
    this.tick = tick;
    const values = this.values;
    const random = this.random;
    for (let p = 0; p < values.length; p++)
      values[p] = 1 + (values[p]! - 1) * this.decay + this.scale * random.normal(p);
  }
}
