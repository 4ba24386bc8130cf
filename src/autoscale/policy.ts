// When an instance's resources change: the original's scaling state machine with its bugs
// fixed: a pending duration of 0 means "at once"; PENDING_SCALE_DOWN (or no state) turns into
// PENDING_SCALE_UP when the instance starts lagging; SATURATED can grow again when capacity
// appears; an instance only shrinks after a number of consecutive syncs without lag; an instance
// without metrics, or a stalled one, is never moved; an instance whose lag is not known for every
// partition never shrinks (and its lag-free count does not grow).
// A new instance starts at its target at once; a change the global budget cuts short ends
// SATURATED. Every state, and every rule about missing metrics, is decided here.
import { ScalingStatus } from '../api/constants.js';
import type { Sizing } from './sizing.js';
import type { AutoscaleSettings } from './settings.js';
import type { InstanceSignal } from './signals.js';

export interface ScalingState {
  status: ScalingStatus | undefined;
  /** When `status` last changed. */
  changedAt: Date | undefined;
  /** Consecutive syncs without lag, up to and including this one. */
  lagFreeSyncs: number;
}

export interface PolicyInput {
  settings: AutoscaleSettings;
  now: Date;
  state: ScalingState;
  /** The scaled container's resources now. */
  current: Sizing;
  /** What it should have, within its policy. */
  target: Sizing;
  /** CPU the policy or the budget kept from the prediction, millicores. */
  cpuShortage: number;
  signal: InstanceSignal;
  /** The Deployment carries the disable-autoscaler annotation. */
  paused?: boolean;
}

/** `start`: a new instance is created with its target. */
export type Direction = 'up' | 'down' | 'start' | 'none';

/** What an instance waits for before its resources may change; none: the next read may change them. */
export type Waiting =
  /** The pending period: it ends `remainingMs` from now, if the need lasts that long. */
  | { for: 'pending-period'; direction: 'up' | 'down'; remainingMs: number }
  /** This many more reads without lag before a scale-down. */
  | { for: 'lag-free-reads'; remaining: number }
  /** Metrics (or the lag of every partition, for a scale-down): nothing moves without them. */
  | { for: 'metrics' }
  /** A partition behind that consumes nothing: more CPU would not help. */
  | { for: 'consumption' }
  /** The disable-autoscaler annotation to be removed. */
  | { for: 'unpause' };

export interface PolicyDecision {
  /** Apply `target` now. */
  apply: boolean;
  direction: Direction;
  state: ScalingState;
  /** For the cpu-saturation-level annotation; undefined removes it. */
  saturationMillis: number | undefined;
  reason: string;
  /** Paused, or without metrics: nothing moves this instance, not even the global budget. */
  held: boolean;
  waiting: Waiting | undefined;
}

/** Compares requests, CPU first and memory only when CPU is equal (as the original since v1.1.0). */
export function compareRequests(target: Sizing, current: Sizing): number {
  const cpu = (target.cpuRequest ?? 0) - (current.cpuRequest ?? 0);
  if (cpu !== 0) return Math.sign(cpu);
  return Math.sign((target.memoryRequest ?? 0) - (current.memoryRequest ?? 0));
}

const elapsed = (since: Date | undefined, now: Date) => (since ? now.getTime() - since.getTime() : Infinity);

/** What one read can decide for one instance (methods, not closures: one object per decision). */
class Outcomes {
  constructor(
    private readonly input: PolicyInput,
    private readonly lagFreeSyncs: number,
  ) {}

  to(
    status: ScalingStatus,
    reason: string,
    apply = false,
    direction: Direction = 'none',
    waiting?: Waiting,
  ): PolicyDecision {
    const { now, state, cpuShortage } = this.input;
    return {
      apply,
      direction: apply ? direction : 'none',
      state: {
        status,
        changedAt: status === state.status ? state.changedAt : now,
        lagFreeSyncs: this.lagFreeSyncs,
      },
      saturationMillis: status === ScalingStatus.saturated && cpuShortage > 0 ? cpuShortage : undefined,
      reason,
      held: false,
      waiting,
    };
  }

  settled(reason: string, apply = false, direction: Direction = 'none'): PolicyDecision {
    const status = this.input.cpuShortage > 0 ? ScalingStatus.saturated : ScalingStatus.running;
    return this.to(status, reason, apply, direction);
  }

  keep(reason: string, waiting?: Waiting, held = false): PolicyDecision {
    const { state, cpuShortage } = this.input;
    return {
      apply: false,
      direction: 'none',
      state: { ...state, lagFreeSyncs: this.lagFreeSyncs },
      saturationMillis: state.status === ScalingStatus.saturated && cpuShortage > 0 ? cpuShortage : undefined,
      reason,
      held,
      waiting,
    };
  }
}

