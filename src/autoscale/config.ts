// The autoscaling part of a Consumer spec, resolved: which metrics source, the numbers, the
// budget and the container whose resources follow the metrics.
import type { ConsumerSpec } from '../api/schema.js';
import {
  actuationOf,
  scaledContainer,
  DEFAULT_PENDING_SCALE_DOWN,
  DEFAULT_PENDING_SCALE_UP,
} from '../api/resolve.js';
import { Actuation } from '../api/constants.js';
import { cpuMillis, memoryBytes, parseDuration } from '../util/units.js';
import { isMetricsMode, metricsSource, type MetricsMode } from '../metrics/sources/index.js';
import { autoscale, type AutoscaleResult, type Budget, type InstanceInput } from './autoscale.js';
import type { PartitionSample } from '../metrics/types.js';
import { DEFAULT_PREDICTOR, predictors, type Predictor } from './predictor.js';
import type { AutoscaleSettings } from './settings.js';
import {
  capacityTimings,
  capacityView,
  EMPTY_CAPACITY,
  learnCapacity,
  type CapacityState,
  type CapacityView,
} from './capacity.js';

export const DEFAULT_SCALE_DOWN_AFTER_LAG_FREE_SYNCS = 3;
/**
 * Capacity learning when `learnRatePerCore` is absent: on, except with `actuation: Rollout`. The
 * estimator probes an instance that keeps up by sizing it closer to what it has shown it needs;
 * in place that is a resize, with Rollout every probe restarts the pod (in the simulator the
 * restarts of a Rollout Consumer rose by up to 1.9× with learning on). Never
 * with predictor naive.
 */
export function defaultLearnRatePerCore(actuation: Actuation): boolean {
  return actuation !== Actuation.rollout;
}

export type { MetricsMode } from '../metrics/sources/index.js';

export interface AutoscaleConfig {
  mode: MetricsMode;
  minSyncPeriodMs: number;
  settings: AutoscaleSettings;
  predictor: Predictor;
  budget: Budget | undefined;
  /** The container whose resources follow the metrics; undefined when no container has an Auto policy. */
  container: string | undefined;
  /** Decide and report, change nothing. */
  dryRun: boolean;
  /** Learn the rate per core from the reads (capacity.ts): unless turned off; never with predictor naive. */
  learnCapacity: boolean;
}

/**
 * Whether the Consumer learns its rate per core: `learnRatePerCore` when set, else the default of
 * its actuation (or of `actuation`, for the simulator's policies that stand for another one); never
 * with predictor naive.
 */
export function learnsCapacity(spec: ConsumerSpec, actuation: Actuation = actuationOf(spec)): boolean {
  const predictorName = spec.autoscaler?.predictor ?? DEFAULT_PREDICTOR;
  return (
    predictorName !== 'naive' && (spec.autoscaler?.learnRatePerCore ?? defaultLearnRatePerCore(actuation))
  );
}

/** undefined when the Consumer does not autoscale (mode none, or the legacy vpa and ""). */
export function autoscaleConfig(spec: ConsumerSpec): AutoscaleConfig | undefined {
  const autoscaler = spec.autoscaler;
  const mode = autoscaler?.mode;
  if (!isMetricsMode(mode)) return undefined;
  const section = autoscaler[mode];
  if (!section) return undefined;
  const predictorName = autoscaler.predictor ?? DEFAULT_PREDICTOR;
  const { minSyncPeriodMs, ...fromSection } = metricsSource(mode).settings(section);
  const settings: AutoscaleSettings = {
    ...fromSection,
    pendingScaleUpMs: parseDuration(autoscaler.pendingScaleUpDuration ?? DEFAULT_PENDING_SCALE_UP),
    pendingScaleDownMs: parseDuration(autoscaler.pendingScaleDownDuration ?? DEFAULT_PENDING_SCALE_DOWN),
    scaleDownAfterLagFreeSyncs:
      autoscaler.scaleDownAfterLagFreeSyncs ?? DEFAULT_SCALE_DOWN_AFTER_LAG_FREE_SYNCS,
    proactive: predictorName === 'proactive',
  };
  const max = spec.resourcePolicy?.globalPolicy?.maxAllowed;
  const budget =
    max && (max.cpu !== undefined || max.memory !== undefined)
      ? {
          ...(max.cpu !== undefined ? { cpuMillis: cpuMillis(max.cpu) } : {}),
          ...(max.memory !== undefined ? { memoryBytes: memoryBytes(max.memory) } : {}),
        }
      : undefined;
  return {
    mode,
    minSyncPeriodMs,
    settings,
    predictor: predictors[predictorName]!,
    budget,
    container: scaledContainer(spec),
    dryRun: autoscaler.dryRun === true,
    learnCapacity: learnsCapacity(spec),
  };
}

export interface AutoscaleWithResult extends AutoscaleResult {
  /** With learning on: what was learned after this read, and the rate per core the sizing used. */
  capacity?: { state: CapacityState; view: CapacityView };
}

/**
 * One autoscale() decision under a Consumer's resolved settings, predictor and budget. With
 * learning on, the read first teaches the capacity estimator (from `learned`, what earlier reads
 * taught), and the sizing divides by the rate per core it gives; the CPU limits leave every size
 * the burst above its request that a learned value counts (cpuLimitCoversBurst).
 */
export function autoscaleWith(
  config: Pick<AutoscaleConfig, 'settings' | 'predictor' | 'budget'> & {
    learnCapacity?: boolean;
    /** The time between two reads (the estimator's thresholds follow it); default one minute. */
    minSyncPeriodMs?: number;
  },
  now: Date,
  samples: ReadonlyMap<number, PartitionSample>,
  instances: readonly InstanceInput[],
  learned?: CapacityState,
  /** false: `samples` were learned from already (a re-read, `explain`): use what was learned only. */
  teach = true,
): AutoscaleWithResult {
  let settings = config.settings;
  let capacity: AutoscaleWithResult['capacity'];
  if (config.learnCapacity) {
    const configured = config.settings.ratePerCore;
    const before = learned ?? EMPTY_CAPACITY;
    const timings = capacityTimings(config.minSyncPeriodMs);
    const state = teach
      ? learnCapacity(before, instances, samples, now.getTime(), configured, timings)
      : before;
    const view = capacityView(state, now.getTime(), configured);
    settings = { ...settings, ratePerCore: view.ratePerCore, cpuLimitCoversBurst: true };
    capacity = { state, view };
  }
  const result = autoscale({
    settings,
    predictor: config.predictor,
    now,
    samples,
    instances,
    ...(config.budget ? { budget: config.budget } : {}),
  });
  return capacity ? { ...result, capacity } : result;
}
