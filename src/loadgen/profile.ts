// Per-partition production rates as a function of time, and their integration into whole
// messages to send. Pure: time is passed in, so runs and tests are reproducible.

/** Messages per second for `partition` at `elapsedSeconds` after the start. */
export type RateFunction = (partition: number, elapsedSeconds: number) => number;

/**
 * A skewed, time-varying load: `rates[p]` msg/s for partition p, times the factor of the latest
 * step that applies to it, times `1 + amplitude × sin(2π (t / periodSeconds + p × phasePerPartition))`.
 * Negative results count as 0.
 */
export interface LoadProfile {
  /** Base rate of each partition in msg/s; its length is the partition count. */
  rates: readonly number[];
  sine?: {
    /** 0.5 swings the rate between 50 % and 150 % of its base. */
    amplitude: number;
    periodSeconds: number;
    /** Phase offset between neighbouring partitions, in periods (default 0: all in step). */
    phasePerPartition?: number;
  };
  /** From `atSeconds` on, the base rate of `partitions` (default all) is multiplied by `factor`. */
  steps?: ReadonlyArray<{ atSeconds: number; factor: number; partitions?: readonly number[] }>;
}

export function profileRate(profile: LoadProfile): RateFunction {
  const steps = [...(profile.steps ?? [])].sort((a, b) => a.atSeconds - b.atSeconds);
  return (partition, t) => {
    const base = profile.rates[partition] ?? 0;
    let factor = 1;
    for (const step of steps) {
      if (step.atSeconds > t) break;
      if (!step.partitions || step.partitions.includes(partition)) factor = step.factor;
    }
    let wave = 1;
    if (profile.sine && profile.sine.periodSeconds > 0) {
      const { amplitude, periodSeconds, phasePerPartition = 0 } = profile.sine;
      wave = 1 + amplitude * Math.sin(2 * Math.PI * (t / periodSeconds + partition * phasePerPartition));
    }
    return Math.max(0, base * factor * wave);
  };
}

/** Integration step: fine enough for sines with periods of a few seconds. */
const MAX_STEP_SECONDS = 0.05;

/**
 * Turns rates into whole messages: `advance(t)` returns, per partition, how many messages are due
 * between the previous call's time (initially 0) and `t`: the integral of the rate (midpoint rule),
 * with fractions carried over to the next call. The same sequence of times gives the same counts.
 */
export class RateIntegrator {
  private readonly carry: number[];
  private last = 0;

  constructor(
    private readonly rate: RateFunction,
    readonly partitions: number,
  ) {
    this.carry = new Array<number>(partitions).fill(0);
  }

  advance(elapsedSeconds: number): number[] {
    const from = this.last;
    const to = Math.max(from, elapsedSeconds);
    this.last = to;
    const steps = Math.max(1, Math.ceil((to - from) / MAX_STEP_SECONDS));
    const dt = (to - from) / steps;
    const due: number[] = [];
    for (let p = 0; p < this.partitions; p++) {
      let amount = this.carry[p]!;
      for (let i = 0; i < steps; i++) amount += this.rate(p, from + (i + 0.5) * dt) * dt;
      const whole = Math.floor(amount + 1e-9);
      this.carry[p] = amount - whole;
      due.push(whole);
    }
    return due;
  }
}
