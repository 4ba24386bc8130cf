// The Consumer's status: the original's counters, observedGeneration = metadata.generation, and
// conditions. Pure: the same inputs give the same status, so an unchanged status is not written.
import type { Condition, Consumer, ConsumerStatus } from '../api/schema.js';
import type { Plan } from './consumer-plan.js';
import { podsPerInstance } from '../api/resolve.js';

export type ConditionInput = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

export interface Outcome {
  /** Spec errors found by the controller (the reconcile did nothing). */
  specErrors?: string;
  /** Writes that failed in this reconcile. */
  failures?: string[];
  /** One of them was refused by a ResourceQuota (Degraded says QuotaExceeded). */
  quotaExceeded?: boolean;
  /** The Consumer is over an operator limit and was not reconciled (see controller/limits.ts). */
  refused?: { reason: string; message: string };
  /** From the autoscaling step: lastSyncTime, lastSyncState, lagging. */
  autoscaleStatus?: Partial<ConsumerStatus>;
  /** From the autoscaling step: MetricsAvailable, Stalled. */
  autoscaleConditions?: ConditionInput[];
  /** How resource decisions reach the pods (in-place actuation); set in every reconcile. */
  actuationConditions?: ConditionInput[];
  /** The Consumer autoscales: its metrics conditions not set in this reconcile are kept. */
  autoscaling?: boolean;
  /**
   * When only lastSyncTime/lastSyncState would change, the persisted ones stand until they are
   * this old (ms); undefined: always write the new ones.
   */
  syncCheckpointMs?: number;
}

const AUTOSCALING_CONDITIONS = ['MetricsAvailable', 'Stalled'];

/** Keeps lastTransitionTime when a condition's status did not change. */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    return {
      ...c,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime:
        old && old.status === c.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  });
}

const list = (names: readonly string[]) =>
  names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');

function conditionsFor(plan: Plan | undefined, outcome: Outcome): ConditionInput[] {
  const refused = outcome.refused;
  if (refused) {
    return [
      { type: 'Ready', status: 'False', reason: refused.reason, message: refused.message },
      {
        type: 'Progressing',
        status: 'False',
        reason: refused.reason,
        message: 'nothing is done while the Consumer is over an operator limit',
      },
      { type: 'Degraded', status: 'True', reason: refused.reason, message: refused.message },
    ];
  }
  if (outcome.specErrors !== undefined || !plan) {
    const message = outcome.specErrors ?? 'the spec could not be read';
    return [
      { type: 'Ready', status: 'False', reason: 'InvalidSpec', message },
      {
        type: 'Progressing',
        status: 'False',
        reason: 'InvalidSpec',
        message: 'nothing is done until the spec is fixed',
      },
      { type: 'Degraded', status: 'True', reason: 'InvalidSpec', message },
    ];
  }
  const failures = outcome.failures ?? [];
  const degraded: ConditionInput =
    plan.clashes.length > 0
      ? {
          type: 'Degraded',
          status: 'True',
          reason: 'NameConflict',
          message: `Deployments not owned by this Consumer already use the names ${list(plan.clashes)}; they are left untouched`,
        }
      : failures.length > 0
        ? {
            type: 'Degraded',
            status: 'True',
            reason: outcome.quotaExceeded ? 'QuotaExceeded' : 'WriteFailed',
            message: failures.join('; ').slice(0, 4000),
          }
        : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'no problems' };
  const busy =
    plan.actions.length > 0 ||
    plan.notRolledOut.length > 0 ||
    plan.deletionsWaiting.length > 0 ||
    plan.recreating.length > 0 ||
    plan.replacedToDelete.length > 0;
  const progressing: ConditionInput = !busy
    ? {
        type: 'Progressing',
        status: 'False',
        reason: 'Converged',
        message: 'every instance matches the spec',
      }
    : plan.recreating.length > 0 || plan.replacedToDelete.length > 0
      ? {
          type: 'Progressing',
          status: 'True',
          reason: 'Recreating',
          // No names or counts: they change at every step, and each change would be a status write.
          message:
            'replacing instance Deployments whose spec.selector changed (Kubernetes does not update it): ' +
            'the old pods keep consuming until the new Deployment is available, then they are deleted',
        }
      : plan.actions.length > 0
        ? {
            type: 'Progressing',
            status: 'True',
            reason: 'Applying',
            message: 'creating, updating or deleting instance Deployments',
          }
        : {
            type: 'Progressing',
            status: 'True',
            reason: 'WaitingForRollout',
            // No names or counts of instances here: they change with every pod that starts, and
            // each change would be another status write.
            message:
              'waiting for instance Deployments to finish rolling out' +
              (plan.deletionsWaiting.length ? `; then deleting ${list(plan.deletionsWaiting)}` : ''),
          };
  const ready: ConditionInput =
    !busy && degraded.status === 'False'
      ? {
          type: 'Ready',
          status: 'True',
          reason: 'AllInstancesReady',
          message: `${plan.counts.expected} instance(s) ready`,
        }
      : {
          type: 'Ready',
          status: 'False',
          reason: degraded.status === 'True' ? degraded.reason : 'Progressing',
          message: degraded.status === 'True' ? degraded.message : progressing.message,
        };
  return [ready, progressing, degraded];
}

