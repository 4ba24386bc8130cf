// What a core really processes, learned from the reads: every sizing divides by ratePerCore, a
// number the Consumer's author guesses. While an instance is behind and still consuming, it
// consumes as fast as its CPU allows, so its consumption per requested core measures the capacity
// (an estimate); while it keeps up, its consumption per requested core is only a lower bound.
// Estimates are weighed the way the VPA's recommender weighs its samples: each counts 1 and loses
// half its weight every CAPACITY_HALF_LIFE_MS, so confidence grows with evidence and decays with
// age. Pure: the state in, the state out, time as a parameter.
import type { PartitionSample } from '../metrics/types.js';
import type { ScalingState } from './policy.js';
import { instanceSignal, type PartitionSignal } from './signals.js';
import type { Sizing } from './sizing.js';
import type { CapacityStatus } from '../api/schema.js';
import { ScalingStatus } from '../api/constants.js';

/** What was learned, as kept in the Consumer's status between reads and across restarts. */
export interface CapacityState {
  /** Learned messages per second per requested core, from saturated reads; undefined before any. */
  learned: number | undefined;
  /** Weight of the saturated reads behind `learned`, decayed with age. */
  weight: number;
  /** Highest messages per second per requested core seen while keeping up, decayed with age. */
  lowerBound: number | undefined;
  /** When the state last changed, ms since the epoch. */
  updatedAtMs: number;
  /**
   * Each instance's CPU request (by its partitions) as the last read saw it, and since when: a
   * resize without a change of scaling state (no pending period) is a change too. In memory only:
   * after a restart the scaling state's last change stands for it.
   */
  sizes?: Readonly<Record<string, InstanceSize>>;
  /**
   * While probing: the rate per core the sizing uses, and since when. In memory only: after a
   * restart the probe starts again from the lower bound.
   */
  probe?: Probe;
}

export interface InstanceSize {
  cpuMillis: number;
  sinceMs: number;
  /** When a saturated read of this instance last counted as evidence. */
  estimatedAtMs?: number;
  /** The largest request since `sinceMs`, when small steps (SMALL_RESIZE) changed it since. */
  peakMillis?: number;
  /** The request before the change at `sinceMs` (the largest it reached), when one was seen. */
  fromMillis?: number;
  /** Its backlog (messages) at the first read at this size, in a warm-up after a probe shrank it. */
  backlog?: { messages: number; atMs: number };
}

export interface Probe {
  ratePerCore: number;
  sinceMs: number;
}

export const EMPTY_CAPACITY: CapacityState = {
  learned: undefined,
  weight: 0,
  lowerBound: undefined,
  updatedAtMs: 0,
};

/** Evidence loses half its weight in a day: a change of code or hardware is learned anew within days. */
export const CAPACITY_HALF_LIFE_MS = 24 * 3600_000;
/** Confidence = weight / (weight + this): 0.5 after two saturated reads, 0.8 after eight. */
const CONFIDENCE_PIVOT = 2;
/**
 * The learned value is used from this confidence on (three saturated reads: two let one probe's
 * overshoot decide); the configured one below it.
 */
export const MIN_CONFIDENCE = 0.55;
/** A cap on the weight, so that new evidence always moves the estimate by 1/(cap+1) at least. */
const MAX_WEIGHT = 20;
/** The learned value stays within [ratePerCore × MIN_FACTOR, ratePerCore × MAX_FACTOR]. */
export const CAPACITY_MIN_FACTOR = 0.25;
export const CAPACITY_MAX_FACTOR = 4;
/**
 * The time between two reads the constants below were chosen at (the original's sample
 * minSyncPeriod); used when the caller gives none.
 */
export const DEFAULT_READ_PERIOD_MS = 60_000;
/** An instance keeps up when its lag is at most this (what a consumer's commit cadence shows). */
const KEEPING_UP_LAG_MS = 2_000;
/**
 * An instance is saturated when its lag is at least this many read periods: the backlog lasted
 * through the rates the read saw (they span a read period at least), so the consumption is what
 * its CPU allowed and not a backlog that drained in between.
 */
