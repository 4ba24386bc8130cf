// The autoscaling step of a reconcile: read metrics (at most once per minSyncPeriod), run the
// pure autoscaler over the instances, and turn its decisions into render overrides, status
// fields, conditions and events.
import type { V1Deployment } from '@kubernetes/client-node';
import { Annotation, ScalingStatus } from '../api/constants.js';
import type {
  Condition,
  Consumer,
  ConsumerSpec,
  ConsumerStatus,
  ContainerPolicy,
  InstanceStatus,
} from '../api/schema.js';
import {
  actuationOf,
  instancePods,
  isStopped,
  policyFor,
  resolveSpec,
  sharingReplicas,
} from '../api/resolve.js';
import type { InstanceInput, InstanceOutcome } from '../autoscale/autoscale.js';
import { autoscaleConfig, autoscaleWith } from '../autoscale/config.js';
import {
  capacityFromStatus,
  capacityStatus,
  type CapacityState,
  type CapacityView,
} from '../autoscale/capacity.js';
import type { ScalingState } from '../autoscale/policy.js';
import { toLastSyncState, partitionRanges, type MetricsReading } from '../metrics/index.js';
import { hasAnyMetric } from '../autoscale/signals.js';
import { observeInstances } from '../plan/consumer-plan.js';
import type { InstanceOverride } from '../plan/render.js';
import { instanceName, rfc3339Seconds } from '../plan/render.js';
import { decideSizing, runningFallback, sizingOf } from '../plan/resources.js';
import { instanceResources } from '../plan/instance-resources.js';
import type { Sizing } from '../autoscale/sizing.js';
import { formatCpu, formatMemory } from '../util/units.js';
import type { MetricsSources } from './metrics-sources.js';
import type { Notification } from '../notify/cloudevent.js';

type ConditionInput = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

export interface ScaleEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** Also sent to the webhook targets. */
  notification?: Notification;
}

/** The status of a condition as the last reconcile wrote it. */
const previousStatus = (consumer: Consumer, type: string) =>
  consumer.status?.conditions?.find((c) => c.type === type)?.status;

export interface AutoscaleStep {
  overrides: Map<number, InstanceOverride> | undefined;
  status: Partial<ConsumerStatus>;
  conditions: ConditionInput[];
  events: ScaleEvent[];
  /** Reconcile again after this long (the next metrics read). */
  requeueAfterMs: number | undefined;
  /** How long lastSyncTime/lastSyncState may stay unwritten when nothing else in status changes. */
  syncCheckpointMs?: number;
  /**
   * The metrics settings changed and their first read is due within the operator's read floor
   * (requeueAfterMs): a status that would only say the spec was seen can wait for it.
   */
  awaitsRead?: boolean;
  /** For the operator's own metrics, from a fresh read. */
  observed?: {
    lagSecondsByPartition: Map<number, number>;
    /** Each existing instance's largest partition lag (undefined: unknown), for in-place actuation. */
    lagMsByInstance: Map<number, number | undefined>;
    allocated: { cpuMillis: number; memoryBytes: number };
    budget: { cpuMillis?: number; memoryBytes?: number } | undefined;
    /** With capacity learning: the configured and learned rate per core, and the confidence. */
    capacity?: CapacityView;
  };
}

const NONE: AutoscaleStep = {
  overrides: undefined,
  status: {},
  conditions: [],
  events: [],
  requeueAfterMs: undefined,
};

/** A new instance has no state yet. */
const NO_STATE: ScalingState = { status: undefined, changedAt: undefined, lagFreeSyncs: 0 };

const isStatus = (value: string | undefined): value is ScalingStatus =>
  value !== undefined && (Object.values(ScalingStatus) as string[]).includes(value);

function stateOf(deployment: V1Deployment, lagFreeSyncs: number): ScalingState {
  const annotations = deployment.metadata?.annotations ?? {};
  const status = annotations[Annotation.scalingStatus];
  const changed = annotations[Annotation.scalingStatusChange];
  const changedAt = changed ? new Date(changed) : undefined;
  return {
    status: isStatus(status) ? status : undefined,
    changedAt: changedAt && !Number.isNaN(changedAt.getTime()) ? changedAt : undefined,
    lagFreeSyncs,
  };
}

