// The generated traces of the benchmark. Each is a function of a seed; rates are per minute,
// with 3 % multiplicative jitter per minute on top of the shape, so that no policy sees a
// perfectly flat line. Partition weights follow Zipf's law (a few busy partitions, a long tail),
// as keyed Kafka topics usually do.
import { createRandom, type Random } from './random.js';
import type { MetricGap, StallWindow, Trace } from './trace.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface TraceOptions {
  seed: number;
  partitions: number;
  /** Production rate of the busiest partition at the peak of the shape, msg/s. */
  peakRate: number;
}

export const DEFAULT_TRACE_OPTIONS: TraceOptions = { seed: 42, partitions: 16, peakRate: 3000 };

/** Zipf weights 1/(i+1)^s, the busiest = 1. */
export function zipfWeights(partitions: number, exponent: number): number[] {
  return Array.from({ length: partitions }, (_, i) => 1 / Math.pow(i + 1, exponent));
}

/** Day-night shape in [low, 1]: lowest at 04:00, highest at 16:00. */
export function diurnal(timeMs: number, low: number): number {
  const phase = ((timeMs % DAY) / DAY) * 2 * Math.PI;
  return low + (1 - low) * (0.5 - 0.5 * Math.cos(phase - (4 / 24) * 2 * Math.PI));
}

interface Build {
  name: string;
  title: string;
  description: string;
  durationMs: number;
  options: TraceOptions;
  /** Shape × weight, before jitter: msg/s of partition p at time t. */
  rate: (partition: number, timeMs: number, random: Random) => number;
  stalls?: StallWindow[];
  gaps?: MetricGap[];
  jitter?: number;
}

function build(b: Build): Trace {
  const steps = Math.ceil(b.durationMs / MINUTE);
  const rates = Array.from({ length: b.options.partitions }, (_, p) => {
    const random = createRandom(b.options.seed, b.name, 'jitter', p);
    const shapeRandom = createRandom(b.options.seed, b.name, 'shape', p);
    const series = new Float64Array(steps);
    for (let i = 0; i < steps; i++) {
      const jitter = 1 + (b.jitter ?? 0.03) * random.normal();
      series[i] = Math.max(0, b.rate(p, i * MINUTE, shapeRandom) * jitter);
    }
    return series;
  });
  return {
    name: b.name,
    title: b.title,
    description: b.description,
    stepMs: MINUTE,
    durationMs: steps * MINUTE,
    rates,
    stalls: b.stalls ?? [],
    gaps: b.gaps ?? [],
  };
}

/** Bursts: at random times a partition produces `factor` × its rate for a few minutes. */
function burstSchedule(options: TraceOptions, name: string, durationMs: number, perPartitionPerDay: number) {
  const random = createRandom(options.seed, name, 'bursts');
  const bursts: { partition: number; startMs: number; endMs: number; factor: number }[] = [];
  const count = Math.round((perPartitionPerDay * options.partitions * durationMs) / DAY);
  for (let i = 0; i < count; i++) {
    const startMs = Math.floor((random.next() * (durationMs - 30 * MINUTE)) / MINUTE) * MINUTE;
    const length = random.int(3, 20) * MINUTE;
    bursts.push({
      partition: random.int(0, options.partitions - 1),
      startMs,
      endMs: startMs + length,
      factor: 1.5 + random.next() * 1.5,
    });
  }
  // Each partition's bursts, in the order drawn (the product of the factors keeps that order).
  const byPartition = Array.from({ length: options.partitions }, () => [] as typeof bursts);
  for (const b of bursts) byPartition[b.partition]!.push(b);
  return (partition: number, timeMs: number) =>
    (byPartition[partition] ?? []).reduce(
      (f, b) => (timeMs >= b.startMs && timeMs < b.endMs ? f * b.factor : f),
      1,
    );
}

export function diurnalTrace(options = DEFAULT_TRACE_OPTIONS): Trace {
  const weights = zipfWeights(options.partitions, 0.6);
  return build({
    name: 'diurnal',
    title: 'Diurnal',
    description:
      'Two days of day-night traffic (night = 25 % of the afternoon peak), mildly skewed partitions (Zipf 0.6).',
    durationMs: 2 * DAY,
    options,
    rate: (p, t) => options.peakRate * weights[p]! * diurnal(t, 0.25),
  });
}