const SATURATED_READS = 0.5;
/** … and at least this many times KEEPING_UP_LAG_MS, so a keeping-up consumer is never taken for a saturated one. */
const SATURATED_OVER_KEEPING_UP = 2;
/**
 * Closer to tolerableLag than that, a Consumer read every few seconds is resized before it gets
 * there; it is saturated too when it falls behind (consumption below production by more than this
 * share, beyond the rates' noise) while its backlog was above the keeping-up band through the
 * whole read period: a consumer with spare CPU and a backlog does not fall further behind.
 */
const FALLING_BEHIND_SHARE = 0.1;
/**
 * Reads within this many read periods after an instance's resources changed show a warm-up (and
 * rate windows that still hold the time before), not its capacity.
 */
const WARM_UP_READS = 4;
/**
 * …and never less than this: a resize reaches the pod some seconds after the decision (the
 * node applies it, the consumer notices its new CPU), which four reads a few seconds apart miss.
 */
const WARM_UP_MIN_MS = 15_000;
/**
 * A resize by at most this share of the size the last warm-up began at (a 100m step of a pod of
 * 700m, the sizing following production's noise) starts no warm-up of its own: it moves a rate
 * per core by less than that, where a warm-up after every such step left a Consumer read every
 * few seconds without evidence for minutes. Steps that add up to more do start one.
 */
const SMALL_RESIZE = 0.15;
/**
 * While other instances keep up, the saturated ones are the slowest pods (a hot key, a busy node),
 * and one of them saturated read after read says the same thing again: its rate windows overlap
 * and whatever makes it slow lasts. Then each instance counts once per this many read periods, so
 * the slowest pods do not outvote the rest and pull the learned value below what a typical pod
 * does. When no instance keeps up, the saturated ones are no such selection: every read counts.
 */
const ESTIMATE_SPACING_READS = 5;

/** The estimator's time thresholds for a Consumer read every `readPeriodMs`. */
export interface CapacityTimings {
  readPeriodMs: number;
  saturatedLagMs: number;
  keepingUpLagMs: number;
  warmUpMs: number;
  estimateSpacingMs: number;
}

/**
 * Thresholds relative to the time between reads, so that the same rule holds for a Consumer read
 * every 2 s and one read every minute (30 s saturated lag and a 4-minute warm-up at 1 minute).
 */
export function capacityTimings(readPeriodMs: number = DEFAULT_READ_PERIOD_MS): CapacityTimings {
  const period = Number.isFinite(readPeriodMs) && readPeriodMs > 0 ? readPeriodMs : DEFAULT_READ_PERIOD_MS;
  return {
    readPeriodMs: period,
    saturatedLagMs: Math.max(SATURATED_READS * period, SATURATED_OVER_KEEPING_UP * KEEPING_UP_LAG_MS),
    keepingUpLagMs: KEEPING_UP_LAG_MS,
    warmUpMs: Math.max(WARM_UP_READS * period, WARM_UP_MIN_MS),
    estimateSpacingMs: ESTIMATE_SPACING_READS * period,
  };
}

/**
 * Without a confident estimate, a lower bound close to the value in use means the instances have
 * no spare capacity to show: the value in use steps up by PROBE_STEP, so the next sizing is
 * smaller and either keeps up (a higher lower bound) or lags (an estimate). Once an instance
 * resized under the probe has kept up past its warm-up, the probe steps up by PROBE_STEP again
 * (from the probe, not from the bound: an instance sized with spare CPU shows a bound below the
 * rate it was sized with, so steps from the bound would hardly move).
 */
const PROBE_NEAR = 0.8;
const PROBE_STEP = 1.25;
/**
 * The step of a probe that held: larger, so that a probe that passes the real value overshoots it
 * clearly (a pod short by a few percent lags too slowly to tell from noise) and shows an estimate.
 */
