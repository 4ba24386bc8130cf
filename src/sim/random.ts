// A small seeded random number generator (mulberry32) so that every simulation is reproducible:
// the same seed gives the same traces, noise and results on every machine.

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
}

/** Mixes a seed and a stream label into a 32-bit state, so independent streams do not correlate. */
export function streamSeed(seed: number, ...labels: (string | number)[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const label of labels) {
    const text = String(label);
    for (let i = 0; i < text.length; i++) {
      h = Math.imul(h ^ text.charCodeAt(i), 0x85ebca6b) >>> 0;
      h = (h ^ (h >>> 13)) >>> 0;
    }
    h = Math.imul(h ^ 0x27d4eb2f, 0xc2b2ae35) >>> 0;
  }
  return h >>> 0;
}

/**
 * Many independent generators in one typed array, drawn by index: what the world uses for the
 * noise of every partition at every step, without an object or a closure per partition.
 */
export class RandomStreams {
  private readonly states: Uint32Array;

  constructor(seeds: ArrayLike<number>) {
    this.states = Uint32Array.from(seeds);
  }

  /** Uniform in [0, 1) from stream `i`. */
  next(i: number): number {
    const state = (this.states[i]! + 0x6d2b79f5) >>> 0;
    this.states[i] = state;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box–Muller) from stream `i`. */
  normal(i: number): number {
    const u = Math.max(this.next(i), 1e-12);
    const v = this.next(i);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

export function createRandom(seed: number, ...labels: (string | number)[]): Random {
  const stream = new RandomStreams([streamSeed(seed, ...labels)]);
  const next = () => stream.next(0);
  return {
    next,
    normal: () => stream.normal(0),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
  };
}
