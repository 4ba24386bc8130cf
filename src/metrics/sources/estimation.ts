// The fields every source's section has: how often to read, and how the metrics become resources.
import { Type, type Static, type TObject } from '@sinclair/typebox';
import {
  Duration,
  positiveDuration,
  q,
  Quantity,
  rules,
  StringEnum,
  wholeSecondsDuration,
} from '../../util/schema-parts.js';
import { cpuMillis, memoryBytes, parseDuration } from '../../util/units.js';
import type { SourceSettings } from './source.js';

export const DEFAULT_CPU_INCREMENT = '100m';
/**
 * The smallest ratePerCore: one message per 1,000 s per core. Slower consumers (a model's
 * inference, a batch upload per message) exist, so fractions are allowed; below this one message
 * per second would already want 1,000 cores.
 */
export const MIN_RATE_PER_CORE = 0.001;

export const estimationFields = {
  minSyncPeriod: positiveDuration('Minimum time between two metric queries.'),
  fallbackStrategy: Type.Optional(
    StringEnum(['min', 'max', ''], {
      description: 'What to allocate when metrics are missing: the policy minimum (default) or maximum.',
    }),
  ),
  // A number, not the original's int64: a whole number is valid as before, and slow consumers can
  // say 0.5. The original operator cannot read a fractional value.
  ratePerCore: Type.Number({
    description:
      'Messages per second one full CPU core processes; fractions allowed for slow consumers (e.g. 0.5), at least 0.001.',
    minimum: MIN_RATE_PER_CORE,
    // An absurd value (1e30) is refused at admission, as the original's int64 refused it. Not 2^63:
    // the API server converts the maximum to int64 to check a whole number, and 2^63 overflows.
    maximum: 1e18,
    // The API server checks `minimum` on a whole number against the minimum truncated to a whole
    // number (0 passes "minimum: 0.001"); the rule compares as numbers.
    ...rules({
      rule: `double(self) >= ${MIN_RATE_PER_CORE}`,
      message: `must be at least ${MIN_RATE_PER_CORE}`,
    }),
  }),
  ramPerCore: {
    ...Quantity,
    description: 'Memory per whole core of the CPU limit.',
    ...rules({ rule: `${q('self')}.isGreaterThan(quantity('0'))`, message: 'must be greater than zero' }),
  },
  cpuIncrement: Type.Optional({
    ...Quantity,
    description: 'CPU request granularity (default 100m); requests are rounded up to a multiple of it.',
    ...rules({ rule: `${q('self')}.compareTo(quantity('1m')) >= 0`, message: 'must be at least 1m' }),
  }),
  // 0 would make every instance lag forever (lag >= 0), so nothing could ever scale down.
  tolerableLag: wholeSecondsDuration('Lag (in time) at and above which an instance counts as lagging.'),
  criticalLag: Duration('Lag at and above which an instance gets its policy maximum.'),
  recoveryTime: wholeSecondsDuration(
    'Time in which a backlog should be drained while keeping up with production.',
  ),
};

/** The rule every section carries on its lag thresholds. */
export const lagOrder = rules({
  rule: 'duration(self.tolerableLag) <= duration(self.criticalLag)',
  message: 'tolerableLag must not be greater than criticalLag',
  fieldPath: '.tolerableLag',
});

type Estimation = Static<TObject<typeof estimationFields>>;

/** The estimation fields resolved, defaults applied. */
export function estimationSettings(section: Estimation): SourceSettings {
  return {
    minSyncPeriodMs: parseDuration(section.minSyncPeriod),
    ratePerCore: section.ratePerCore,
    ramPerCoreBytes: memoryBytes(section.ramPerCore),
    cpuIncrementMillis: cpuMillis(section.cpuIncrement ?? DEFAULT_CPU_INCREMENT),
    tolerableLagMs: parseDuration(section.tolerableLag),
    criticalLagMs: parseDuration(section.criticalLag),
    recoveryTimeMs: parseDuration(section.recoveryTime),
    fallbackStrategy: section.fallbackStrategy === 'max' ? 'max' : 'min',
  };
}