const PROBE_GROWTH = 1.5;
/** A view this much above the probe has been overtaken by the bound. */
const PROBE_OVERTAKEN = 0.01;
/** An estimate below this share of the lower bound is dropped (see learnCapacity). */
const PLAUSIBLE_SHARE = 0.8;
/** A learned value within this share of the configured one is not used. */
export const DEAD_BAND = 0.1;

export interface CapacityInstance {
  partitions: readonly number[];
  current: Sizing;
  state: ScalingState;
  paused: boolean;
  isNew?: boolean;
  /** assignment Balanced: the pods that share the partitions, each at `current` (absent: one). */
  replicas?: number;
}

const decayFactor = (fromMs: number, toMs: number) =>
  fromMs <= 0 ? 1 : Math.pow(0.5, Math.max(0, toMs - fromMs) / CAPACITY_HALF_LIFE_MS);

export const confidenceOf = (weight: number): number => weight / (weight + CONFIDENCE_PIVOT);

/** The state as it stands at `nowMs`: weights and lower bound decayed. */
export function agedCapacity(state: CapacityState, nowMs: number): CapacityState {
  const f = decayFactor(state.updatedAtMs, nowMs);
  return {
    learned: state.learned,
    weight: state.weight * f,
    lowerBound: state.lowerBound === undefined ? undefined : state.lowerBound * f,
    updatedAtMs: state.updatedAtMs,
  };
}

/** The q-quantile (nearest rank) of a non-empty list. */
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const median = (values: number[]) => quantile(values, 0.5);
/** Which saturated instance speaks for the read (see learnCapacity). */
const ESTIMATE_QUANTILE = 0.75;

const clampRate = (value: number, configured: number) =>
  Math.min(configured * CAPACITY_MAX_FACTOR, Math.max(configured * CAPACITY_MIN_FACTOR, value));

/** The sum of one field over partitions; undefined when one is unknown or not a rate. */
function total(
  partitions: readonly PartitionSignal[],
  field: 'consumption' | 'production',
): number | undefined {
  let sum = 0;
  for (const p of partitions) {
    const value = p.sample[field];
    if (value === undefined || !Number.isFinite(value) || value < 0) return undefined;
    sum += value;
  }
  return sum;
}

/**
 * Falling behind with a backlog all through the read: the lag a read period ago (the lag now less
 * what the shortfall added since) was already above the keeping-up band.
 */
function fallingBehind(
  lagMs: number,
  production: number | undefined,
  consumption: number,
  timings: CapacityTimings,
): boolean {
  if (production === undefined || !(production > 0) || !shortOf(production, consumption)) return false;
  const shortfall = 1 - consumption / production!;
  return lagMs - shortfall * timings.readPeriodMs > timings.keepingUpLagMs;
}

/**
 * Consumption below production by more than the rates' noise; true without a production rate.
 * Such an instance does not keep up, however small its lag yet.
 */
const shortOf = (production: number | undefined, consumption: number): boolean =>
  production === undefined || !(production > 0) || consumption < production * (1 - FALLING_BEHIND_SHARE);

const sizeKey = (instance: CapacityInstance) => instance.partitions.join(',');

/** Each instance's CPU request now, and since when (as far as `previous` knows). */
export function instanceSizes(
  instances: readonly CapacityInstance[],
  previous: Readonly<Record<string, InstanceSize>> | undefined,
  nowMs: number,
): Record<string, InstanceSize> {
  const sizes: Record<string, InstanceSize> = {};
  for (const instance of instances) {
    if (instance.isNew) continue;
    const cpuMillis = instance.current.cpuRequest ?? 0;
    const before = previous?.[sizeKey(instance)];
    // A small step (the sizing following production's noise) keeps the size it is measured from.
    if (before && before.cpuMillis > 0 && Math.abs(cpuMillis / before.cpuMillis - 1) <= SMALL_RESIZE) {
      const peakMillis = Math.max(before.peakMillis ?? before.cpuMillis, cpuMillis);
      sizes[sizeKey(instance)] = peakMillis > before.cpuMillis ? { ...before, peakMillis } : before;
      continue;
    }
    // Never seen (a first read, a restart): since the beginning of time, the scaling state decides.
    if (before && before.cpuMillis === cpuMillis) {
      sizes[sizeKey(instance)] = before;
      continue;
    }
    sizes[sizeKey(instance)] = {
      cpuMillis,
      sinceMs: !before ? 0 : nowMs,
      ...(before ? { fromMillis: before.peakMillis ?? before.cpuMillis } : {}),
      ...(before?.estimatedAtMs !== undefined ? { estimatedAtMs: before.estimatedAtMs } : {}),
    };
  }
  return sizes;
}

