// The autoscaling step of a reconcile: read metrics (at most once per minSyncPeriod), run the
// pure autoscaler over the instances, and turn its decisions into render overrides, status
// fields, conditions and events.
import type { V1Deployment } from '@kubernetes/client-node';
import { Annotation, ScalingStatus } from '../api/constants.js';
import type { Condition, Consumer, ConsumerStatus, InstanceStatus } from '../api/schema.js';
import { compareRequests } from '../autoscale/policy.js';
import { policyFor } from '../api/resolve.js';
import { autoscale, type InstanceInput, type InstanceOutcome } from '../autoscale/autoscale.js';
import { autoscaleConfig } from '../autoscale/config.js';
import type { ScalingState } from '../autoscale/policy.js';
import { toLastSyncState, partitionRanges } from '../metrics/index.js';
import { observeInstances } from '../plan/consumer-plan.js';
import type { InstanceOverride } from '../plan/render.js';
import { instanceName, rfc3339Seconds } from '../plan/render.js';
import { limitToPolicy } from '../autoscale/limiter.js';
import { instanceSignal } from '../autoscale/signals.js';
import { sizingOf } from '../plan/resources.js';
import type { Sizing } from '../autoscale/sizing.js';
import { formatCpu, formatMemory } from '../api/units.js';
import type { MetricsSources } from './metrics-sources.js';

type ConditionInput = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

export interface ScaleEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface AutoscaleStep {
  overrides: Map<number, InstanceOverride> | undefined;
  status: Partial<ConsumerStatus>;
  conditions: ConditionInput[];
  events: ScaleEvent[];
  /** Reconcile again after this long (the next metrics read). */
  requeueAfterMs: number | undefined;
  /** How long lastSyncTime/lastSyncState may stay unwritten when nothing else in status changes. */
  syncCheckpointMs?: number;
  /** For the operator's own metrics, from a fresh read. */
  observed?: {
    lagSecondsByPartition: Map<number, number>;
    allocated: { cpuMillis: number; memoryBytes: number };
    budget: { cpuMillis?: number; memoryBytes?: number } | undefined;
  };
}

const NONE: AutoscaleStep = {
  overrides: undefined,
  status: {},
  conditions: [],
  events: [],
  requeueAfterMs: undefined,
};

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

/** In-memory count of consecutive lag-free syncs per instance (lost on restart: scale-down then waits longer). */
export class LagFreeCounter {
  private readonly counts = new Map<string, number>();
  get(uid: string, id: number): number {
    return this.counts.get(`${uid}/${id}`) ?? 0;
  }
  set(uid: string, id: number, value: number): void {
    this.counts.set(`${uid}/${id}`, value);
  }
}

