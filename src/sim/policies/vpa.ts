// A VPA-like recommender and updater (the Vertical Pod Autoscaler's, with its defaults), one VPA
// per instance Deployment:
// - CPU: a decaying histogram (buckets growing 5 % from 0.01 core, half-life 24 h, weight 0.1
//   per sample) of the cores used, one sample a minute; memory: the peak of each 24 h interval,
//   8 intervals, same half-life;
// - target = p90 × 1.15, lower bound = p50 × 1.15 × (1 + 0.001/conf)^-2, upper bound =
//   p95 × 1.15 × (1 + 1/conf), conf = min(days of history, samples / 1440); minimum 25m / 250 MB;
// - the updater (every minute) evicts a pod whose request is outside [lower, upper], or that is
//   older than 12 h with a change of at least 10 %; the new pod gets the target (a restart);
// - after an OOM kill, a peak of max(used + 100 MiB, 1.2 × used) is recorded.
// `minReplicas: 1` is assumed (VPA's default of 2 would never update a one-replica instance).
// CPU limits: VPA's default controlledValues RequestsAndLimits keeps each pod's limit/request
// ratio (the first pod's: the whole-core rule); the pod's usage is its request plus the node
// headroom up to that limit, so a throttled consumer looks like it needs only 15 % more than
// it may use — VPA's well-known blindness to throttling. The tuned variant drops the CPU limit
// (RequestsOnly), follows the traffic faster (a shorter half-life) and aims higher (p95).
import type { PolicySpec, SimPolicy } from '../policy.js';
import { clampToPolicy } from '../../autoscale/sizing.js';
import { sizeForRate } from '../../autoscale/predictor.js';

const HALF_LIFE_MS = 24 * 3_600_000;
const TARGET_PERCENTILE = 0.9;
const FIRST_BUCKET = 0.01;
const RATIO = 1.05;
const BUCKETS = Math.ceil(Math.log((1000 * (RATIO - 1)) / FIRST_BUCKET + 1) / Math.log(RATIO));
const MARGIN = 0.15;
const MIN_CPU_CORES = 0.025;
const MIN_MEMORY_BYTES = 250e6;
const MEMORY_INTERVAL_MS = 24 * 3_600_000;
const MEMORY_INTERVALS = 8;
const MIB = 1024 ** 2;

const bucketStart = (i: number) => (FIRST_BUCKET * (Math.pow(RATIO, i) - 1)) / (RATIO - 1);
const bucketOf = (value: number) =>
  Math.min(
    BUCKETS - 1,
    Math.max(0, Math.floor(Math.log((value * (RATIO - 1)) / FIRST_BUCKET + 1) / Math.log(RATIO))),
  );

export class DecayingHistogram {
  readonly weights = new Float64Array(BUCKETS);
  total = 0;
  add(value: number, weight: number): void {
    this.weights[bucketOf(value)]! += weight;
    this.total += weight;
  }
  /** The end of the bucket where the cumulative weight reaches `q` (as VPA). */
  percentile(q: number): number {
    if (this.total <= 0) return 0;
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) {
      sum += this.weights[i]!;
      if (sum >= q * this.total) return bucketStart(i + 1);
    }
    return bucketStart(BUCKETS);
  }
}

interface Peak {
  startMs: number;
  bytes: number;
}

function weightedPercentile(peaks: Peak[], q: number, halfLifeMs: number): number {
  if (peaks.length === 0) return 0;
  const weighted = peaks.map((p) => ({ v: p.bytes, w: Math.pow(2, p.startMs / halfLifeMs) }));
  weighted.sort((a, b) => a.v - b.v);
  const total = weighted.reduce((s, x) => s + x.w, 0);
  let sum = 0;
  for (const x of weighted) {
    sum += x.w;
    if (sum >= q * total) return x.v;
  }
  return weighted[weighted.length - 1]!.v;
}

interface VpaState {
  cpu: DecayingHistogram;
  samples: number;
  firstSampleMs: number;
  usageSum: number;
  usageTicks: number;
  peaks: Peak[];
  current: Peak;
  startedMs: number;
  seenOoms: number;
}

interface VpaOptions {
  id: string;
  label: string;
  description: string;
  /** Half-life of the CPU histogram and of the memory peaks' weights. */
  halfLifeMs: number;
  /** The CPU target's percentile of the histogram. */
  targetPercentile: number;
  /** RequestsAndLimits (keep each pod's first limit/request ratio) or RequestsOnly without a CPU limit. */
  cpuLimit: 'ratio' | 'none';
}