export interface CapacityObservations {
  /** Per-core rates of saturated instances. */
  estimates: number[];
  /** The instances (by their partitions) behind `estimates`. */
  estimatedBy: string[];
  /** Per-core rates of keeping-up instances. */
  bounds: number[];
  /**
   * When each instance behind `bounds` was last resized (0: not since it was first seen);
   * undefined for one waiting out a pending scale-down (larger than its sizing asks).
   */
  boundsResizedAtMs: (number | undefined)[];
  /** Some instance was saturated, counted or not (overshot ones aside). */
  saturated: boolean;
  /** The instances (by their partitions) a probe shrank below what they need, falling behind now. */
  overshot: string[];
  /** The backlog of each instance in a warm-up after a probe shrank it, at its first read at that size. */
  backlogs: Record<string, { messages: number; atMs: number }>;
}

/** What one read says: per-core rates of saturated instances (estimates) and keeping-up ones (bounds). */
export function capacityObservations(
  instances: readonly CapacityInstance[],
  samples: ReadonlyMap<number, PartitionSample>,
  nowMs: number,
  timings: CapacityTimings = capacityTimings(),
  sizes: Readonly<Record<string, InstanceSize>> = {},
  /** When the probe in use began (undefined: not probing): see the warm-up below. */
  probeSinceMs?: number,
): CapacityObservations {
  const found: CapacityObservations = {
    estimates: [],
    estimatedBy: [],
    bounds: [],
    boundsResizedAtMs: [],
    saturated: false,
    overshot: [],
    backlogs: {},
  };
  /** Per estimate: its instance counted within the spacing. */
  const recent: boolean[] = [];
  for (const instance of instances) {
    // The partitions' consumption is every pod's: per requested core of all of them. In a
    // balanced group only the busiest pods may be saturated: per core of all, an estimate errs low.
    const pods = Math.max(1, instance.replicas ?? 1);
    const cores = ((instance.current.cpuRequest ?? 0) * pods) / 1000;
    if (instance.isNew || instance.paused || !(cores > 0)) continue;
    // A resize (or a restart) shows a warm-up: caught-up backlogs, cold caches. The scaling state
    // changes at most resizes, and the sizes seen by earlier reads tell the others.
    // A pending state began at least a read after the last change.
    const changedAt = instance.state.changedAt?.getTime();
    const pending =
      instance.state.status === ScalingStatus.pendingScaleUp ||
      instance.state.status === ScalingStatus.pendingScaleDown;
    const size = sizes[sizeKey(instance)];
    const resizedAt = size?.sinceMs ?? 0;
    // Without a known last change (a Deployment without the annotation) its age is unknown too.
    if (!pending && (changedAt === undefined || nowMs - Math.max(changedAt, resizedAt) < timings.warmUpMs)) {
      // A pod the probe shrank below what it needs falls behind at once, within this warm-up,
      // and by its end the backlog has resized it again: it would show no estimate. Its backlog
      // growing at its new, smaller size by more than FALLING_BEHIND_SHARE of its production
      // says what it consumed (production less the growth), and nothing but its CPU held it
      // back (it kept up with more): that per requested core is an estimate. The backlog is a
      // count at the moment of the read, so unlike a consumption rate (whose window may still
      // hold the larger size) it speaks for the time at this size alone. The probe holds meanwhile.
      const shrunkByProbe =
        changedAt !== undefined &&
        probeSinceMs !== undefined &&
        size?.fromMillis !== undefined &&
        resizedAt > probeSinceMs &&
        size.cpuMillis < size.fromMillis;
      const backlog = shrunkByProbe ? backlogOf(instance, samples) : undefined;
      if (backlog !== undefined) {
        // The backlog at the first read at this size: the time since was all at this size, and
        // the growth over all of it is steadier than between two reads a few seconds apart.
        const first = size?.backlog && size.backlog.atMs >= resizedAt ? size.backlog : undefined;
        found.backlogs[sizeKey(instance)] = first ?? { messages: backlog.messages, atMs: nowMs };
        const seconds = first ? (nowMs - first.atMs) / 1000 : 0;
        if (first && seconds > 0) {
          const growth = (backlog.messages - first.messages) / seconds;
          if (growth > backlog.production * FALLING_BEHIND_SHARE) {
            found.overshot.push(sizeKey(instance));
            recent.push(false);
            found.estimates.push((backlog.production - growth) / cores);
            found.estimatedBy.push(sizeKey(instance));
          }
        }
      }
      continue;
    }
    const signal = instanceSignal(instance.partitions, samples, Infinity, undefined);
    if (signal.unknown || signal.stalled || !signal.lagKnown) continue;
    const consumption = total(signal.partitions, 'consumption');
    if (consumption === undefined || !(consumption > 0)) continue;
    const production = total(signal.partitions, 'production');
    const lagMs = signal.maxLagMs!;
    if (lagMs >= timings.saturatedLagMs || fallingBehind(lagMs, production, consumption, timings)) {
      found.saturated = true;
      const lastCounted = size?.estimatedAtMs;
      recent.push(lastCounted !== undefined && nowMs - lastCounted < timings.estimateSpacingMs);
      found.estimates.push(consumption / cores);
      found.estimatedBy.push(sizeKey(instance));
    } else if (lagMs <= timings.keepingUpLagMs && !shortOf(production, consumption)) {
      // Production, not consumption: a pod that just caught up consumed more than it needs to.
      // Per the largest request the rates may hold: a bound must not count a step down's CPU twice.
      // Within a warm-up after a large step down (a pending state gets here without one, for its
      // estimates) that is the size before: a pod a probe just shrank falls behind slowly, its lag
      // is still small, and rates whose short window caught a burst of commits look like keeping
      // up at the smaller size, a bound far above what a core does.
      const warmingFrom = nowMs - resizedAt < timings.warmUpMs ? (size?.fromMillis ?? 0) : 0;
      const peakCores = Math.max(
        cores,
        ((size?.cpuMillis ?? 0) * pods) / 1000,
        ((size?.peakMillis ?? 0) * pods) / 1000,
        (warmingFrom * pods) / 1000,
      );
      found.bounds.push(Math.min(production!, consumption) / peakCores);
      found.boundsResizedAtMs.push(
        instance.state.status === ScalingStatus.pendingScaleDown ? undefined : resizedAt,
      );
    }
  }
  if (found.bounds.length === 0) return found;
  return {
    ...found,
    estimates: found.estimates.filter((_, i) => !recent[i]),
    estimatedBy: found.estimatedBy.filter((_, i) => !recent[i]),
  };
}

