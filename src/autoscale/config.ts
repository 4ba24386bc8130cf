// The autoscaling part of a Consumer spec, resolved: which metrics source, the numbers, the
// budget and the container whose resources follow the metrics.
import type { ConsumerSpec } from '../api/schema.js';
import {
  scaledContainer,
  DEFAULT_CPU_INCREMENT,
  DEFAULT_PENDING_SCALE_DOWN,
  DEFAULT_PENDING_SCALE_UP,
} from '../api/resolve.js';
import { cpuMillis, memoryBytes, parseDuration } from '../api/units.js';
import type { Budget } from './autoscale.js';
import { DEFAULT_PREDICTOR, predictors, type Predictor } from './predictor.js';
import type { AutoscaleSettings } from './settings.js';

export const DEFAULT_SCALE_DOWN_AFTER_LAG_FREE_SYNCS = 3;

export type MetricsMode = 'prometheus' | 'kafka' | 'static';

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
}

type Section = NonNullable<NonNullable<ConsumerSpec['autoscaler']>['prometheus']>;

/** undefined when the Consumer does not autoscale (mode none, or the legacy vpa and ""). */
export function autoscaleConfig(spec: ConsumerSpec): AutoscaleConfig | undefined {
  const autoscaler = spec.autoscaler;
  const mode = autoscaler?.mode;
  if (mode !== 'prometheus' && mode !== 'kafka' && mode !== 'static') return undefined;
  const section = autoscaler[mode] as Pick<Section, keyof Section & string> | undefined;
  if (!section) return undefined;
  const predictorName = autoscaler.predictor ?? DEFAULT_PREDICTOR;
  const settings: AutoscaleSettings = {
    ratePerCore: section.ratePerCore,
    ramPerCoreBytes: memoryBytes(section.ramPerCore),
    cpuIncrementMillis: cpuMillis(section.cpuIncrement ?? DEFAULT_CPU_INCREMENT),
    tolerableLagMs: parseDuration(section.tolerableLag),
    criticalLagMs: parseDuration(section.criticalLag),
    recoveryTimeMs: parseDuration(section.recoveryTime),
    pendingScaleUpMs: parseDuration(autoscaler.pendingScaleUpDuration ?? DEFAULT_PENDING_SCALE_UP),
    pendingScaleDownMs: parseDuration(autoscaler.pendingScaleDownDuration ?? DEFAULT_PENDING_SCALE_DOWN),
    scaleDownAfterLagFreeSyncs:
      autoscaler.scaleDownAfterLagFreeSyncs ?? DEFAULT_SCALE_DOWN_AFTER_LAG_FREE_SYNCS,
    fallbackStrategy: section.fallbackStrategy === 'max' ? 'max' : 'min',
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
    minSyncPeriodMs: parseDuration(section.minSyncPeriod),
    settings,
    predictor: predictors[predictorName]!,
    budget,
    container: scaledContainer(spec),
    dryRun: autoscaler.dryRun === true,
  };
}
