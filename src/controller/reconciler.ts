// One level-triggered reconcile of one Consumer: read the caches, plan, apply the planned writes,
// write status if it changed. Any failure stays inside this Consumer: it is reported on its
// status and events and retried with backoff, and never stops the others.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Consumer, ConsumerStatus } from '../api/schema.js';
import { autoscaleStep, type AutoscaleStep, type LagFreeCounter } from './autoscaling.js';
import { instanceName } from '../plan/render.js';
import type { MetricsSources } from './metrics-sources.js';
import { validateConsumer, describeProblems } from '../api/validate.js';
import { planConsumer, type Action, type Plan } from '../plan/consumer-plan.js';
import { buildStatus } from '../plan/status.js';
import { canonicalJson } from '../plan/hash.js';
import { Annotation } from '../api/constants.js';
import type { ResourceCache } from './cache.js';
import { isAtLeast } from './cache.js';
import { describeApiError, type KubeWriter } from './kube.js';
import type { EventSink } from './events.js';
import type { OperatorMetrics } from './metrics.js';
import type { Logger } from '../util/log.js';

export interface ReconcilerDeps {
  consumers: ResourceCache<Consumer>;
  deployments: ResourceCache<V1Deployment>;
  writer: KubeWriter;
  events: EventSink;
  metrics: OperatorMetrics;
  log: Logger;
  clock: () => Date;
  sources: MetricsSources;
  lagFree: LagFreeCounter;
  /** How many writes run at once within one reconcile. */
  writeConcurrency?: number;
}

export interface ReconcileResult {
  /** Reconcile again after this long even if nothing changes (rollouts to watch). */
  requeueAfterMs?: number;
  /** Writes that failed; the caller retries with backoff. */
  failures: string[];
}

const ROLLOUT_POLL_MS = 15_000;

/** The original's encoding of the scaling state in konsumerator_deployment_status. */
const STATUS_CODE: Record<string, number> = {
  RUNNING: 1,
  SATURATED: 2,
  PENDING_SCALE_UP: 3,
  PENDING_SCALE_DOWN: 4,
};

export const consumerKey = (namespace: string, name: string) => `${namespace}/${name}`;