/** An instance's backlog (messages) and production; undefined when unknown or stalled. */
function backlogOf(
  instance: CapacityInstance,
  samples: ReadonlyMap<number, PartitionSample>,
): { messages: number; production: number } | undefined {
  const signal = instanceSignal(instance.partitions, samples, Infinity, undefined);
  if (signal.unknown || signal.stalled) return undefined;
  const production = total(signal.partitions, 'production');
  let messages = 0;
  for (const p of signal.partitions) {
    const behind = p.sample.behind;
    if (behind === undefined || !Number.isFinite(behind) || behind < 0) return undefined;
    messages += behind;
  }
  return production === undefined || !(production > 0) ? undefined : { messages, production };
}

/**
 * The state after one read: the median of the saturated instances' estimates counts as one piece
 * of evidence (many instances saturated by one burst are one event, and the median ignores the odd
 * one out); the highest keeping-up rate raises the lower bound.
 */
export function learnCapacity(
  state: CapacityState,
  instances: readonly CapacityInstance[],
  samples: ReadonlyMap<number, PartitionSample>,
  nowMs: number,
  configured: number,
  timings: CapacityTimings = capacityTimings(),
): CapacityState {
  const sizes = instanceSizes(instances, state.sizes, nowMs);
  const seen = capacityObservations(instances, samples, nowMs, timings, sizes, state.probe?.sinceMs);
  // Backlogs are kept for the next read only.
  for (const [key, size] of Object.entries(sizes)) {
    const backlog = seen.backlogs[key];
    if (backlog) sizes[key] = { ...size, backlog };
    else if (size.backlog !== undefined) {
      const { backlog: _backlog, ...rest } = size;
      sizes[key] = rest;
    }
  }
  const { estimates, bounds } = seen;
  // The median, not the maximum: one instance with a short burst of catch-up is not evidence.
  const readBound = bounds.length > 0 ? clampRate(median(bounds), configured) : undefined;
  const probe = nextProbe(state, seen, nowMs, configured, timings);
  const kept = probe ? { probe } : {};
  if (estimates.length === 0 && readBound === undefined) return { ...withoutProbe(state), sizes, ...kept };
  const aged = agedCapacity(state, nowMs);
  let { learned, weight, lowerBound } = aged;
  // A pod saturated well below the rate instances kept up with shows something else: a resize the
  // node has not applied yet, a slow start. A real slowdown gets through as the bound ages.
  const plausible = estimates.filter((e) => e >= (lowerBound ?? 0) * PLAUSIBLE_SHARE);
  if (plausible.length > 0) {
    const estimate = clampRate(quantile(plausible, ESTIMATE_QUANTILE), configured);
    learned = learned === undefined || weight === 0 ? estimate : (learned * weight + estimate) / (weight + 1);
    weight = Math.min(MAX_WEIGHT, weight + 1);
    for (const key of seen.estimatedBy) sizes[key] = { ...sizes[key]!, estimatedAtMs: nowMs };
  }
  if (readBound !== undefined)
    lowerBound = lowerBound === undefined ? readBound : Math.max(lowerBound, readBound);
  return { learned, weight, lowerBound, updatedAtMs: nowMs, sizes, ...kept };
}