/**
 * Consecutive reads without lag, this one included. A read in which some partition's lag is
 * unknown proves nothing about lag: it is not counted (nor does it reset the count).
 */
function countLagFree(state: ScalingState, signal: InstanceSignal): number {
  return signal.lagging ? 0 : signal.lagKnown ? state.lagFreeSyncs + 1 : state.lagFreeSyncs;
}

/** Decisions that come before any rule: a paused instance, an instance without metrics. */
function held(input: PolicyInput, lagFreeSyncs: number): PolicyDecision | undefined {
  const decision = new Outcomes(input, lagFreeSyncs);
  // Paused: not even the lag-free count moves, and no saturation is reported.
  if (input.paused)
    return {
      ...decision.keep('paused by annotation', { for: 'unpause' }, true),
      state: input.state,
      saturationMillis: undefined,
    };
  if (input.signal.unknown)
    return decision.keep(
      'no metrics for its partitions: resources stay as they are',
      { for: 'metrics' },
      true,
    );
  return undefined;
}

/** Time left of a pending period that started at `since`. */
const remaining = (since: Date | undefined, now: Date, periodMs: number) =>
  Math.max(0, periodMs - elapsed(since, now));

/**
 * The proactive rules (default predictor). Scale-ups do not wait for the lag to reach
 * tolerableLag: an instance that cannot keep up (capacity below production), holds a backlog
 * of half tolerableLag or more, or holds a standing backlog (standingBacklog) is short. A short instance grows after the pending period, or at
 * once when its lag would reach tolerableLag before that period ends (or already has): waiting
 * would break the SLO the pending period is meant to protect. Scale-downs need no lag, a lag
 * below half tolerableLag (a backlog is drained, not left), scaleDownAfterLagFreeSyncs reads,
 * the pending period, and a target at least SCALE_DOWN_MARGIN below the current request (so
 * noise does not restart pods).
 */
function decideProactively(input: PolicyInput, lagFreeSyncs: number): PolicyDecision {
  const { settings, now, state, signal } = input;
  const decision = new Outcomes(input, lagFreeSyncs);
  const cmp = compareRequests(input.target, input.current);
  const lagMs = signal.maxLagMs ?? 0;
  const half = settings.tolerableLagMs / 2;
  const { growth } = throughput(input);

  if (cmp === 0) return decision.settled('resources match the target');

  if (cmp > 0) {
    const standing = standingBacklog(input);
    const short = growth > 0 || lagMs >= half || standing;
    if (!short) {
      return state.status === ScalingStatus.saturated
        ? decision.settled('more is estimated, but the instance keeps up')
        : decision.to(ScalingStatus.running, 'more is estimated, but the instance keeps up');
    }
    if (signal.stalled)
      return decision.keep('behind, but a partition consumes nothing: more CPU would not help', {
        for: 'consumption',
      });
    const breachMs = signal.lagging ? 0 : growth > 0 ? (settings.tolerableLagMs - lagMs) / growth : Infinity;
    if (breachMs <= settings.pendingScaleUpMs)
      return decision.settled(
        signal.lagging
          ? 'lagging: scaling up at once'
          : `the lag would reach tolerableLag in ${Math.round(breachMs / 1000)} s: scaling up at once`,
        true,
        'up',
      );
    if (state.status === ScalingStatus.pendingScaleUp) {
      return elapsed(state.changedAt, now) >= settings.pendingScaleUpMs
        ? decision.settled(
            growth > 0 || lagMs >= half
              ? 'short of capacity for the whole pending period: scaling up'
              : 'a backlog that does not drain in time for the whole pending period: scaling up',
            true,
            'up',
          )
        : decision.keep('short of capacity: waiting for the pending period before scaling up', {
            for: 'pending-period',
            direction: 'up',
            remainingMs: remaining(state.changedAt, now, settings.pendingScaleUpMs),
          });
    }
    const why =
      growth > 0 || lagMs >= half
        ? 'short of capacity: more is needed'
        : 'a backlog is not draining in time: more is needed';
    return decision.to(ScalingStatus.pendingScaleUp, why, false, 'none', {
      for: 'pending-period',
      direction: 'up',
      remainingMs: settings.pendingScaleUpMs,
    });
  }

  // cmp < 0: less is needed.
  if (signal.lagging || lagMs >= half)
    return decision.settled('less is estimated, but a backlog is still being drained: no scale-down');
  if (!signal.lagKnown)
    return decision.keep('less is estimated, but the lag of a partition is unknown: no scale-down', {
      for: 'metrics',
    });
  const cpuTarget = input.target.cpuRequest ?? 0;
  const cpuNow = input.current.cpuRequest ?? 0;
  if (cpuTarget > cpuNow * (1 - SCALE_DOWN_MARGIN))
    return decision.to(ScalingStatus.running, 'less is estimated, within the scale-down margin');
  return scaleDownWhenDue(input, lagFreeSyncs);
}

