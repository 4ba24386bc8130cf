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

export function createRandom(seed: number, ...labels: (string | number)[]): Random {
  let state = streamSeed(seed, ...labels);
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    normal: () => {
      const u = Math.max(next(), 1e-12);
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
  };
}