const withoutProbe = ({ probe: _probe, ...rest }: CapacityState): CapacityState => rest;

/**
 * The probe after a read: none unless the sizing probes; it starts where the view's first probe
 * is, and steps up by PROBE_STEP when no instance was saturated and one kept up sized as the probe
 * asks: resized since the probe started (its bound passed the warm-up rule of
 * capacityObservations), or not resized at all through a warm-up under the probe (its size is what
 * the probe asks) and not waiting out a scale-down.
 */
function nextProbe(
  state: CapacityState,
  seen: CapacityObservations,
  nowMs: number,
  configured: number,
  timings: CapacityTimings,
): Probe | undefined {
  if (seen.saturated) return undefined;
  const view = capacityView(state, nowMs, configured);
  if (view.source !== 'probing') return undefined;
  const current = state.probe;
  // A pod sized by the probe falls behind: the probe stands while its estimates gather.
  if (current && seen.overshot.length > 0) return current;
  // A higher bound overtook the probe: a new probe. (Not a mere change: the bound ages read by read.)
  // Raised by a small step at most, it keeps its start: the sizes it asks differ by less than a
  // small resize, and a bound creeping up read by read does not keep it from ever stepping up.
  if (!current) return { ratePerCore: view.ratePerCore, sinceMs: nowMs };
  if (view.ratePerCore > current.ratePerCore * (1 + PROBE_OVERTAKEN)) {
    const small = view.ratePerCore <= current.ratePerCore * (1 + SMALL_RESIZE);
    return { ratePerCore: view.ratePerCore, sinceMs: small ? current.sinceMs : nowMs };
  }
  const probedFor = nowMs - current.sinceMs >= timings.warmUpMs;
  const held = seen.boundsResizedAtMs.some(
    (resizedAt) => resizedAt !== undefined && (resizedAt > current.sinceMs || probedFor),
  );
  if (!held) return current;
  return { ratePerCore: clampRate(current.ratePerCore * PROBE_GROWTH, configured), sinceMs: nowMs };
}