/**
 * Proactive mode: an instance shrinks only when the target is at least this share below what it
 * has, so throughput noise does not restart pods. 5 %: against 10 % it saved about 1 % of the
 * core-hours in the simulator for one more restart per partition-day, with the same lag.
 */
export const SCALE_DOWN_MARGIN = 0.05;

/**
 * Proactive mode: a backlog of at least this share of tolerableLag is a standing backlog when it
 * does not drain within the drain window (see standingBacklog). Below it, the lag is the noise of
 * a consumer that keeps up (a few seconds of messages in flight).
 */
export const STANDING_BACKLOG_SHARE = 0.1;

/**
 * Some partition holds a standing backlog: a lag of STANDING_BACKLOG_SHARE of tolerableLag or more
 * that, at the measured consumption and production rates, does not drain within the window the
 * proactive predictor sizes a drain for, min(recoveryTime, tolerableLag) (a lag that grows never
 * drains). The capacity the instance is estimated to have (its request × ratePerCore) may say it
 * keeps up while the measured rates say it does not: a backlog that drains too slowly, or grows,
 * stays for hours below half of tolerableLag. The measured rates decide here, and the instance
 * grows to production + backlog / window like any instance short of capacity (after the pending
 * period, which also proves that the backlog stands).
 */
export function standingBacklog(input: Pick<PolicyInput, 'settings' | 'signal'>): boolean {
  const { settings, signal } = input;
  const floorMs = settings.tolerableLagMs * STANDING_BACKLOG_SHARE;
  const windowMs = Math.min(settings.recoveryTimeMs, settings.tolerableLagMs || Infinity);
  return signal.partitions.some(
    (p) => p.lagMs !== undefined && p.lagMs > 0 && p.lagMs >= floorMs && (p.drainMs ?? 0) > windowMs,
  );
}

/** Messages per second the instance's partitions produce (known ones) and its capacity now. */
function throughput(input: PolicyInput): { production: number; capacity: number; growth: number } {
  const production = input.signal.partitions.reduce(
    (sum, p) => sum + Math.max(0, p.sample.production ?? 0),
    0,
  );
  const capacity = ((input.current.cpuRequest ?? 0) / 1000) * input.settings.ratePerCore;
  // Lag (in time) grows by this many seconds per second while capacity < production.
  const growth = production > 0 ? Math.max(0, 1 - capacity / production) : 0;
  return { production, capacity, growth };
}

/**
 * The last steps of a scale-down, the same in both rules: enough lag-free reads, then the pending
 * period (none when it is 0).
 */
function scaleDownWhenDue(input: PolicyInput, lagFreeSyncs: number): PolicyDecision {
  const { settings, now, state } = input;
  const decision = new Outcomes(input, lagFreeSyncs);
  if (lagFreeSyncs < settings.scaleDownAfterLagFreeSyncs)
    return decision.to(
      ScalingStatus.running,
      `less is needed: waiting for ${settings.scaleDownAfterLagFreeSyncs} syncs without lag`,
      false,
      'none',
      { for: 'lag-free-reads', remaining: settings.scaleDownAfterLagFreeSyncs - lagFreeSyncs },
    );
  if (state.status === ScalingStatus.pendingScaleDown) {
    return elapsed(state.changedAt, now) >= settings.pendingScaleDownMs
      ? decision.settled('no lag for the whole pending period: scaling down', true, 'down')
      : decision.keep('no lag: waiting for the pending period before scaling down', {
          for: 'pending-period',
          direction: 'down',
          remainingMs: remaining(state.changedAt, now, settings.pendingScaleDownMs),
        });
  }
  if (settings.pendingScaleDownMs === 0)
    return decision.settled('no lag: scaling down at once (no pending period)', true, 'down');
  return decision.to(ScalingStatus.pendingScaleDown, 'less is needed', false, 'none', {
    for: 'pending-period',
    direction: 'down',
    remainingMs: settings.pendingScaleDownMs,
  });
}

