// One level-triggered reconcile of one Consumer: read the caches, plan, apply the planned writes,
// write status if it changed. Any failure stays inside this Consumer: it is reported on its
// status and events and retried with backoff, and never stops the others.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import type { Consumer, ConsumerStatus } from '../api/schema.js';
import { autoscaleStep, type AutoscaleStep, type ScalingMemory } from './autoscaling.js';
import { instanceName } from '../plan/render.js';
import type { MetricsSources } from './metrics-sources.js';
import { validateConsumer, describeProblems } from '../api/validate.js';
import {
  afterWrites,
  isControlledBy,
  isRolledOut,
  planConsumer,
  type Action,
  type MetadataOnlyWrite,
  type Plan,
} from '../plan/consumer-plan.js';
import { buildStatus, stopStartEvent, withPersistedSync } from '../plan/status.js';
import { withConcurrency } from '../util/concurrency.js';
import { parsePartitionList } from '../plan/partitions.js';
import { Annotation } from '../api/constants.js';
import { isBalanced } from '../api/resolve.js';
import type { ResourceCache } from './cache.js';
import { isAtLeast } from './cache.js';
import type { ConsumerSource } from './consumer-source.js';
import { describeApiError, type KubeWriter } from './kube.js';
import type { EventSink } from './events.js';
import type { OperatorMetrics } from './metrics.js';
import type { Logger } from '../util/log.js';
import type { InPlaceActuation } from './in-place.js';
import { observeInstances } from '../plan/consumer-plan.js';
import { autoscaleConfig } from '../autoscale/config.js';
import { cpuMemoryAmounts, instanceResources } from '../plan/instance-resources.js';
import { checkTenantLimits, DEFAULT_TENANT_LIMITS, type TenantLimits } from './limits.js';
import { describeQuotaRefusal, parseQuotaRefusal } from './quota.js';
import type { Recreator } from './recreate.js';
import { OwnStatusWrites } from './own-writes.js';
import type { AutoscalerWatch } from './autoscaler-watch.js';
import {
  autoscalerConflicts,
  reportedConflicts,
  describeConflicts,
  podsSizedByVpa,
  replicasKeptByHpa,
} from '../plan/autoscalers.js';

export interface ReconcilerDeps {
  /** Consumer resources, or in guest mode annotated ConfigMaps. */
  consumers: ConsumerSource;
  deployments: ResourceCache<V1Deployment>;
  /** ReplicaSets of recreated instances (those with the `replaced` label). */
  replicaSets: ResourceCache<V1ReplicaSet>;
  /** HPAs and VPAs, to find those that target instance Deployments. */
  autoscalers: Pick<AutoscalerWatch, 'list'>;
  /** Replaces instance Deployments whose immutable fields changed. */
  recreator: Recreator;
  writer: KubeWriter;
  events: EventSink;
  metrics: OperatorMetrics;
  log: Logger;
  clock: () => Date;
  sources: MetricsSources;
  /** What the autoscaler remembers of each instance between reads. */
  scalingMemory: ScalingMemory;
  /** How many writes run at once within one reconcile. */
  writeConcurrency?: number;
  /** What is wrong with the installed CRD (with the fix), if anything. */
  crdProblem?: () => string | undefined;
  /** In-place resizes of the instances' pods. */
  inPlace: InPlaceActuation;
  /** Instances per Consumer and Consumers per namespace (default DEFAULT_TENANT_LIMITS). */
  limits?: TenantLimits;
}

export interface ReconcileResult {
  /** Reconcile again after this long even if nothing changes (rollouts to watch). */
  requeueAfterMs?: number;
  /** Writes that failed; the caller retries with backoff. */
  failures: string[];
}

const ROLLOUT_POLL_MS = 15_000;
/** A recreate step met a newer object than the cache's: tried again once the cache has it. */
const RECREATE_RETRY_MS = 1_000;

/** A Deployment write that succeeded, for its event. */
interface Done {
  name: string;
  reason: 'Created' | 'Updated' | 'Deleted';
  message: string;
}

/** A write the informer has to show before the next reconcile plans (see awaitCache). */
type Written = { name: string; resourceVersion: string } | { name: string; deletedUid: string };

/** A write that failed; `quota`: a ResourceQuota refused it. */
interface WriteFailure {
  text: string;
  quota: boolean;
}

/** Up to this many writes of one kind in a reconcile get an event each; more get one summary. */
const EVENTS_PER_DEPLOYMENT_UP_TO = 5;