export function zipfTrace(options = DEFAULT_TRACE_OPTIONS): Trace {
  const weights = zipfWeights(options.partitions, 1.2);
  return build({
    name: 'zipf',
    title: 'Zipf-skewed partitions',
    description:
      'One day of strongly skewed partitions (Zipf 1.2: the busiest gets 28× the quietest) under a gentle ±20 % swell every 3 hours.',
    durationMs: DAY,
    options,
    rate: (p, t) =>
      options.peakRate * weights[p]! * (0.8 + 0.2 * Math.sin((2 * Math.PI * t) / (3 * HOUR) + p)),
  });
}

export function burstsTrace(options = DEFAULT_TRACE_OPTIONS): Trace {
  const weights = zipfWeights(options.partitions, 0.6);
  const bursts = burstSchedule(options, 'bursts', DAY, 3);
  return build({
    name: 'bursts',
    title: 'Bursts',
    description:
      'One day of steady traffic at 60 % of the peak with about 3 bursts per partition (1.5–3× for 3–20 minutes each).',
    durationMs: DAY,
    options,
    rate: (p, t) => options.peakRate * weights[p]! * 0.6 * bursts(p, t),
  });
}

export function stepTrace(options = DEFAULT_TRACE_OPTIONS): Trace {
  const weights = zipfWeights(options.partitions, 0.6);
  return build({
    name: 'step',
    title: 'Step change',
    description:
      '12 hours: every partition jumps from 40 % to 100 % of its peak at 04:00 (a new producer goes live) and back to 40 % at 08:00.',
    durationMs: 12 * HOUR,
    options,
    rate: (p, t) => options.peakRate * weights[p]! * (t >= 4 * HOUR && t < 8 * HOUR ? 1 : 0.4),
  });
}

export function hotPartitionTrace(options = DEFAULT_TRACE_OPTIONS): Trace {
  const weights = zipfWeights(options.partitions, 0.6);
  const hot = Math.min(5, options.partitions - 1);
  return build({
    name: 'hot-partition',
    title: 'Single hot partition',
    description: `12 hours at 50 % of the peak; from 03:00 to 06:00 partition ${hot} ramps (over 30 minutes) to 6× its rate, as a single hot key would make it.`,
    durationMs: 12 * HOUR,
    options,
    rate: (p, t) => {
      const base = options.peakRate * weights[p]! * 0.5;
      if (p !== hot || t < 3 * HOUR || t >= 6 * HOUR) return base;
      return base * (1 + 5 * Math.min(1, (t - 3 * HOUR) / (30 * MINUTE)));
    },
  });
}

export function stalledTrace(options = DEFAULT_TRACE_OPTIONS): Trace {
  const weights = zipfWeights(options.partitions, 0.6);
  return build({
    name: 'stalled',
    title: 'Stalled consumer',
    description:
      '12 hours at 60 % of the peak; the consumer of partition 2 processes nothing for 20 minutes at 03:00, and that of partition 9 for 45 minutes at 07:00 (a poison message, a stuck dependency). More CPU does not help while stalled; afterwards the backlog must be drained.',
    durationMs: 12 * HOUR,
    options,
    rate: (p, t) =>
      options.peakRate * weights[p]! * 0.6 * (1 + 0.1 * Math.sin((2 * Math.PI * t) / (2 * HOUR))),
    stalls: [
      { partition: 2, startMs: 3 * HOUR, endMs: 3 * HOUR + 20 * MINUTE },
      { partition: Math.min(9, options.partitions - 1), startMs: 7 * HOUR, endMs: 7 * HOUR + 45 * MINUTE },
    ],
  });
}