export function buildStatus(
  consumer: Consumer,
  plan: Plan | undefined,
  outcome: Outcome,
  now: Date,
): ConsumerStatus {
  const previous = consumer.status ?? {};
  const generation = consumer.metadata.generation;
  const next = [...conditionsFor(plan, outcome), ...(outcome.autoscaleConditions ?? [])];
  if (outcome.autoscaling) {
    for (const old of previous.conditions ?? []) {
      if (AUTOSCALING_CONDITIONS.includes(old.type) && !next.some((c) => c.type === old.type)) next.push(old);
    }
  }
  next.push(...(outcome.actuationConditions ?? []));
  // Lag is known only at metric reads; in between the last count stands.
  const lagging = outcome.autoscaling ? (previous.lagging ?? 0) : 0;
  const status: ConsumerStatus = {
    ...previous,
    ...(plan ? { ...plan.counts, lagging, replicas: podsPerInstance(consumer.spec) } : {}),
    ...outcome.autoscaleStatus,
    conditions: mergeConditions(previous.conditions, next, generation, now),
  };
  if (generation !== undefined) status.observedGeneration = generation;
  return status;
}

/**
 * How long the persisted lastSyncTime/lastSyncState may stand while instances roll out (Progressing
 * True in the stored status and in the new one). The end of the roll is a status write of its own
 * and carries the fresh ones, so a roll costs two writes (its start and its end) however many
 * instances it takes and however long; only a roll that lasts longer than this (a stuck one) gets a
 * checkpoint in between. Until then a restarted operator finds an older lastSyncTime and reads the
 * metrics at once, a read earlier than minSyncPeriod would have allowed.
 */
export const ROLLOUT_SYNC_CHECKPOINT_MS = 30 * 60_000;

const isProgressing = (status: ConsumerStatus) =>
  status.conditions?.some((c) => c.type === 'Progressing' && c.status === 'True') ?? false;

/**
 * `status` with the persisted lastSyncTime/lastSyncState (and capacity evidence) instead of its
 * own, while the persisted ones are younger than `checkpointMs` (during a roll:
 * ROLLOUT_SYNC_CHECKPOINT_MS, if longer); undefined when they are due (or there is no checkpoint).
 * The caller writes this instead of `status` when it differs in nothing else from what is stored.
 */
export function withPersistedSync(
  previous: ConsumerStatus,
  status: ConsumerStatus,
  checkpointMs: number | undefined,
  now: Date,
): ConsumerStatus | undefined {
  if (checkpointMs === undefined || previous.lastSyncTime === undefined) return undefined;
  const persistedAt = Date.parse(previous.lastSyncTime);
  const rolling = isProgressing(previous) && isProgressing(status);
  const due = rolling ? Math.max(checkpointMs, ROLLOUT_SYNC_CHECKPOINT_MS) : checkpointMs;
  if (!Number.isFinite(persistedAt) || now.getTime() - persistedAt >= due) return undefined;
  const held: ConsumerStatus = { ...status, lastSyncTime: previous.lastSyncTime };
  if (previous.lastSyncState === undefined) delete held.lastSyncState;
  else held.lastSyncState = previous.lastSyncState;
  // The capacity learned: its evidence waits for the checkpoint too, while what the sizing uses stands.
  const [before, after] = [previous.capacity, status.capacity];
  if (before && after && before.ratePerCore === after.ratePerCore && before.source === after.source)
    held.capacity = before;
  return held;
}

/**
 * The Normal event of a stop or a start: the pods per instance went to 0 (Stopped) or from 0
 * (Started) since the last status; undefined otherwise. The status written in the same reconcile
 * records the new count, so the event is given once.
 */
export function stopStartEvent(
  consumer: Consumer,
): { reason: 'Stopped' | 'Started'; message: string } | undefined {
  const before = consumer.status?.replicas;
  const pods = podsPerInstance(consumer.spec);
  if (pods === 0 && before !== 0)
    return {
      reason: 'Stopped',
      message: 'scaled to 0 pods per instance: every instance Deployment is kept at 0 replicas',
    };
  if (pods > 0 && before === 0)
    return { reason: 'Started', message: `scaled to ${pods} pod(s) per instance` };
  return undefined;
}