const describe = (s: Sizing) =>
  `cpu ${s.cpuRequest !== undefined ? formatCpu(s.cpuRequest) : '-'}/${s.cpuLimit !== undefined ? formatCpu(s.cpuLimit) : '-'}, ` +
  `memory ${s.memoryRequest !== undefined ? formatMemory(s.memoryRequest) : '-'}`;

/**
 * What the autoscaler remembers of each instance between reads, in memory (lost on restart: a
 * scale-down then waits for its lag-free reads again, a dry-run's pending periods start over):
 * the count of consecutive lag-free reads, and in dry-run the state the instance would be in
 * (the annotations, where the state lives otherwise, are not written in dry-run).
 */
export class ScalingMemory {
  private readonly lagFree = new Map<string, number>();
  private readonly dryRun = new Map<string, ScalingState>();
  /** What each Consumer learned of its capacity, newer than status.capacity between checkpoints. */
  private readonly capacity = new Map<string, { configured: number; state: CapacityState }>();

  /** The learned capacity: from memory, else from what status kept (after a restart). */
  learnedCapacity(consumer: Consumer, configured: number): CapacityState {
    const kept = this.capacity.get(consumer.metadata.uid!);
    return kept?.configured === configured
      ? kept.state
      : capacityFromStatus(consumer.status?.capacity, configured);
  }

  rememberCapacity(uid: string, configured: number, state: CapacityState): void {
    this.capacity.set(uid, { configured, state });
  }
  private readonly key = (uid: string, id: number) => `${uid}/${id}`;

  lagFreeSyncs(uid: string, id: number): number {
    return this.lagFree.get(this.key(uid, id)) ?? 0;
  }

  dryRunState(uid: string, id: number): ScalingState | undefined {
    return this.dryRun.get(this.key(uid, id));
  }

  remember(uid: string, id: number, lagFreeSyncs: number, dryRunState: ScalingState | undefined): void {
    const key = this.key(uid, id);
    this.lagFree.set(key, lagFreeSyncs);
    if (dryRunState) this.dryRun.set(key, dryRunState);
    else this.dryRun.delete(key);
  }

  /** Drops what is remembered of Consumers other than these. */
  retain(uids: ReadonlySet<string>): void {
    for (const map of [this.lagFree, this.dryRun])
      for (const key of map.keys()) if (!uids.has(key.slice(0, key.lastIndexOf('/')))) map.delete(key);
    for (const uid of this.capacity.keys()) if (!uids.has(uid)) this.capacity.delete(uid);
  }
}

/**
 * The autoscaler's input for an instance that has a Deployment: its size now and the scaling state
 * kept on the Deployment (the operator, and `konsumerator explain`, build it here). A balanced
 * instance is sized for the replicas its Deployment runs (an HPA may keep that count); the budget
 * counts every pod it runs, Partitioned or Balanced.
 */
export function existingInstanceInput(
  spec: ConsumerSpec,
  id: number,
  partitions: readonly number[],
  policy: ContainerPolicy | undefined,
  deployment: V1Deployment,
  container: string,
  lagFreeSyncs: number,
): InstanceInput {
  const replicas = sharingReplicas(spec, deployment.spec?.replicas);
  return {
    id,
    partitions,
    policy,
    ...(replicas !== undefined ? { replicas } : {}),
    pods: instancePods(spec, deployment.spec?.replicas),
    // The size its pods run with: the template's, or after in-place resizes the annotation's.
    current: sizingOf(instanceResources(deployment, container)),
    state: stateOf(deployment, lagFreeSyncs),
    paused: deployment.metadata?.annotations?.[Annotation.disableAutoscaler] !== undefined,
  };
}