export interface CapacityView {
  configured: number;
  /** What the sizing divides by. */
  ratePerCore: number;
  learned: number | undefined;
  lowerBound: number | undefined;
  /** 0..1: how much the learned value is trusted. */
  confidence: number;
  /** Where `ratePerCore` comes from. */
  source: 'configured' | 'learned' | 'probing';
}

/** The rate per core the sizing uses now, and why. */
export function capacityView(state: CapacityState, nowMs: number, configured: number): CapacityView {
  const aged = agedCapacity(state, nowMs);
  const confidence = confidenceOf(aged.weight);
  const base = { configured, learned: aged.learned, lowerBound: aged.lowerBound, confidence };
  const bound = aged.lowerBound ?? 0;
  if (aged.learned !== undefined && confidence >= MIN_CONFIDENCE) {
    // Never below what instances were seen to keep up with.
    const learned = clampRate(Math.max(aged.learned, bound), configured);
    // Partition skew and rate windows make estimates scatter by a few percent: within the dead
    // band the setting stands, so a Consumer set right is sized as without learning.
    if (Math.abs(learned / configured - 1) < DEAD_BAND)
      return { ...base, ratePerCore: configured, source: 'configured' };
    return { ...base, ratePerCore: learned, source: 'learned' };
  }
  if (bound >= configured * PROBE_NEAR || state.probe)
    return {
      ...base,
      ratePerCore: clampRate(Math.max(bound * PROBE_STEP, state.probe?.ratePerCore ?? 0), configured),
      source: 'probing',
    };
  return { ...base, ratePerCore: configured, source: 'configured' };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * status.capacity for a state and its view. Rates to 0.1 msg/s and confidence to 0.01, so a read
 * that changes nothing visible costs no status write.
 */
export function capacityStatus(state: CapacityState, view: CapacityView): CapacityStatus {
  return {
    configuredRatePerCore: view.configured,
    ratePerCore: round(view.ratePerCore, 1),
    source: view.source,
    ...(state.learned !== undefined ? { learnedRatePerCore: round(state.learned, 1) } : {}),
    ...(state.lowerBound !== undefined ? { lowerBound: round(state.lowerBound, 1) } : {}),
    confidence: round(view.confidence, 2),
    weight: round(state.weight, 3),
    ...(state.updatedAtMs > 0
      ? {
          updatedAt: new Date(Math.floor(state.updatedAtMs / 1000) * 1000)
            .toISOString()
            .replace('.000Z', 'Z'),
        }
      : {}),
  };
}

/**
 * What status.capacity kept, as a state; EMPTY_CAPACITY when there is none, or when it was learned
 * against another ratePerCore (a changed setting starts over: the author may know better now).
 * Values a tenant could have written by hand are checked: a non-finite or negative number is dropped.
 */
export function capacityFromStatus(status: CapacityStatus | undefined, configured: number): CapacityState {
  if (!status || status.configuredRatePerCore !== configured) return EMPTY_CAPACITY;
  const positive = (x: number | undefined) =>
    x !== undefined && Number.isFinite(x) && x > 0 ? x : undefined;
  const updatedAtMs = status.updatedAt ? Date.parse(status.updatedAt) : NaN;
  const learned = positive(status.learnedRatePerCore);
  const weight = learned === undefined ? 0 : Math.min(MAX_WEIGHT, positive(status.weight) ?? 0);
  return {
    learned: learned === undefined ? undefined : clampRate(learned, configured),
    weight,
    lowerBound: (() => {
      const b = positive(status.lowerBound);
      return b === undefined ? undefined : clampRate(b, configured);
    })(),
    updatedAtMs: Number.isFinite(updatedAtMs) ? updatedAtMs : 0,
  };
}