/** The original's encoding of the scaling state in konsumerator_deployment_status. */
const STATUS_CODE: Record<string, number> = {
  RUNNING: 1,
  SATURATED: 2,
  PENDING_SCALE_UP: 3,
  PENDING_SCALE_DOWN: 4,
};

export const consumerKey = (namespace: string, name: string) => `${namespace}/${name}`;

const partitionsOf = (d: V1Deployment) => d.metadata?.annotations?.[Annotation.partition] ?? '';

export class Reconciler {
  /** The operator's metadata-only Deployment writes not yet observed, by uid (see isRolledOut). */
  private readonly metadataOnly = new Map<string, MetadataOnlyWrite & { namespace: string }>();
  /** The Consumers as the last status write left them, while the informer is behind. */
  private readonly ownStatus = new OwnStatusWrites();

  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const { consumers, metrics, clock } = this.deps;
    const cached = consumers.get(name, namespace);
    const consumer = cached && this.ownStatus.latest(key, cached);
    // Old ReplicaSets held for a recreate of a Consumer that is gone or was made anew.
    const owner = { ...consumers.ownerType, name };
    await this.deps.recreator.releaseStray(namespace, owner, consumer?.metadata.uid);
    if (!consumer) {
      this.ownStatus.forget(key);
      metrics.forgetConsumer(name);
      await this.forgetRemovedSources();
      return { failures: [] };
    }
    if (consumer.metadata.deletionTimestamp) return { failures: [] };
    metrics.reconcileStarted(name);
    const endTimer = metrics.reconcileDuration.startTimer({ consumer: name });
    try {
      return await this.reconcileConsumer(consumer, clock());
    } finally {
      endTimer();
    }
  }

  private async reconcileConsumer(consumer: Consumer, now: Date): Promise<ReconcileResult> {
    const { events } = this.deps;
    // Under a CRD this version does not expect, the API server prunes (on every read) the fields
    // that CRD lacks: this spec may have lost its pod template labels, dryRun, credentials, ...
    // Nothing is written from it, not even status: a write would store the pruned spec for good,
    // where the stored object keeps it until the right CRD is back. Events only.
    const crdProblem = this.deps.crdProblem?.();
    if (crdProblem) events.emit(consumer, 'Warning', 'CRDOutdated', crdProblem);
    // A ConfigMap (guest mode) may not even hold a spec; the API server checks Consumer resources.
    const readProblems = this.deps.consumers.readProblems(consumer);
    const validation =
      readProblems.length > 0 ? { errors: readProblems, warnings: [] } : validateConsumer(consumer);
    for (const warning of validation.warnings) {
      events.emit(consumer, 'Warning', 'SpecWarning', `${warning.field}: ${warning.message}`);
    }
    if (validation.errors.length > 0) {
      const message = describeProblems(validation.errors);
      events.emit(consumer, 'Warning', 'InvalidSpec', message);
      if (!crdProblem) await this.writeStatus(consumer, undefined, { specErrors: message }, now);
      return { failures: [] };
    }
    if (crdProblem) return { failures: [] };
    const refusal = checkTenantLimits(
      consumer,
      this.deps.consumers.list(consumer.metadata.namespace),
      this.deps.limits ?? DEFAULT_TENANT_LIMITS,
    );
    if (refusal) {
      events.emit(consumer, 'Warning', refusal.reason, refusal.message);
      await this.writeStatus(consumer, undefined, { refused: refusal }, now);
      return { failures: [] };
    }
    const deployments = this.deps.deployments.list(consumer.metadata.namespace);
    this.forgetObservedWrites(consumer.metadata.namespace, deployments);
    const step = await autoscaleStep(consumer, deployments, this.deps.sources, this.deps.scalingMemory, now);
    if (
      step.conditions.some(
        (c) =>
          c.type === 'MetricsAvailable' &&
          c.status === 'False' &&
          (c.reason === 'ReadFailed' || c.reason === 'EndpointDenied'),
      )
    ) {
      this.deps.metrics.providerReadFailed(consumer.metadata.name);
    }
    if (step.observed) this.deps.inPlace.noteLags(consumer, step.observed.lagMsByInstance);
    const inPlace = await this.deps.inPlace.prepare(consumer, deployments, now);
    // Another autoscaler on an instance: reported; the HPA keeps the replica count, the VPA the
    // pods' resources (the decision goes to the template only), so that nobody undoes the other.
    const observed = observeInstances(consumer, deployments);
    const prefix = consumer.spec.name;
    const targeting = autoscalerConflicts(
      new Set(observed.buckets.map((_, id) => instanceName(prefix, id))),
      this.deps.autoscalers.list(consumer.metadata.namespace),
    );
    const conflicts = reportedConflicts(targeting, isBalanced(consumer.spec));
    const sizedByVpa = podsSizedByVpa(conflicts);
    const rendering = inPlace.rendering && {
      ...inPlace.rendering,
      mustRoll: (id: number, desired: Parameters<typeof inPlace.rendering.mustRoll>[1]) =>
        sizedByVpa.has(instanceName(prefix, id)) || inPlace.rendering!.mustRoll(id, desired),
    };
    const plan = planConsumer({
      consumer,
      deployments,
      now,
      ...(step.overrides ? { overrides: step.overrides } : {}),
      ...(rendering ? { inPlace: rendering } : {}),
      ...(targeting.length > 0 ? { replicasKeptElsewhere: replicasKeptByHpa(targeting) } : {}),
      replicaSets: this.deps.replicaSets.list(consumer.metadata.namespace),
      metadataOnly: this.metadataOnly,
    });
    const failedWrites = new Set<string>();
    const writeFailures = await this.execute(consumer, plan.actions, failedWrites);
    const failures = writeFailures.map((f) => f.text);
    const recreated = await this.deps.recreator.run(consumer, plan);
    failures.push(...recreated.failures);
    const resizable =
      sizedByVpa.size === 0
        ? plan
        : {
            ...plan,
            desired: new Map([...plan.desired].filter(([, d]) => !sizedByVpa.has(d.metadata!.name!))),
          };
    const actuated = await this.deps.inPlace.actuate(
      consumer,
      inPlace,
      resizable,
      observed.byId,
      failedWrites,
      now,
    );
    failures.push(...actuated.failures);
    this.recordScaling(consumer, plan, step, autoscaleConfig(consumer.spec)?.container);
    if (plan.clashes.length > 0) {
      // Also on the Degraded condition; the event reaches `kubectl get events` and alerting.
      events.emit(
        consumer,
        'Warning',
        'NameConflict',
        `Deployments not controlled by this Consumer hold the instance names ${plan.clashes.join(', ')}; they are left untouched`,
      );
    }
    for (const event of step.events)
      events.emit(consumer, event.type, event.reason, event.message, event.notification);
    const conflictMessage = conflicts.length > 0 ? describeConflicts(conflicts) : undefined;
    if (conflictMessage) events.emit(consumer, 'Warning', 'AutoscalerConflict', conflictMessage);
    // New metrics settings are read within the operator's floor: a status that now could only say
    // the spec was seen waits for that read, so the change costs one status write, not two.
    const deferred = step.awaitsRead === true && plan.actions.length === 0 && failures.length === 0;
    const stopStart = deferred ? undefined : stopStartEvent(consumer);
    if (stopStart) events.emit(consumer, 'Normal', stopStart.reason, stopStart.message);
    const status = deferred
      ? (consumer.status ?? {})
      : await this.writeStatus(
          consumer,
          afterWrites(plan, failedWrites),
          {
            failures,
            quotaExceeded: writeFailures.some((f) => f.quota),
            autoscaleStatus: step.status,
            autoscaleConditions: step.conditions,
            actuationConditions: [
              ...actuated.conditions,
              ...(conflictMessage
                ? [
                    {
                      type: 'AutoscalerConflict',
                      status: 'True' as const,
                      reason: 'AutoscalerTargetsInstance',
                      message: conflictMessage,
                    },
                  ]
                : []),
            ],
            autoscaling: step.overrides !== undefined || step.conditions.length > 0,
            ...(step.syncCheckpointMs !== undefined ? { syncCheckpointMs: step.syncCheckpointMs } : {}),
          },
          now,
        );
    this.deps.metrics.setStatusCounts(consumer.metadata.name, {
      ...plan.counts,
      lagging: status.lagging ?? 0,
    });
    const waiting = plan.notRolledOut.length > 0 || plan.deletionsWaiting.length > 0;
    const delays = [
      waiting ? ROLLOUT_POLL_MS : undefined,
      recreated.retrySoon ? RECREATE_RETRY_MS : undefined,
      step.requeueAfterMs,
      actuated.requeueAfterMs,
    ].filter((d): d is number => d !== undefined);
    return { failures, ...(delays.length ? { requeueAfterMs: Math.min(...delays) } : {}) };
  }

  private async execute(
    consumer: Consumer,
    actions: readonly Action[],
    failedWrites: Set<string>,
  ): Promise<WriteFailure[]> {
    const failures: WriteFailure[] = [];
    const concurrency = this.deps.writeConcurrency ?? 8;
    const updates = actions.filter((a) => a.type === 'update');
    const keeps = updates.filter((a) => !this.dropsPartitions(a));
    const phases: Action[][] = [
      actions.filter((a) => a.type === 'create'),
      // Updates that give up partitions go after those that take them on: a partition moving from
      // one instance to another is never in neither's spec.
      keeps,
      updates.filter((a) => !keeps.includes(a)),
      actions.filter((a) => a.type === 'delete'),
    ];
    const written: Written[] = [];
    for (const batch of phases) {
      const done: Done[] = [];
      await withConcurrency(batch, concurrency, async (action) => {
        const failure = await this.executeOne(consumer, action, done, written);
        if (failure) {
          failures.push(failure);
          failedWrites.add(action.type === 'delete' ? action.name : action.deployment.metadata!.name!);
        }
      });
      this.recordDone(consumer, done);
    }
    await this.awaitCache(consumer.metadata.namespace, written);
    return failures;
  }

  /** The update leaves out a partition the Deployment has now. */
  private dropsPartitions(action: Action): boolean {
    if (action.type !== 'update') return false;
    const { name, namespace } = action.deployment.metadata!;
    const now = parsePartitionList(partitionsOf(this.deps.deployments.get(name!, namespace!) ?? {}));
    const next = new Set(parsePartitionList(partitionsOf(action.deployment)) ?? []);
    return (now ?? []).some((p) => !next.has(p));
  }

  /**
   * One event per Deployment written, or, past a handful, one summary event per kind of write:
   * a 1,000-instance Consumer would otherwise cost 1,000 event writes on top of its Deployments.
   */
  private recordDone(consumer: Consumer, done: readonly Done[]): void {
    const { events } = this.deps;
    if (done.length <= EVENTS_PER_DEPLOYMENT_UP_TO) {
      for (const d of done) events.emit(consumer, 'Normal', d.reason, d.message);
      return;
    }
    const names = done.map((d) => d.name).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const verb = { Created: 'created', Updated: 'updated', Deleted: 'deleted' }[done[0]!.reason];
    events.emit(
      consumer,
      'Normal',
      done[0]!.reason,
      `${verb} ${names.length} Deployments: ${names.slice(0, 3).join(', ')} … ${names.at(-1)}`,
    );
  }

  /** Runs one action; returns a description of the failure, if any. */
  private async executeOne(
    consumer: Consumer,
    action: Action,
    done: Done[],
    written: Written[],
  ): Promise<WriteFailure | undefined> {
    const { writer, events, metrics, log } = this.deps;
    const namespace = consumer.metadata.namespace;
    const label = { consumer: consumer.metadata.name };
    const name = action.type === 'delete' ? action.name : action.deployment.metadata!.name!;
    try {
      if (action.type === 'create') {
        const created = await writer.createDeployment(action.deployment);
        if (!created) return await this.nameTaken(consumer, name);
        written.push({ name, resourceVersion: created.metadata?.resourceVersion ?? '' });
        metrics.creates.inc(label);
        done.push({
          name,
          reason: 'Created',
          message: `created Deployment ${name} for partitions ${partitionsOf(action.deployment)}`,
        });
      } else if (action.type === 'update') {
        log.debug(
          {
            consumer: consumer.metadata.name,
            namespace,
            deployment: name,
            reason: action.reason,
            drift: action.drift,
          },
          'updating',
        );
        const before = this.deps.deployments.get(name, namespace);
        const applied = await writer.applyDeployment(action.deployment);
        written.push({ name, resourceVersion: applied.metadata?.resourceVersion ?? '' });
        this.noteMetadataOnly(action.specChanges, before, applied);
        metrics.updates.inc(label);
        // Only the autoscaler's bookkeeping on the Deployment (its scaling state, the size its pods
        // were resized to in place): the ScaledUp/ScaledDown and ResizedInPlace events say it.
        if (action.reason === 'outdated' && !action.templateChanges) return undefined;
        const why =
          action.reason === 'adopt'
            ? 'adopted it'
            : action.reason === 'drift'
              ? `reverted changes made outside the operator (${action.drift.slice(0, 5).join(', ')})`
              : 'applied the changed spec';
        done.push({ name, reason: 'Updated', message: `Deployment ${name}: ${why}` });
      } else {
        await writer.deleteDeployment(namespace, name, action.uid);
        written.push({ name, deletedUid: action.uid });
        metrics.deletes.inc(label);
        done.push({ name, reason: 'Deleted', message: `deleted Deployment ${name}: ${action.reason}` });
      }
      return undefined;
    } catch (error) {
      const { code, message } = describeApiError(error);
      const counter =
        action.type === 'create'
          ? metrics.createErrors
          : action.type === 'update'
            ? metrics.updateErrors
            : metrics.deleteErrors;
      counter.inc(label);
      // A ResourceQuota of the namespace: said as such (which quota, how far over); retried with
      // backoff like any failed write.
      const quota = parseQuotaRefusal(code, message);
      const text = quota
        ? `${action.type} of Deployment ${name} refused by ${describeQuotaRefusal(quota, namespace)}`
        : `${action.type} of Deployment ${name} failed${code ? ` (${code})` : ''}: ${message}`;
      log.warn({ consumer: consumer.metadata.name, namespace, deployment: name, code }, text);
      const reason = quota
        ? 'QuotaExceeded'
        : `${action.type[0]!.toUpperCase()}${action.type.slice(1)}Failed`;
      events.emit(consumer, 'Warning', reason, text);
      return { text, quota: quota !== undefined };
    }
  }

  /**
   * After an update: a metadata-only write to a rolled-out Deployment leaves it rolled out,
   * whatever generation the API server gave it (see isRolledOut); any other write ends that.
   */
  private noteMetadataOnly(
    specChanges: boolean,
    before: V1Deployment | undefined,
    applied: V1Deployment,
  ): void {
    const uid = applied.metadata?.uid;
    const generation = applied.metadata?.generation;
    if (!uid || generation === undefined) return;
    const earlier = this.metadataOnly.get(uid);
    if (specChanges || !before || before.metadata?.uid !== uid || !isRolledOut(before, this.metadataOnly)) {
      this.metadataOnly.delete(uid);
      return;
    }
    const beforeGeneration = before.metadata?.generation ?? 0;
    this.metadataOnly.set(uid, {
      namespace: applied.metadata?.namespace ?? '',
      generation,
      rolledOut: earlier?.generation === beforeGeneration ? earlier.rolledOut : beforeGeneration,
    });
  }

  /** Forgets the writes the controller-manager has observed, and those of Deployments gone. */
  private forgetObservedWrites(namespace: string, deployments: readonly V1Deployment[]): void {
    const observed = new Map(
      deployments.map((d) => [d.metadata?.uid ?? '', d.status?.observedGeneration ?? -1]),
    );
    for (const [uid, write] of this.metadataOnly) {
      if (write.namespace !== namespace) continue;
      const at = observed.get(uid);
      if (at === undefined || at >= write.generation) this.metadataOnly.delete(uid);
    }
  }

  /** The original's per-instance and budget gauges, and each instance's current size. */
  private recordScaling(
    consumer: Consumer,
    plan: Plan,
    step: AutoscaleStep,
    container: string | undefined,
  ): void {
    const { metrics } = this.deps;
    const name = consumer.metadata.name;
    for (const action of plan.actions) {
      if (action.type === 'delete') {
        metrics.forgetInstance(name, action.name);
      }
    }
    const scaled = container;
    if (scaled) {
      for (const desired of plan.desired.values()) {
        const deployment = desired.metadata!.name!;
        metrics.setInstanceResources(name, deployment, cpuMemoryAmounts(instanceResources(desired, scaled)));
      }
    }
    for (const [id, override] of step.overrides ?? []) {
      metrics.setInstanceScaling(
        name,
        instanceName(consumer.spec.name, id),
        STATUS_CODE[override.scaling.status] ?? 0,
        override.scaling.saturationMillis ?? 0,
      );
    }
    if (!step.observed) return;
    for (const [partition, seconds] of step.observed.lagSecondsByPartition)
      metrics.setLagObserved(name, partition, seconds);
    metrics.globalCpuAllocated.set({ consumer: name }, step.observed.allocated.cpuMillis);
    metrics.globalMemoryAllocated.set({ consumer: name }, step.observed.allocated.memoryBytes);
    const capacity = step.observed.capacity;
    if (capacity) {
      metrics.capacityRatePerCore.set({ consumer: name, kind: 'configured' }, capacity.configured);
      metrics.capacityRatePerCore.set({ consumer: name, kind: 'used' }, capacity.ratePerCore);
      if (capacity.learned !== undefined)
        metrics.capacityRatePerCore.set({ consumer: name, kind: 'learned' }, capacity.learned);
      metrics.capacityConfidence.set({ consumer: name }, capacity.confidence);
    }
    const budget = step.observed.budget;
    if (budget?.cpuMillis !== undefined) metrics.globalCpuLimit.set({ consumer: name }, budget.cpuMillis);
    if (budget?.memoryBytes !== undefined)
      metrics.globalMemoryLimit.set({ consumer: name }, budget.memoryBytes);
  }

  /** Closes the metrics providers of Consumers that no longer exist, and forgets their instances. */
  private async forgetRemovedSources(): Promise<void> {
    const live = new Set(this.deps.consumers.list().map((c) => c.metadata.uid));
    this.deps.scalingMemory.retain(live);
    await this.deps.inPlace.forget(this.deps.consumers.list());
    for (const uid of this.deps.sources.uids()) if (!live.has(uid)) await this.deps.sources.forget(uid);
  }

  /**
   * Waits until the informer has seen every write of this reconcile, so the next reconcile plans
   * from them (and does not, say, create again what it created). Once for all the writes, after
   * the last: the writes themselves never wait for the informer.
   */
  private async awaitCache(namespace: string, written: readonly Written[]): Promise<void> {
    const { deployments } = this.deps;
    let left = written;
    await deployments.waitUntil(() => {
      left = left.filter((w) => {
        const current = deployments.get(w.name, namespace);
        return 'deletedUid' in w
          ? current?.metadata?.uid === w.deletedUid
          : w.resourceVersion !== '' && !isAtLeast(current?.metadata?.resourceVersion, w.resourceVersion);
      });
      return left.length === 0;
    });
  }

  /**
   * A create found its instance name taken by a Deployment the cache had not seen yet. Once the
   * cache has it: one this Consumer controls (an earlier reconcile's create) needs nothing more;
   * any other is a name clash, left untouched, which the next plan reports on the status.
   */
  private async nameTaken(consumer: Consumer, name: string): Promise<WriteFailure | undefined> {
    const { deployments, events, metrics, log } = this.deps;
    const namespace = consumer.metadata.namespace;
    await deployments.waitUntil(() => deployments.get(name, namespace) !== undefined, 5_000);
    const holder = deployments.get(name, namespace);
    if (holder && isControlledBy(holder, consumer)) return undefined;
    metrics.createErrors.inc({ consumer: consumer.metadata.name });
    const text = holder
      ? `Deployment ${name} is not controlled by this Consumer but holds an instance name; it is left untouched`
      : `Deployment ${name} already existed when it was to be created; retrying`;
    log.warn({ consumer: consumer.metadata.name, namespace, deployment: name }, text);
    events.emit(consumer, 'Warning', holder ? 'NameConflict' : 'CreateFailed', text);
    return { text, quota: false };
  }

  private async writeStatus(
    consumer: Consumer,
    plan: Plan | undefined,
    outcome: Parameters<typeof buildStatus>[2],
    now: Date,
  ): Promise<ConsumerStatus> {
    const { metrics, consumers } = this.deps;
    const fresh = buildStatus(consumer, plan, outcome, now);
    // A read that changed only lastSyncTime/lastSyncState is not worth a write (see SYNC_CHECKPOINT_MS).
    const held = withPersistedSync(consumer.status ?? {}, fresh, outcome.syncCheckpointMs, now);
    if (held && !consumers.statusChanged(consumer, held)) return held;
    const status = fresh;
    if (!consumers.statusChanged(consumer, status)) return status;
    this.deps.log.debug(
      { consumer: consumer.metadata.name, from: consumer.status, to: status },
      'writing status',
    );
    const endTimer = metrics.statusUpdateDuration.startTimer({ consumer: consumer.metadata.name });
    try {
      const stored = await consumers.writeStatus(consumer, status);
      if (stored)
        this.ownStatus.remember(consumerKey(consumer.metadata.namespace, consumer.metadata.name), stored);
    } finally {
      endTimer();
    }
    // Wait (bounded) for the cache to hold the new status, so that the reconcile this write
    // triggers sees it; past the bound, the written object stands in for it (ownStatus).
    await consumers.awaitStatus(consumer, status);
    return status;
  }
}