export async function autoscaleStep(
  consumer: Consumer,
  deployments: readonly V1Deployment[],
  sources: MetricsSources,
  memory: ScalingMemory,
  now: Date,
): Promise<AutoscaleStep> {
  const config = autoscaleConfig(consumer.spec);
  if (!config || !config.container) return NONE;
  if (consumer.metadata.annotations?.[Annotation.disableAutoscaler] !== undefined) {
    return {
      ...NONE,
      conditions: [
        {
          type: 'MetricsAvailable',
          status: 'Unknown',
          reason: 'AutoscalingPaused',
          message: 'the Consumer carries the disable-autoscaler annotation',
        },
      ],
    };
  }
  if (isStopped(consumer.spec)) {
    // Stopped (0 pods per instance): nothing consumes, so metrics would only say lag grows; the
    // sizes stay as they are for the start.
    return {
      ...NONE,
      conditions: [
        {
          type: 'MetricsAvailable',
          status: 'Unknown',
          reason: 'Stopped',
          message:
            'the Consumer is scaled to 0 pods per instance; no metrics are read and no instance is resized',
        },
      ],
    };
  }
  const sync = await sources.sync(consumer, config, now);
  const requeueAfterMs = Math.max(1000, sources.nextReadInMs(consumer, config, now));
  if (sync.error !== undefined) {
    // The operator's endpoint policy refused the source's endpoint: no connection was attempted.
    const denied = (sync.denied?.length ?? 0) > 0;
    const lost = previousStatus(consumer, 'MetricsAvailable') !== 'False';
    return {
      ...NONE,
      requeueAfterMs: Math.min(requeueAfterMs, 30_000),
      conditions: [
        {
          type: 'MetricsAvailable',
          status: 'False',
          reason: denied ? 'EndpointDenied' : 'ReadFailed',
          message: `${sync.error}; no instance is resized until metrics are back`,
        },
      ],
      events: [
        {
          type: 'Warning',
          reason: denied ? 'EndpointDenied' : 'MetricsUnavailable',
          message: sync.error,
          ...(lost
            ? {
                notification: {
                  type: 'consumer.metrics.lost',
                  data: { reason: denied ? 'EndpointDenied' : 'ReadFailed', message: sync.error },
                },
              }
            : {}),
        },
      ],
    };
  }
  const reading = sync.reading!;
  const metricsCondition = metricsAvailable(config.mode, consumer.spec.numPartitions, reading);
  const { buckets, byId } = observeInstances(consumer, deployments);
  const policies = consumer.spec.resourcePolicy?.containerPolicies ?? [];
  const policy = policyFor(policies, config.container);
  const container = config.container;
  const uid = consumer.metadata.uid;
  const { fallbackStrategy } = resolveSpec(consumer.spec);
  // What a new instance gets without a prediction: the same fallback the plan renders.
  const fallback = decideSizing({
    policy,
    current: undefined,
    strategy: fallbackStrategy,
    fallbackFromRunning: runningFallback(container, buckets.length, [...byId.values()], fallbackStrategy),
  });

  // New instances start at the prediction from the latest reading (as the original did), fresh
  // or not; existing ones are decided about only on a fresh read.
  const inputs: InstanceInput[] = [];
  // The replicas a new balanced instance starts with (its Deployment does not run any yet).
  const newReplicas = sharingReplicas(consumer.spec);
  buckets.forEach((partitions, id) => {
    const deployment = byId.get(id);
    if (!deployment) {
      inputs.push({
        id,
        partitions,
        policy,
        current: fallback,
        state: NO_STATE,
        paused: false,
        isNew: true,
        ...(newReplicas !== undefined ? { replicas: newReplicas } : {}),
        pods: instancePods(consumer.spec),
      });
      return;
    }
    if (!sync.fresh) return;
    const input = existingInstanceInput(
      consumer.spec,
      id,
      partitions,
      policy,
      deployment,
      container,
      memory.lagFreeSyncs(uid, id),
    );
    const state = input.state;
    inputs.push({
      ...input,
      state: config.dryRun
        ? { ...(memory.dryRunState(uid, id) ?? state), lagFreeSyncs: state.lagFreeSyncs }
        : state,
    });
  });
  const configuredRate = config.settings.ratePerCore;
  const result = autoscaleWith(
    // The reads' actual spacing (the operator's floor may exceed the Consumer's minSyncPeriod).
    { ...config, minSyncPeriodMs: sources.periodMs(config) },
    now,
    reading.partitions,
    inputs,
    config.learnCapacity ? memory.learnedCapacity(consumer, configuredRate) : undefined,
    // Only a fresh read teaches: between reads the same numbers would count again.
    sync.fresh,
  );
  const capacity = result.capacity;
  if (capacity) memory.rememberCapacity(uid!, configuredRate, capacity.state);
  const stateBefore = new Map(inputs.map((i) => [i.id, i.state]));
  const overrides = new Map<number, InstanceOverride>();
  const events: ScaleEvent[] = [];
  const instanceStatus: InstanceStatus[] = [];
  const existing = result.instances.filter((o) => !o.isNew);
  const previousEntries = new Map((consumer.status?.instances ?? []).map((i) => [i.id, i]));
  for (const outcome of result.instances) {
    // A new instance is listed as the next read will see it (created at its decided size), so
    // that the status written with the creates is not rewritten at that read.
    if (outcome.isNew && !config.dryRun)
      instanceStatus.push(describeNewInstance(outcome, buckets[outcome.id]!));
    if (!outcome.isNew) {
      instanceStatus.push(
        config.dryRun
          ? describeInstance(outcome, buckets[outcome.id]!, true)
          : describeAfter(outcome, buckets[outcome.id]!, previousEntries.get(outcome.id)),
      );
      // Dry-run: after a change it would make, the instance stays in the state that led to it
      // (nothing changed), so the recommendation stands for as long as its reasons do.
      const input = inputs.find((i) => i.id === outcome.id)!;
      const dryRunState = config.dryRun
        ? outcome.decision.apply
          ? input.state
          : outcome.decision.state
        : undefined;
      memory.remember(uid, outcome.id, outcome.decision.state.lagFreeSyncs, dryRunState);
    }
    if (config.dryRun) continue; // dry-run: instances keep their resources and annotations
    overrides.set(outcome.id, {
      container,
      sizing: outcome.sizing,
      scaling: {
        status: outcome.decision.state.status ?? ScalingStatus.running,
        changedAt: outcome.decision.state.changedAt,
        saturationMillis: outcome.decision.saturationMillis,
      },
    });
    if (outcome.decision.apply && !outcome.isNew)
      events.push(scaleEvent(consumer, outcome, buckets[outcome.id]!));
    if (!outcome.isNew) {
      const saturation = saturationEvent(consumer, stateBefore.get(outcome.id)!, outcome);
      if (saturation) events.push(saturation);
    }
  }

  if (!sync.fresh) {
    // Between reads nothing is decided: instances keep their resources and state.
    return {
      overrides,
      status: {},
      conditions: [metricsCondition],
      events: [],
      requeueAfterMs,
      ...(sources.awaitsNewSettings(consumer) ? { awaitsRead: true } : {}),
    };
  }

  const stalled = existing.flatMap((o) =>
    o.signal.partitions.filter((p) => p.stalled).map((p) => p.partition),
  );
  const conditions: ConditionInput[] = [
    metricsCondition,
    stalled.length > 0
      ? {
          type: 'Stalled',
          status: 'True',
          reason: 'NoConsumption',
          message: `partitions ${partitionRanges(stalled)} are behind and consume nothing; more CPU would not help, so they are not scaled up`,
        }
      : {
          type: 'Stalled',
          status: 'False',
          reason: 'Consuming',
          message: 'every partition that is behind is consuming',
        },
  ];
  if (stalled.length > 0)
    events.push({
      type: 'Warning',
      reason: 'ConsumerStalled',
      message: conditions[1]!.message,
      // Notified when it starts; the event repeats (the event sink drops repeats within minutes).
      ...(previousStatus(consumer, 'Stalled') !== 'True'
        ? { notification: { type: 'consumer.stalled', data: { partitions: stalled } } }
        : {}),
    });
  if (metricsCondition.status === 'True' && previousStatus(consumer, 'MetricsAvailable') === 'False')
    events.push({
      type: 'Normal',
      reason: 'MetricsRestored',
      message: `metrics are back: ${metricsCondition.message}`,
      notification: { type: 'consumer.metrics.restored', data: { message: metricsCondition.message } },
    });
  // Some endpoints refused by the endpoint policy, the others answered.
  for (const message of sync.denied ?? [])
    events.push({ type: 'Warning', reason: 'EndpointDenied', message });
  return {
    overrides,
    status: {
      instances: mostInteresting(instanceStatus),
      lastSyncTime: rfc3339Seconds(now),
      lastSyncState: toLastSyncState(reading),
      lagging: result.instances.filter((o) => o.signal.lagging).length,
      ...(capacity ? { capacity: capacityStatus(capacity.state, capacity.view) } : {}),
    },
    conditions,
    events,
    requeueAfterMs,
    syncCheckpointMs: Math.max(SYNC_CHECKPOINT_MS, config.minSyncPeriodMs),
    observed: {
      lagSecondsByPartition: new Map(
        existing.flatMap((o) =>
          o.signal.partitions
            .filter((p) => p.lagMs !== undefined)
            .map((p) => [p.partition, p.lagMs! / 1000] as const),
        ),
      ),
      lagMsByInstance: new Map(existing.map((o) => [o.id, o.signal.maxLagMs] as const)),
      allocated: result.allocated,
      budget: config.budget,
      ...(capacity ? { capacity: capacity.view } : {}),
    },
  };
}