export function gapsTrace(options = DEFAULT_TRACE_OPTIONS): Trace {
  const weights = zipfWeights(options.partitions, 0.6);
  return build({
    name: 'metric-gaps',
    title: 'Gaps in metrics',
    description:
      'The diurnal morning ramp (12 hours from midnight) while the metrics vanish: the exporter is gone 02:00–02:40 and 07:00–08:00 (series absent), Prometheus is unreachable 10:00–10:30 (queries fail).',
    durationMs: 12 * HOUR,
    options,
    rate: (p, t) => options.peakRate * weights[p]! * diurnal(t, 0.25),
    gaps: [
      { kind: 'absent', startMs: 2 * HOUR, endMs: 2 * HOUR + 40 * MINUTE },
      { kind: 'absent', startMs: 7 * HOUR, endMs: 8 * HOUR },
      { kind: 'error', startMs: 10 * HOUR, endMs: 10 * HOUR + 30 * MINUTE },
    ],
  });
}

export function weekTrace(options = DEFAULT_TRACE_OPTIONS): Trace {
  const weights = zipfWeights(options.partitions, 0.8);
  const bursts = burstSchedule(options, 'week', 7 * DAY, 1);
  const hot = Math.min(3, options.partitions - 1);
  return build({
    name: 'week',
    title: 'Week-long mix',
    description:
      'Seven days: diurnal traffic (Zipf 0.8), weekend days at 60 %, about one burst per partition per day, traffic 1.5× higher from day 4 on (a step), partition 3 hot (4×) for 4 hours on day 2, partition 7 stalled for 30 minutes on day 3, and the metrics absent for 40 minutes on day 5 and unreachable for 20 minutes on day 6.',
    durationMs: 7 * DAY,
    options,
    rate: (p, t) => {
      const day = Math.floor(t / DAY);
      const weekend = day === 5 || day === 6 ? 0.6 : 1;
      const step = day >= 3 ? 1.5 : 1;
      const hotFactor = p === hot && t >= DAY + 10 * HOUR && t < DAY + 14 * HOUR ? 4 : 1;
      return (
        (options.peakRate / 1.5) * weights[p]! * diurnal(t, 0.25) * weekend * step * hotFactor * bursts(p, t)
      );
    },
    stalls: [
      {
        partition: Math.min(7, options.partitions - 1),
        startMs: 2 * DAY + 15 * HOUR,
        endMs: 2 * DAY + 15 * HOUR + 30 * MINUTE,
      },
    ],
    gaps: [
      { kind: 'absent', startMs: 4 * DAY + 9 * HOUR, endMs: 4 * DAY + 9 * HOUR + 40 * MINUTE },
      { kind: 'error', startMs: 5 * DAY + 14 * HOUR, endMs: 5 * DAY + 14 * HOUR + 20 * MINUTE },
    ],
  });
}

/**
 * Swings like production traffic: minute-level noise (a multiplicative AR(1) walk per partition
 * plus 10 % jitter), quiet partitions at zero for hours at night (the quieter, the longer), and
 * weekends at 40 % of a weekday.
 */
export function realWorldTrace(options = DEFAULT_TRACE_OPTIONS): Trace {
  const weights = zipfWeights(options.partitions, 1);
  const walk = new Float64Array(options.partitions);
  return build({
    name: 'real-world',
    title: 'Real-world swings',
    description:
      'Seven days starting on a Monday: day-night traffic down to zero at night on the quieter partitions (the quieter, the longer), weekends at 40 %, strongly skewed partitions (Zipf 1.0), and minute-level swings (a random walk of about ±30 % per partition plus 10 % jitter).',
    durationMs: 7 * DAY,
    options,
    jitter: 0.1,
    rate: (p, t, random) => {
      walk[p] = 0.9 * walk[p]! + 0.13 * random.normal();
      const day = Math.floor(t / DAY);
      const weekend = day === 5 || day === 6 ? 0.4 : 1;
      // Below zero for part of the night: the shape clamps there, so the partition produces nothing.
      const floor = -0.1 - (0.5 * p) / Math.max(1, options.partitions - 1);
      const shape = Math.max(0, diurnal(t, floor));
      return options.peakRate * weights[p]! * shape * weekend * Math.exp(walk[p]!);
    },
  });
}

export const traceGenerators: Record<string, (options?: TraceOptions) => Trace> = {
  diurnal: diurnalTrace,
  zipf: zipfTrace,
  bursts: burstsTrace,
  step: stepTrace,
  'hot-partition': hotPartitionTrace,
  stalled: stalledTrace,
  'metric-gaps': gapsTrace,
  week: weekTrace,
  'real-world': realWorldTrace,
};