async function inBatches<T>(
  items: readonly T[],
  size: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

const partitionsOf = (d: V1Deployment) => d.metadata?.annotations?.[Annotation.partition] ?? '';

export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const { consumers, metrics, clock } = this.deps;
    const consumer = consumers.get(name, namespace);
    if (!consumer) {
      metrics.forgetConsumer(name);
      await this.forgetRemovedSources();
      return { failures: [] };
    }
    if (consumer.metadata.deletionTimestamp) return { failures: [] };
    metrics.reconcileTotal.inc({ consumer: name });
    const endTimer = metrics.reconcileDuration.startTimer({ consumer: name });
    try {
      return await this.reconcileConsumer(consumer, clock());
    } finally {
      endTimer();
    }
  }

  private async reconcileConsumer(consumer: Consumer, now: Date): Promise<ReconcileResult> {
    const { events } = this.deps;
    const validation = validateConsumer(consumer);
    for (const warning of validation.warnings) {
      events.emit(consumer, 'Warning', 'SpecWarning', `${warning.field}: ${warning.message}`);
    }
    if (validation.errors.length > 0) {
      const message = describeProblems(validation.errors);
      events.emit(consumer, 'Warning', 'InvalidSpec', message);
      await this.writeStatus(consumer, undefined, { specErrors: message }, now);
      return { failures: [] };
    }
    const deployments = this.deps.deployments.list(consumer.metadata.namespace);
    const step = await autoscaleStep(consumer, deployments, this.deps.sources, this.deps.lagFree, now);
    if (
      step.conditions.some(
        (c) => c.type === 'MetricsAvailable' && c.status === 'False' && c.reason === 'ReadFailed',
      )
    ) {
      this.deps.metrics.providerReadFailed(consumer.metadata.name);
    }
    const plan = planConsumer({
      consumer,
      deployments,
      now,
      ...(step.overrides ? { overrides: step.overrides } : {}),
    });
    const failures = await this.execute(consumer, plan.actions);
    if (plan.clashes.length > 0) {
      // Also on the Degraded condition; the event reaches `kubectl get events` and alerting.
      events.emit(
        consumer,
        'Warning',
        'NameConflict',
        `Deployments not controlled by this Consumer hold the instance names ${plan.clashes.join(', ')}; they are left untouched`,
      );
    }
    for (const event of step.events) events.emit(consumer, event.type, event.reason, event.message);
    const status = await this.writeStatus(
      consumer,
      plan,
      {
        failures,
        autoscaleStatus: step.status,
        autoscaleConditions: step.conditions,
        autoscaling: step.overrides !== undefined || step.conditions.length > 0,
      },
      now,
    );
    this.deps.metrics.setStatusCounts(consumer.metadata.name, {
      ...plan.counts,
      lagging: status.lagging ?? 0,
    });
    const waiting = plan.notRolledOut.length > 0 || plan.deletionsWaiting.length > 0;
    const delays = [waiting ? ROLLOUT_POLL_MS : undefined, step.requeueAfterMs].filter(
      (d): d is number => d !== undefined,
    );
    return { failures, ...(delays.length ? { requeueAfterMs: Math.min(...delays) } : {}) };
  }

  private async execute(consumer: Consumer, actions: readonly Action[]): Promise<string[]> {
    const failures: string[] = [];
    const concurrency = this.deps.writeConcurrency ?? 8;
    for (const type of ['create', 'update', 'delete'] as const) {
      const batch = actions.filter((a) => a.type === type);
      await inBatches(batch, concurrency, async (action) => {
        const failure = await this.executeOne(consumer, action);
        if (failure) failures.push(failure);
      });
    }
    return failures;
  }

  /** Runs one action; returns a description of the failure, if any. */
  private async executeOne(consumer: Consumer, action: Action): Promise<string | undefined> {
    const { writer, events, metrics, deployments, log } = this.deps;
    const namespace = consumer.metadata.namespace;
    const label = { consumer: consumer.metadata.name };
    const name = action.type === 'delete' ? action.name : action.deployment.metadata!.name!;
    try {
      if (action.type === 'create') {
        if (!(await writer.deploymentNameIsFree(namespace, name))) {
          // The cache had not seen it yet; the next reconcile sorts out whose it is.
          return `Deployment ${name} appeared before it could be created; retrying`;
        }
        const written = await writer.applyDeployment(action.deployment);
        await this.awaitCache(namespace, name, written.metadata?.resourceVersion);
        metrics.creates.inc(label);
        events.emit(
          consumer,
          'Normal',
          'Created',
          `created Deployment ${name} for partitions ${partitionsOf(action.deployment)}`,
        );
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
        const written = await writer.applyDeployment(action.deployment);
        await this.awaitCache(namespace, name, written.metadata?.resourceVersion);
        metrics.updates.inc(label);
        const why =
          action.reason === 'adopt'
            ? 'adopted it'
            : action.reason === 'drift'
              ? `reverted changes made outside the operator (${action.drift.slice(0, 5).join(', ')})`
              : 'applied the changed spec';
        events.emit(consumer, 'Normal', 'Updated', `Deployment ${name}: ${why}`);
      } else {
        await writer.deleteDeployment(namespace, name, action.uid);
        await deployments.waitUntil(() => deployments.get(name, namespace)?.metadata?.uid !== action.uid);
        metrics.deletes.inc(label);
        events.emit(consumer, 'Normal', 'Deleted', `deleted Deployment ${name}: ${action.reason}`);
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
      const text = `${action.type} of Deployment ${name} failed${code ? ` (${code})` : ''}: ${message}`;
      log.warn({ consumer: consumer.metadata.name, namespace, deployment: name, code }, text);
      events.emit(consumer, 'Warning', `${action.type[0]!.toUpperCase()}${action.type.slice(1)}Failed`, text);
      return text;
    }
  }

  /** The original's per-instance and budget gauges. */
  private recordScaling(consumer: Consumer, plan: Plan, step: AutoscaleStep): void {
    const { metrics } = this.deps;
    const name = consumer.metadata.name;
    for (const action of plan.actions) {
      if (action.type === 'delete') {
        const labels = { consumer: name, deployment: action.name };
        metrics.deploymentStatus.remove(labels);
        metrics.deploymentSaturation.remove(labels);
      }
    }
    for (const [id, override] of step.overrides ?? []) {
      const labels = { consumer: name, deployment: instanceName(consumer.spec.name, id) };
      metrics.deploymentStatus.set(labels, STATUS_CODE[override.scaling.status] ?? 0);
      metrics.deploymentSaturation.set(labels, override.scaling.saturationMillis ?? 0);
      metrics.track(metrics.deploymentStatus, labels);
      metrics.track(metrics.deploymentSaturation, labels);
    }
    if (!step.observed) return;
    for (const [partition, seconds] of step.observed.lagSecondsByPartition) {
      const labels = { consumer: name, partition: String(partition) };
      metrics.lagObserved.set(labels, seconds);
      metrics.track(metrics.lagObserved, labels);
    }
    metrics.globalCpuAllocated.set({ consumer: name }, step.observed.allocated.cpuMillis);
    metrics.globalMemoryAllocated.set({ consumer: name }, step.observed.allocated.memoryBytes);
    const budget = step.observed.budget;
    if (budget?.cpuMillis !== undefined) metrics.globalCpuLimit.set({ consumer: name }, budget.cpuMillis);
    if (budget?.memoryBytes !== undefined)
      metrics.globalMemoryLimit.set({ consumer: name }, budget.memoryBytes);
  }

  /** Closes the metrics providers of Consumers that no longer exist. */
  private async forgetRemovedSources(): Promise<void> {
    const live = new Set(this.deps.consumers.list().map((c) => c.metadata.uid));
    for (const uid of this.deps.sources.uids()) if (!live.has(uid)) await this.deps.sources.forget(uid);
  }

  /** Waits until the informer has seen our write, so the next reconcile plans from it. */
  private async awaitCache(
    namespace: string,
    name: string,
    resourceVersion: string | undefined,
  ): Promise<void> {
    if (!resourceVersion) return;
    const { deployments } = this.deps;
    await deployments.waitUntil(() =>
      isAtLeast(deployments.get(name, namespace)?.metadata?.resourceVersion, resourceVersion),
    );
  }

  private async writeStatus(
    consumer: Consumer,
    plan: Plan | undefined,
    outcome: Parameters<typeof buildStatus>[2],
    now: Date,
  ): Promise<ConsumerStatus> {
    const status = buildStatus(consumer, plan, outcome, now);
    if (canonicalJson(status) === canonicalJson(consumer.status ?? {})) return status;
    const { metrics, writer, consumers } = this.deps;
    this.deps.log.debug(
      { consumer: consumer.metadata.name, from: consumer.status, to: status },
      'writing status',
    );
    const endTimer = metrics.statusUpdateDuration.startTimer({ consumer: consumer.metadata.name });
    try {
      await writer.patchStatus(consumer, status);
    } finally {
      endTimer();
    }
    // Wait for the cache to hold the new status, so that the reconcile this write triggers
    // compares against it and writes nothing.
    await consumers.waitUntil(
      () =>
        canonicalJson(consumers.get(consumer.metadata.name, consumer.metadata.namespace)?.status ?? {}) ===
        canonicalJson(status),
      5_000,
    );
    return status;
  }
}