function vpaLike(options: VpaOptions): PolicySpec {
  const { halfLifeMs, targetPercentile } = options;
  return {
    id: options.id,
    label: options.label,
    description: options.description,
    create({ setup }): SimPolicy {
      const states: VpaState[] = [];
      /** Per instance: CPU limit / request (Infinity: no CPU limit). */
      const limitRatios: number[] = [];
      return {
        start(world) {
          const settings = setup.config.settings;
          world.units = setup.buckets.map((partitions) => {
            const rate = partitions.reduce((s, p) => s + world.rate(p), 0);
            const sizing = clampToPolicy(sizeForRate(rate, settings), setup.policy);
            const limit = options.cpuLimit === 'none' ? Infinity : setup.cpuLimitFor(sizing);
            limitRatios.push(limit / sizing.cpuRequest!);
            states.push({
              cpu: new DecayingHistogram(),
              samples: 0,
              firstSampleMs: 0,
              usageSum: 0,
              usageTicks: 0,
              peaks: [],
              current: { startMs: 0, bytes: 0 },
              startedMs: 0,
              seenOoms: 0,
            });
            return world.newUnit(partitions, sizing.cpuRequest!, sizing.memoryRequest!, limit);
          });
        },
        step(world) {
          const now = world.nowMs;
          world.units.forEach((unit, i) => {
            const state = states[i]!;
            state.usageSum += unit.usageCores;
            state.usageTicks++;
            if (now - state.current.startMs >= MEMORY_INTERVAL_MS) {
              state.peaks.push(state.current);
              if (state.peaks.length > MEMORY_INTERVALS) state.peaks.shift();
              state.current = { startMs: now, bytes: 0 };
            }
            state.current.bytes = Math.max(state.current.bytes, unit.usageBytes);
            let oom = false;
            if (unit.oomKills > state.seenOoms) {
              state.seenOoms = unit.oomKills;
              const used = Math.max(unit.memoryBytes, state.current.bytes);
              state.current.bytes = Math.max(state.current.bytes, used + 100 * MIB, used * 1.2);
              oom = true;
            }
            if (now % 60_000 !== 0 || now === 0) return;
            // Recommender: one CPU sample a minute (the minute's average usage).
            const usage = state.usageSum / state.usageTicks;
            state.usageSum = 0;
            state.usageTicks = 0;
            if (state.samples === 0) state.firstSampleMs = now;
            state.cpu.add(Math.max(usage, FIRST_BUCKET), 0.1 * Math.pow(2, now / halfLifeMs));
            state.samples++;
            const days = (now - state.firstSampleMs) / 86_400_000;
            const conf = Math.min(days, state.samples / 1440);
            const cpu = (q: number) => Math.max(MIN_CPU_CORES, state.cpu.percentile(q) * (1 + MARGIN));
            const peaks = [...state.peaks, state.current];
            const memory = (q: number) =>
              Math.max(MIN_MEMORY_BYTES, weightedPercentile(peaks, q, halfLifeMs) * (1 + MARGIN));
            const lowerFactor = conf > 0 ? Math.pow(1 + 0.001 / conf, -2) : 0;
            const upperFactor = conf > 0 ? 1 + 1 / conf : Infinity;
            const target = { cpu: cpu(targetPercentile), memory: memory(0.9) };
            const lower = { cpu: cpu(0.5) * lowerFactor, memory: memory(0.5) * lowerFactor };
            const upper = { cpu: cpu(0.95) * upperFactor, memory: memory(0.95) * upperFactor };
            // Updater.
            const request = { cpu: unit.cpuMillis / 1000, memory: unit.memoryBytes };
            const outside =
              request.cpu < lower.cpu ||
              request.cpu > upper.cpu ||
              request.memory < lower.memory ||
              request.memory > upper.memory;
            const change = Math.abs(target.cpu - request.cpu) / request.cpu;
            const old = now - state.startedMs > 12 * 3_600_000 && change >= 0.1;
            const quickOom = oom && now - state.startedMs < 10 * 60_000;
            if (!outside && !old && !quickOom) return;
            const sized = clampToPolicy(
              {
                cpuRequest: Math.ceil(target.cpu * 1000),
                cpuLimit: Math.ceil(target.cpu * 1000),
                memoryRequest: Math.ceil(target.memory),
                memoryLimit: Math.ceil(target.memory),
              },
              setup.policy,
            );
            if (sized.cpuRequest === unit.cpuMillis && sized.memoryRequest === unit.memoryBytes) return;
            const ratio = limitRatios[i]!;
            const limit = Number.isFinite(ratio) ? Math.ceil(sized.cpuRequest! * ratio) : Infinity;
            world.resize(unit, sized.cpuRequest!, sized.memoryRequest!, 'restart', limit);
            state.startedMs = now;
          });
        },
      };
    },
  };
}

export const vpaPolicy = vpaLike({
  id: 'vpa',
  label: 'VPA-like',
  description:
    'Per-instance decaying-histogram p90 + 15 % of CPU used (half-life 24 h), memory from daily peaks; pods evicted (restarted) when outside the bounds; CPU limits keep the first pod’s limit/request ratio (RequestsAndLimits).',
  halfLifeMs: HALF_LIFE_MS,
  targetPercentile: TARGET_PERCENTILE,
  cpuLimit: 'ratio',
});

export const vpaTunedPolicy = vpaLike({
  id: 'vpa-tuned',
  label: 'VPA-like, tuned',
  description:
    'The same recommender configured for a consumer: no CPU limit (RequestsOnly, so it sees usage above the request), a 2 h half-life (it follows the daily cycle) and a p95 target.',
  halfLifeMs: 2 * 3_600_000,
  targetPercentile: 0.95,
  cpuLimit: 'none',
});