/**
 * MetricsAvailable for a reading: False (NoData) when no partition has any value, since nothing
 * can be decided; True otherwise, PartialData when some values are missing or the source warned.
 * No time in the messages: a message that changed at every read would be a status write per read.
 * The NoData message is built from the spec alone.
 */
export function metricsAvailable(
  mode: string,
  numPartitions: number,
  reading: MetricsReading,
): ConditionInput {
  const unknown: number[] = [];
  for (let p = 0; p < numPartitions; p++) if (!hasAnyMetric(reading.partitions.get(p))) unknown.push(p);
  const known = numPartitions - unknown.length;
  if (numPartitions > 0 && known === 0) {
    return {
      type: 'MetricsAvailable',
      status: 'False',
      reason: 'NoData',
      message: `the ${mode} source answered, but with no value for any of the ${numPartitions} partitions; no instance is resized until it has some`,
    };
  }
  if (unknown.length === 0 && reading.warnings.length === 0) {
    return {
      type: 'MetricsAvailable',
      status: 'True',
      reason: 'Read',
      message: `metrics read for all ${numPartitions} partitions`,
    };
  }
  const coverage =
    unknown.length > 0
      ? [
          `metrics for ${known} of ${numPartitions} partitions, none for partitions ${partitionRanges(unknown)}`,
        ]
      : [];
  return {
    type: 'MetricsAvailable',
    status: 'True',
    reason: 'PartialData',
    message: [...coverage, ...reading.warnings.slice(0, 5)].join('; ').slice(0, 2000),
  };
}