export async function autoscaleStep(
  consumer: Consumer,
  deployments: readonly V1Deployment[],
  sources: MetricsSources,
  lagFree: LagFreeCounter,
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
  const sync = await sources.sync(consumer, config, now);
  const requeueAfterMs = Math.max(1000, sources.nextReadInMs(consumer, config, now));
  if (sync.error !== undefined) {
    return {
      ...NONE,
      requeueAfterMs: Math.min(requeueAfterMs, 30_000),
      conditions: [
        {
          type: 'MetricsAvailable',
          status: 'False',
          reason: 'ReadFailed',
          message: `${sync.error}; no instance is resized until metrics are back`,
        },
      ],
      events: [{ type: 'Warning', reason: 'MetricsUnavailable', message: sync.error }],
    };
  }
  const reading = sync.reading!;
  const metricsCondition: ConditionInput = {
    type: 'MetricsAvailable',
    status: 'True',
    reason: reading.warnings.length ? 'PartialData' : 'Read',
    message: reading.warnings.length
      ? reading.warnings.slice(0, 5).join('; ').slice(0, 2000)
      : // No time here: a message that changed at every read would be a status write per read.
        `metrics read for all ${consumer.spec.numPartitions} partitions`,
  };
  const { buckets, byId } = observeInstances(consumer, deployments);
  const policies = consumer.spec.resourcePolicy?.containerPolicies ?? [];
  const policy = policyFor(policies, config.container);
  const container = config.container;
  const overrides = new Map<number, InstanceOverride>();

  // New instances start at the prediction from the latest reading (as the original did).
  buckets.forEach((partitions, id) => {
    if (byId.has(id) || config.dryRun) return;
    const signal = instanceSignal(
      partitions,
      reading.partitions,
      config.settings.tolerableLagMs,
      config.settings.criticalLagMs,
    );
    const prediction = signal.unknown ? undefined : config.predictor(signal.partitions, config.settings);
    if (!prediction) return;
    const limited = limitToPolicy(prediction, policy, signal.critical);
    overrides.set(id, {
      container,
      sizing: limited.target,
      scaling: {
        status: limited.cpuShortage > 0 ? ScalingStatus.saturated : ScalingStatus.running,
        changedAt: now,
        saturationMillis: limited.cpuShortage > 0 ? limited.cpuShortage : undefined,
      },
    });
  });

  if (!sync.fresh) {
    // Between reads nothing is decided: instances keep their resources and state.
    return { overrides, status: {}, conditions: [metricsCondition], events: [], requeueAfterMs };
  }

  const inputs: InstanceInput[] = [...byId.entries()].map(([id, deployment]) => ({
    id,
    partitions: buckets[id]!,
    policy,
    current: sizingOf(
      deployment.spec?.template?.spec?.containers?.find((c) => c.name === container)?.resources,
    ),
    state: stateOf(deployment, lagFree.get(consumer.metadata.uid, id)),
    paused: deployment.metadata?.annotations?.[Annotation.disableAutoscaler] !== undefined,
  }));
  const result = autoscale({
    settings: config.settings,
    predictor: config.predictor,
    now,
    samples: reading.partitions,
    instances: inputs,
    ...(config.budget ? { budget: config.budget } : {}),
  });
  const events: ScaleEvent[] = [];
  const instanceStatus: InstanceStatus[] = [];
  for (const outcome of result.instances) {
    const input = inputs.find((i) => i.id === outcome.id)!;
    instanceStatus.push(describeInstance(outcome, input, buckets[outcome.id]!, config.dryRun));
    if (config.dryRun) continue; // dry-run: instances keep their resources and annotations
    lagFree.set(consumer.metadata.uid, outcome.id, outcome.decision.state.lagFreeSyncs);
    const status = outcome.decision.state.status ?? ScalingStatus.running;
    overrides.set(outcome.id, {
      container,
      sizing: outcome.sizing,
      scaling: {
        status,
        changedAt: outcome.decision.state.changedAt,
        saturationMillis: outcome.decision.saturationMillis,
      },
    });
    if (outcome.decision.apply) events.push(scaleEvent(consumer, outcome, input.current));
  }
  const stalled = result.instances.flatMap((o) =>
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
    events.push({ type: 'Warning', reason: 'ConsumerStalled', message: conditions[1]!.message });
  return {
    overrides,
    status: {
      instances: mostInteresting(instanceStatus),
      lastSyncTime: rfc3339Seconds(now),
      lastSyncState: toLastSyncState(reading),
      lagging: result.instances.filter((o) => o.signal.lagging).length,
    },
    conditions,
    events,
    requeueAfterMs,
    syncCheckpointMs: Math.max(SYNC_CHECKPOINT_MS, config.minSyncPeriodMs),
    observed: {
      lagSecondsByPartition: new Map(
        result.instances.flatMap((o) =>
          o.signal.partitions
            .filter((p) => p.lagMs !== undefined)
            .map((p) => [p.partition, p.lagMs! / 1000] as const),
        ),
      ),
      allocated: result.allocated,
      budget: config.budget,
    },
  };
}

/**
 * lastSyncTime and lastSyncState change at every read. Written alone they would cost one status
 * write per minSyncPeriod per Consumer, so they ride along with any other status change and are
 * otherwise checkpointed this often. They are only needed to warm-start after a restart.
 */
export const SYNC_CHECKPOINT_MS = 5 * 60_000;

const MAX_INSTANCE_STATUS = 500;

/** Lagging instances first, then those with a change, then by id; at most 500 (status must stay small). */
function mostInteresting(list: InstanceStatus[]): InstanceStatus[] {
  const rank = (i: InstanceStatus) =>
    ((i.lagSeconds ?? 0) > 0 ? 0 : 2) + (i.action && i.action !== 'none' ? 0 : 1);
  return [...list].sort((a, b) => rank(a) - rank(b) || a.id - b.id).slice(0, MAX_INSTANCE_STATUS);
}

const cpuText = (millis: number | undefined) => (millis === undefined ? undefined : formatCpu(millis));
const memoryText = (bytes: number | undefined) => (bytes === undefined ? undefined : formatMemory(bytes));

function describeInstance(
  outcome: InstanceOutcome,
  input: InstanceInput,
  partitions: readonly number[],
  dryRun: boolean,
): InstanceStatus {
  const cmp = compareRequests(outcome.target, input.current);
  const wouldChange =
    cmp > 0
      ? outcome.signal.lagging && !outcome.signal.stalled
      : cmp < 0 && !outcome.signal.lagging && outcome.signal.lagKnown;
  const action: InstanceStatus['action'] = dryRun
    ? wouldChange
      ? cmp > 0
        ? 'would-scale-up'
        : 'would-scale-down'
      : 'none'
    : outcome.decision.apply
      ? outcome.decision.direction === 'down'
        ? 'scale-down'
        : 'scale-up'
      : 'none';
  const entry: InstanceStatus = { id: outcome.id, partitions: partitionRanges(partitions), action };
  const state = dryRun ? input.state.status : outcome.decision.state.status;
  if (state) entry.state = state;
  if (outcome.signal.maxLagMs !== undefined) entry.lagSeconds = Math.floor(outcome.signal.maxLagMs / 1000);
  const fields: [keyof InstanceStatus, string | undefined][] = [
    ['cpu', cpuText(input.current.cpuRequest)],
    ['memory', memoryText(input.current.memoryRequest)],
    ['targetCpu', cpuText(outcome.target.cpuRequest)],
    ['targetMemory', memoryText(outcome.target.memoryRequest)],
  ];
  for (const [key, value] of fields) if (value !== undefined) (entry as Record<string, unknown>)[key] = value;
  return entry;
}

function scaleEvent(consumer: Consumer, outcome: InstanceOutcome, current: Sizing): ScaleEvent {
  const name = instanceName(consumer.spec.name, outcome.id);
  const lag =
    outcome.signal.maxLagMs !== undefined ? `, lag ${Math.round(outcome.signal.maxLagMs / 1000)}s` : '';
  return {
    type: 'Normal',
    reason: outcome.decision.direction === 'down' ? 'ScaledDown' : 'ScaledUp',
    message: `${name}: ${describe(current)} → ${describe(outcome.sizing)} (${outcome.decision.reason}${lag})`,
  };
}
