// What every world of a run sees at a step, whatever its policy: the production of each partition
// (from the trace) and the throughput noise (an AR(1) process around 1, one draw per partition
// per step from its own seeded stream). Worlds stepped together (run.ts, `simulateTogether`)
// share one StepInputs, which computes each step once for all of them.
import type { SimParams } from './params.js';
import { RandomStreams, streamSeed } from './random.js';
import type { Trace } from './trace.js';

export class StepInputs {
  /** The multiplier of each partition's throughput at the current step. */
  readonly noise: Float64Array;
  private readonly random: RandomStreams;
  private readonly decay: number;
  private readonly scale: number;
  private noiseTick = 0;
  /** Messages each partition produces in one step, for the trace step `amountsStep`. */
  private readonly amounts: Float64Array;
  private amountsStep = -1;

  constructor(
    private readonly trace: Trace,
    private readonly params: SimParams,
  ) {
    const n = trace.rates.length;
    this.random = new RandomStreams(
      Array.from({ length: n }, (_, p) => streamSeed(params.seed, trace.name, 'noise', p)),
    );
    this.decay = Math.exp(-params.tickMs / params.noiseCorrelationMs);
    this.scale = params.throughputNoise * Math.sqrt(1 - this.decay ** 2);
    this.noise = new Float64Array(n);
    for (let p = 0; p < n; p++) this.noise[p] = 1 + params.throughputNoise * this.random.normal(p);
    this.amounts = new Float64Array(n);
  }

  /** Moves the noise to step `tick`: drawn by the first world that gets there, the others find it drawn. */
  noiseAt(tick: number): void {
    if (tick === this.noiseTick) return;
    if (tick !== this.noiseTick + 1)
      throw new Error(
        `noise drawn for step ${this.noiseTick}, asked for step ${tick}: worlds must step together`,
      );
    this.noiseTick = tick;
    const noise = this.noise;
    const random = this.random;
    for (let p = 0; p < noise.length; p++)
      noise[p] = 1 + (noise[p]! - 1) * this.decay + this.scale * random.normal(p);
  }

  /**
   * Messages each partition produces in the step that starts at `timeMs`: its rate then (the trace
   * step that contains it, as `rateAt`) × the step's length. Computed when the trace step changes.
   */
  productionAt(timeMs: number): Float64Array {
    const step = Math.max(0, Math.floor(timeMs / this.trace.stepMs));
    if (step !== this.amountsStep) {
      const seconds = this.params.tickMs / 1000;
      const rates = this.trace.rates;
      for (let p = 0; p < rates.length; p++) {
        const series = rates[p]!;
        this.amounts[p] = series[Math.min(series.length - 1, step)]! * seconds;
      }
      this.amountsStep = step;
    }
    return this.amounts;
  }
}