/**
 * lastSyncTime and lastSyncState change at every read. Written alone they would cost one status
 * write per minSyncPeriod per Consumer, so they ride along with any other status change and are
 * otherwise checkpointed this often. They are only needed to warm-start after a restart.
 */
export const SYNC_CHECKPOINT_MS = 5 * 60_000;

export const MAX_INSTANCE_STATUS = 500;

/** Lagging instances first, then those with a change, then by id; at most 500 (status must stay small). */
function mostInteresting(list: InstanceStatus[]): InstanceStatus[] {
  const rank = (i: InstanceStatus) =>
    ((i.lagSeconds ?? 0) > 0 ? 0 : 2) + (i.action && i.action !== 'none' ? 0 : 1);
  return [...list].sort((a, b) => rank(a) - rank(b) || a.id - b.id).slice(0, MAX_INSTANCE_STATUS);
}

const cpuText = (millis: number | undefined) => (millis === undefined ? undefined : formatCpu(millis));
const memoryText = (bytes: number | undefined) => (bytes === undefined ? undefined : formatMemory(bytes));

/** The instance's line in status.instances, from its decision (in dry-run: the decision not applied). */
function describeInstance(
  outcome: InstanceOutcome,
  partitions: readonly number[],
  dryRun: boolean,
): InstanceStatus {
  const { decision } = outcome;
  const direction = decision.direction === 'down' ? 'down' : 'up';
  const action: InstanceStatus['action'] = !decision.apply
    ? 'none'
    : dryRun
      ? `would-scale-${direction}`
      : `scale-${direction}`;
  const entry: InstanceStatus = { id: outcome.id, partitions: partitionRanges(partitions), action };
  if (decision.state.status) entry.state = decision.state.status;
  if (outcome.signal.maxLagMs !== undefined) entry.lagSeconds = Math.floor(outcome.signal.maxLagMs / 1000);
  const fields: [keyof InstanceStatus, string | undefined][] = [
    ['cpu', cpuText(outcome.current.cpuRequest)],
    ['memory', memoryText(outcome.current.memoryRequest)],
    ['targetCpu', cpuText(outcome.target.cpuRequest)],
    ['targetMemory', memoryText(outcome.target.memoryRequest)],
  ];
  for (const [key, value] of fields) if (value !== undefined) (entry as Record<string, unknown>)[key] = value;
  return entry;
}

/**
 * An instance's line as it stands after this read's writes: at the size it was given, with the
 * last change made to it while that size stands. The next read then sees what this one wrote,
 * and a scaling costs one status write, not a second one when the next read finds it done.
 */