/** When and how an existing instance's resources change: the rules of its predictor. */
export function decide(input: PolicyInput): PolicyDecision {
  const lagFreeSyncs = countLagFree(input.state, input.signal);
  return (
    held(input, lagFreeSyncs) ??
    (input.settings.proactive
      ? decideProactively(input, lagFreeSyncs)
      : decideAsTheOriginal(input, lagFreeSyncs))
  );
}

function decideAsTheOriginal(input: PolicyInput, lagFreeSyncs: number): PolicyDecision {
  const { settings, now, state, signal } = input;
  const decision = new Outcomes(input, lagFreeSyncs);
  const cmp = compareRequests(input.target, input.current);

  if (cmp === 0)
    return signal.lagging
      ? decision.settled('resources match the target')
      : decision.to(ScalingStatus.running, 'resources match the target');

  if (cmp > 0) {
    if (!signal.lagging) {
      return state.status === ScalingStatus.saturated
        ? decision.settled('more is estimated, but there is no lag')
        : decision.to(ScalingStatus.running, 'more is estimated, but there is no lag');
    }
    if (signal.stalled)
      return decision.keep('lagging, but a partition consumes nothing: more CPU would not help', {
        for: 'consumption',
      });
    if (state.status === ScalingStatus.pendingScaleUp) {
      return elapsed(state.changedAt, now) >= settings.pendingScaleUpMs
        ? decision.settled('lagging for the whole pending period: scaling up', true, 'up')
        : decision.keep('lagging: waiting for the pending period before scaling up', {
            for: 'pending-period',
            direction: 'up',
            remainingMs: remaining(state.changedAt, now, settings.pendingScaleUpMs),
          });
    }
    if (settings.pendingScaleUpMs === 0)
      return decision.settled('lagging: scaling up at once (no pending period)', true, 'up');
    return decision.to(ScalingStatus.pendingScaleUp, 'lagging: more is needed', false, 'none', {
      for: 'pending-period',
      direction: 'up',
      remainingMs: settings.pendingScaleUpMs,
    });
  }

  // cmp < 0: less is needed.
  if (signal.lagging)
    return decision.settled('less is estimated, but the instance is lagging: no scale-down');
  if (!signal.lagKnown)
    return decision.keep('less is estimated, but the lag of a partition is unknown: no scale-down', {
      for: 'metrics',
    });
  return scaleDownWhenDue(input, lagFreeSyncs);
}

/**
 * A new instance (no Deployment yet) starts at its target at once, whatever the rules: no pending
 * period and no lag condition, as the original created instances. It is SATURATED when the policy
 * kept CPU from the prediction. Without a prediction its target is the fallback.
 */
export function decideStart(input: { now: Date; cpuShortage: number; predicted: boolean }): PolicyDecision {
  const saturated = input.cpuShortage > 0;
  return {
    apply: true,
    direction: 'start',
    state: {
      status: saturated ? ScalingStatus.saturated : ScalingStatus.running,
      changedAt: input.now,
      lagFreeSyncs: 0,
    },
    saturationMillis: saturated ? input.cpuShortage : undefined,
    reason: input.predicted
      ? 'a new instance starts at the prediction'
      : 'no metrics for its partitions: a new instance starts at the fallback',
    held: false,
    waiting: undefined,
  };
}

export interface BudgetInput {
  now: Date;
  /** The state before this read. */
  state: ScalingState;
  current: Sizing;
  /** The decision without a budget. */
  decision: PolicyDecision;
  /** What the budget grants: the decision's sizing with its requests cut. */
  granted: Sizing;
  /** CPU kept from the prediction by the policy and the budget together, millicores. */
  cpuShortage: number;
}

/**
 * The budget took part of the change: decide again against what can be had. The instance is
 * SATURATED with the missing CPU; what the budget grants is applied when it differs from what
 * the instance has (also a cut it forces when the cap was lowered).
 */
export function limitedByBudget(input: BudgetInput): PolicyDecision {
  const { now, state, current, decision, granted, cpuShortage } = input;
  const changed =
    granted.cpuRequest !== current.cpuRequest || granted.memoryRequest !== current.memoryRequest;
  return {
    ...decision,
    apply: changed,
    direction: changed ? ((granted.cpuRequest ?? 0) >= (current.cpuRequest ?? 0) ? 'up' : 'down') : 'none',
    state: {
      ...decision.state,
      status: ScalingStatus.saturated,
      changedAt: state.status === ScalingStatus.saturated ? state.changedAt : now,
    },
    saturationMillis: cpuShortage > 0 ? cpuShortage : undefined,
    reason: `${decision.reason}; limited by the global budget`,
    waiting: changed ? undefined : decision.waiting,
  };
}