function describeAfter(
  outcome: InstanceOutcome,
  partitions: readonly number[],
  previous: InstanceStatus | undefined,
): InstanceStatus {
  const entry = describeInstance({ ...outcome, current: outcome.sizing }, partitions, false);
  const lastChange = previous?.action === 'scale-up' || previous?.action === 'scale-down';
  if (entry.action === 'none' && lastChange && previous.cpu === entry.cpu && previous.memory === entry.memory)
    entry.action = previous.action;
  return entry;
}

/** A new instance's line in status.instances: created at its decided size, nothing more to do. */
function describeNewInstance(outcome: InstanceOutcome, partitions: readonly number[]): InstanceStatus {
  return describeInstance(
    {
      ...outcome,
      current: outcome.sizing,
      decision: {
        ...outcome.decision,
        apply: false,
        state: { ...outcome.decision.state, status: outcome.decision.state.status ?? ScalingStatus.running },
      },
    },
    partitions,
    false,
  );
}

/** A Sizing as notification data: Kubernetes quantities, absent fields left out. */
function sizingData(s: Sizing): Record<string, string> {
  const data: Record<string, string> = {};
  if (s.cpuRequest !== undefined) data.cpuRequest = formatCpu(s.cpuRequest);
  if (s.cpuLimit !== undefined) data.cpuLimit = formatCpu(s.cpuLimit);
  if (s.memoryRequest !== undefined) data.memoryRequest = formatMemory(s.memoryRequest);
  if (s.memoryLimit !== undefined) data.memoryLimit = formatMemory(s.memoryLimit);
  return data;
}

function scaleEvent(consumer: Consumer, outcome: InstanceOutcome, partitions: readonly number[]): ScaleEvent {
  const name = instanceName(consumer.spec.name, outcome.id);
  const lag =
    outcome.signal.maxLagMs !== undefined ? `, lag ${Math.round(outcome.signal.maxLagMs / 1000)}s` : '';
  const down = outcome.decision.direction === 'down';
  return {
    type: 'Normal',
    reason: down ? 'ScaledDown' : 'ScaledUp',
    message: `${name}: ${describe(outcome.current)} → ${describe(outcome.sizing)} (${outcome.decision.reason}${lag})`,
    notification: {
      type: down ? 'instance.scaled.down' : 'instance.scaled.up',
      subject: name,
      data: {
        instance: outcome.id,
        deployment: name,
        partitions: [...partitions],
        from: sizingData(outcome.current),
        to: sizingData(outcome.sizing),
        reason: outcome.decision.reason,
        ...(outcome.signal.maxLagMs !== undefined
          ? { lagSeconds: Math.round(outcome.signal.maxLagMs / 1000) }
          : {}),
        // How it is applied; an instance.rollout.fallback event follows when in place is not possible.
        actuation: actuationOf(consumer.spec),
      },
    },
  };
}

/** An instance entering or leaving SATURATED (it needs more than the policy or the budget allows). */
function saturationEvent(
  consumer: Consumer,
  before: ScalingState,
  outcome: InstanceOutcome,
): ScaleEvent | undefined {
  const wasSaturated = before.status === ScalingStatus.saturated;
  const isSaturated = outcome.decision.state.status === ScalingStatus.saturated;
  if (wasSaturated === isSaturated) return undefined;
  const name = instanceName(consumer.spec.name, outcome.id);
  const shortage = outcome.decision.saturationMillis;
  return isSaturated
    ? {
        type: 'Warning',
        reason: 'Saturated',
        message: `${name}: needs more CPU than the container policy or the budget allows${shortage !== undefined ? ` (${formatCpu(shortage)} short)` : ''}`,
        notification: {
          type: 'instance.saturated',
          subject: name,
          data: {
            instance: outcome.id,
            deployment: name,
            ...(shortage !== undefined ? { cpuShortage: formatCpu(shortage) } : {}),
            limitedBy: outcome.budgetCut ? 'budget' : 'maxAllowed',
            size: sizingData(outcome.sizing),
          },
        },
      }
    : {
        type: 'Normal',
        reason: 'SaturationCleared',
        message: `${name}: no longer needs more than it is allowed`,
        notification: {
          type: 'instance.saturation.cleared',
          subject: name,
          data: { instance: outcome.id, deployment: name, size: sizingData(outcome.sizing) },
        },
      };
}
