// In-place actuation in the reconcile: before planning, which way decisions reach a Consumer's
// pods (and, for the plan, which instances must roll out instead); after the plan's writes, the
// pods/resize patches, the API server's refusals, and what is reported (condition, events,
// metrics). The choices themselves are pure (src/actuate); this is the I/O around them.
import type { V1Deployment, V1Pod, V1ResourceRequirements } from '@kubernetes/client-node';
import { Actuation, Env } from '../api/constants.js';
import type { Condition, Consumer } from '../api/schema.js';
import { actuationOf, policyFor, resolveSpec } from '../api/resolve.js';
import { inPlaceGoMaxProcs } from '../plan/env.js';
import { largestCpuLimit } from '../plan/limits.js';
import { autoscaleConfig } from '../autoscale/config.js';
import {
  decideInstance,
  type FallbackReason,
  type InPlaceMode,
  type InstanceActuation,
} from '../actuate/choice.js';
import type { ActuationMemory } from '../actuate/memory.js';
import { pendingBoundMs, urgent, URGENT_LAG_SHARE } from '../actuate/pending-bound.js';
import type { PodResizeApi } from '../actuate/resize-api.js';
import { driftPaths } from '../plan/compare.js';
import type { Plan } from '../plan/consumer-plan.js';
import { isControlledBy } from '../plan/consumer-plan.js';
import {
  cpuMemoryAmounts,
  instanceResources,
  sameCpuMemory,
  templateResources,
} from '../plan/instance-resources.js';
import type { InPlaceRendering } from '../plan/render.js';
import { instanceIdFromName, instanceName } from '../plan/render.js';
import { withConcurrency } from '../util/concurrency.js';
import { formatCpu, formatMemory } from '../util/units.js';
import type { Logger } from '../util/log.js';
import { describeApiError } from './kube.js';
import type { EventSink } from './events.js';
import type { OperatorMetrics } from './metrics.js';
import { PodCaches, deploymentNameOf, selectorString } from './pod-caches.js';

type ConditionInput = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

export const IN_PLACE_CONDITION = 'InPlaceResize';

/** Default bound for a resize the node defers (or fails to apply) before it counts as failed. */
export const DEFAULT_PENDING_BOUND_MS = 5 * 60_000;

/** After a refused resize, the next reconcile (which rolls the instance out) comes this soon. */
const REFUSAL_RECHECK_MS = 200;

/** How long the first reconcile of a Consumer waits for its pods to be listed. */
const FIRST_LIST_WAIT_MS = 5000;

/** Whether the API server has pods/resize: asked once; a "no" is asked again after this long. */
const UNSUPPORTED_RECHECK_MS = 10 * 60_000;

/** Discovery of the resize subresource, remembered. */
export class ResizeSupport {
  private known: { supported: boolean; at: number } | undefined;
  constructor(private readonly ask: () => Promise<boolean>) {}

  /** True or false from the API server; throws when discovery fails (nothing is decided on a guess). */
  async supported(nowMs: number): Promise<boolean> {
    if (this.known && (this.known.supported || nowMs - this.known.at < UNSUPPORTED_RECHECK_MS))
      return this.known.supported;
    const supported = await this.ask();
    this.known = { supported, at: nowMs };
    return supported;
  }
}

export interface InPlaceDeps {
  pods: PodCaches;
  api: PodResizeApi;
  support: ResizeSupport;
  memory: ActuationMemory;
  metrics: OperatorMetrics;
  events: EventSink;
  log: Logger;
  pendingBoundMs: number;
  writeConcurrency: number;
}

/** What the reconcile knows about in-place actuation before it plans. */
export interface Prepared {
  /** The Consumer resizes in place (InPlace or InPlaceOrRollout, supported); else decisions roll out. */
  mode: InPlaceMode | undefined;
  /** For the plan; undefined under rollout actuation. */
  rendering?: InPlaceRendering;
  container?: string;
  /** The `namespace|selector` of the pod informer it uses. */
  podCacheKey?: string;
  /** Pods by instance id (undefined while the informer lists). */
  pods?: Map<number, V1Pod[]>;
  /** Instances the plan rolls out instead, and why. */
  fallbacks: Map<number, { reason: FallbackReason; message: string }>;
  condition?: ConditionInput;
}

export interface Actuated {
  conditions: ConditionInput[];
  failures: string[];
  requeueAfterMs?: number;
}

function describeResources(r: V1ResourceRequirements | undefined): string {
  const a = cpuMemoryAmounts(r);
  const cpu = (v: number | undefined) => (v === undefined ? '-' : formatCpu(v));
  const memory = (v: number | undefined) => (v === undefined ? '-' : formatMemory(v));
  return `cpu ${cpu(a.cpuRequest)}/${cpu(a.cpuLimit)}, memory ${memory(a.memoryRequest)}/${memory(a.memoryLimit)}`;
}

/**
 * A template rollout is under way: pods of an older template still run. (Not the generation: an
 * annotation change bumps a Deployment's generation too, and every in-place decision is one.)
 */
function templateRolling(deployment: V1Deployment): boolean {
  const status = deployment.status ?? {};
  return (status.replicas ?? 0) > (status.updatedReplicas ?? 0);
}

/**
 * The pod was made from the Deployment's current template, as far as its containers show (image
 * and the env the operator renders): a pod of an older template is being replaced, not resized.
 */
function fromTemplate(pod: V1Pod, deployment: V1Deployment): boolean {
  const template = deployment.spec?.template?.spec?.containers ?? [];
  return (pod.spec?.containers ?? []).every((c) => {
    const t = template.find((x) => x.name === c.name);
    if (!t) return false;
    if (c.image !== undefined && c.image !== t.image) return false;
    return (c.env ?? []).every((e) => t.env?.find((x) => x.name === e.name)?.value === e.value);
  });
}

/** The GOMAXPROCS a new pod of the Consumer's scaled container gets under in-place actuation. */
function newPodGoMaxProcsOf(consumer: Consumer, container: string): string | undefined {
  const templateContainer = consumer.spec.deploymentTemplate.template.spec?.containers.find(
    (c) => c.name === container,
  );
  const policy = policyFor(consumer.spec.resourcePolicy?.containerPolicies ?? [], container);
  return (
    inPlaceGoMaxProcs(largestCpuLimit(policy, templateContainer?.resources)) ??
    templateContainer?.env?.find((e) => e.name === Env.goMaxProcs && e.valueFrom === undefined)?.value
  );
}

const list = (items: readonly string[]) =>
  items.length > 5 ? `${items.slice(0, 5).join(', ')} and ${items.length - 5} more` : items.join(', ');

export class InPlaceActuation {
  constructor(private readonly deps: InPlaceDeps) {}

  /** Forgets Consumers other than these, and stops the pod informers none of them uses. */
  async forget(consumers: readonly Consumer[]): Promise<void> {
    this.deps.memory.retain(new Set(consumers.map((c) => c.metadata.uid)));
    const needed = new Set<string>();
    for (const consumer of consumers) {
      try {
        if (actuationOf(consumer.spec) === Actuation.rollout || !autoscaleConfig(consumer.spec)?.container)
          continue;
        const selector = selectorString(consumer.spec.deploymentTemplate?.selector);
        if (selector) needed.add(PodCaches.keyOf(consumer.metadata.namespace, selector));
      } catch {
        // A spec that cannot be read (guest mode) needs no pods.
      }
    }
    await this.deps.pods.retain(needed);
  }

  /** Notes each instance's lag from a fresh metrics read: a lagging instance waits less for its node. */
  noteLags(consumer: Consumer, lagMsByInstance: ReadonlyMap<number, number | undefined>): void {
    this.deps.memory.noteLags(consumer.metadata.uid, lagMsByInstance);
  }

  /** How long instance `id`'s resize may stay deferred before it rolls out instead, and why. */
  private boundFor(consumer: Consumer, id: number, tolerableLagMs: number) {
    const input = {
      boundMs: this.deps.pendingBoundMs,
      lagMs: this.deps.memory.lag(consumer.metadata.uid, id),
      tolerableLagMs,
    };
    return {
      pendingBoundMs: pendingBoundMs(input),
      ...(urgent(input)
        ? {
            pendingBoundWhy: `the instance lags ${Math.round(input.lagMs! / 1000)}s, ${Math.round(URGENT_LAG_SHARE * 100)} % of tolerableLag or more`,
          }
        : {}),
    };
  }

  /** Which way decisions reach the pods of `consumer`, and what the plan needs for it. */
  async prepare(consumer: Consumer, deployments: readonly V1Deployment[], now: Date): Promise<Prepared> {
    const fallbacks: Prepared['fallbacks'] = new Map();
    const config = autoscaleConfig(consumer.spec);
    const actuation = actuationOf(consumer.spec);
    if (!config?.container || actuation === Actuation.rollout) return { mode: undefined, fallbacks };
    const mode: InPlaceMode = actuation;
    if (!(await this.deps.support.supported(now.getTime()))) {
      return {
        mode: undefined,
        fallbacks,
        condition: {
          type: IN_PLACE_CONDITION,
          status: 'False',
          reason: 'Unsupported',
          message:
            'the API server has no pods/resize subresource (Kubernetes before 1.33): resource changes roll out',
        },
      };
    }
    const container = config.container;
    const selector = selectorString(consumer.spec.deploymentTemplate.selector);
    if (selector === undefined) {
      return {
        mode: undefined,
        fallbacks,
        condition: {
          type: IN_PLACE_CONDITION,
          status: 'False',
          reason: 'NoPodSelector',
          message: "the template's selector cannot be used to watch the pods: resource changes roll out",
        },
      };
    }
    const namespace = consumer.metadata.namespace;
    const stored = consumer.status?.conditions?.find((c) => c.type === IN_PLACE_CONDITION);
    const previous = stored
      ? { type: stored.type, status: stored.status, reason: stored.reason, message: stored.message }
      : undefined;
    const podCacheKey = PodCaches.keyOf(namespace, selector);
    let found = this.deps.pods.pods(namespace, selector, now.getTime());
    if (found === 'listing') {
      // The first reconcile of a Consumer (or after a restart) waits for its pods to be listed.
      await this.deps.pods.listed(namespace, selector, FIRST_LIST_WAIT_MS);
      found = this.deps.pods.pods(namespace, selector, now.getTime());
    }
    const pods = typeof found === 'string' ? undefined : this.podsByInstance(consumer, deployments, found);
    const prepared: Prepared = { mode, container, podCacheKey, fallbacks };
    if (pods) prepared.pods = pods;
    else if (found === 'listing' && previous) prepared.condition = previous;
    else
      prepared.condition = {
        type: IN_PLACE_CONDITION,
        status: 'False',
        reason: found === 'unreadable' ? 'PodsUnreadable' : 'ListingPods',
        message:
          found === 'unreadable'
            ? 'the pods cannot be listed (the operator needs get, list and watch on pods): resource decisions wait'
            : 'listing the pods of the instances',
      };
    const live = new Map(deployments.map((d) => [d.metadata?.name ?? '', d]));
    const goMemLimitRatio = resolveSpec(consumer.spec).goMemLimitRatio;
    const newPodGoMaxProcs = newPodGoMaxProcsOf(consumer, container);
    prepared.rendering = {
      container,
      mustRoll: (id, desired) => {
        if (mode !== 'InPlaceOrRollout' || !pods) return false;
        const current = live.get(instanceName(consumer.spec.name, id));
        // The template already carries it: new pods start with it, nothing to roll.
        if (sameCpuMemory(templateResources(current, container), desired)) return false;
        const act = decideInstance({
          mode,
          pods: (pods.get(id) ?? []).filter((p) => !current || fromTemplate(p, current)),
          container,
          decision: desired,
          goMemLimitRatio,
          now,
          ...this.boundFor(consumer, id, config.settings.tolerableLagMs),
          ...this.refusalOf(consumer, id, container, desired),
          ...(newPodGoMaxProcs !== undefined ? { newPodGoMaxProcs } : {}),
        });
        if (act.rollout) fallbacks.set(id, act.rollout);
        return act.rollout !== undefined;
      },
    };
    return prepared;
  }

  private refusalOf(consumer: Consumer, id: number, container: string, decision: V1ResourceRequirements) {
    const refusal = this.deps.memory.refusal(consumer.metadata.uid, id, container, decision);
    return refusal ? { refusal } : {};
  }

  /** The Consumer's running pods by instance id (pods of Deployments it does not control are left out). */
  private podsByInstance(
    consumer: Consumer,
    deployments: readonly V1Deployment[],
    pods: readonly V1Pod[],
  ): Map<number, V1Pod[]> {
    const prefix = consumer.spec.name;
    const owned = new Set(
      deployments.filter((d) => isControlledBy(d, consumer)).map((d) => d.metadata?.name ?? ''),
    );
    const result = new Map<number, V1Pod[]>();
    for (const pod of pods) {
      const name = deploymentNameOf(pod);
      if (!name || !owned.has(name)) continue;
      const id = instanceIdFromName(name, prefix);
      if (id === undefined) continue;
      let list = result.get(id);
      if (!list) result.set(id, (list = []));
      list.push(pod);
    }
    return result;
  }

  /**
   * After the plan's writes: resizes the pods of the instances that keep their template, records
   * the API server's refusals, times decisions until the pods report them, and reports.
   */
  async actuate(
    consumer: Consumer,
    prepared: Prepared,
    plan: Plan,
    before: ReadonlyMap<number, V1Deployment>,
    failedWrites: ReadonlySet<string>,
    now: Date,
  ): Promise<Actuated> {
    const { mode, container, pods } = prepared;
    const name = consumer.metadata.name;
    const uid = consumer.metadata.uid;
    const label = { consumer: name };
    const { memory, metrics, events } = this.deps;
    const conditions: ConditionInput[] = [];
    const failures: string[] = [];
    const delays: number[] = [];
    const fellBack: string[] = [];
    for (const [id, fallback] of prepared.fallbacks) {
      const deployment = instanceName(consumer.spec.name, id);
      fellBack.push(`${deployment} (${fallback.reason})`);
      metrics.fellBack(name, fallback.reason);
      events.emit(
        consumer,
        'Warning',
        'ResizeFallback',
        `${deployment}: rolling out instead of resizing in place: ${fallback.reason} (${fallback.message})`,
        {
          type: 'instance.rollout.fallback',
          subject: deployment,
          data: { instance: id, deployment, reason: fallback.reason, message: fallback.message },
        },
      );
    }
    const previous = consumer.status?.conditions?.find((c) => c.type === IN_PLACE_CONDITION);
    if (
      prepared.condition &&
      previous?.reason !== prepared.condition.reason &&
      prepared.condition.reason !== 'ListingPods'
    )
      events.emit(
        consumer,
        'Warning',
        `InPlaceResize${prepared.condition.reason}`,
        prepared.condition.message,
      );
    if (!mode || !container || !prepared.rendering) {
      if (prepared.condition) conditions.push(prepared.condition);
      return { conditions, failures };
    }
    if (!pods) {
      conditions.push(prepared.condition!);
      return { conditions, failures, requeueAfterMs: 1000 };
    }
    const goMemLimitRatio = resolveSpec(consumer.spec).goMemLimitRatio;
    const newPodGoMaxProcs = newPodGoMaxProcsOf(consumer, container);
    const tolerableLagMs = autoscaleConfig(consumer.spec)?.settings.tolerableLagMs ?? 0;
    const held: string[] = [];
    const resized: string[] = [];
    const todo: {
      id: number;
      deployment: string;
      decision: V1ResourceRequirements;
      act: InstanceActuation;
    }[] = [];
    for (const [id, desired] of plan.desired) {
      const current = before.get(id);
      const deploymentName = desired.metadata!.name!;
      if (!current || failedWrites.has(deploymentName)) continue;
      const decision = instanceResources(desired, container);
      if (!decision) continue;
      const changed = !sameCpuMemory(decision, instanceResources(current, container));
      const rolls =
        driftPaths(desired.spec?.template, current.spec?.template).length > 0 || templateRolling(current);
      if (changed || prepared.fallbacks.has(id)) {
        const path = rolls || prepared.fallbacks.has(id) ? 'rollout' : 'in-place';
        memory.decided(uid, id, container, decision, now.getTime(), path);
      }
      // When the template carries the decision, new pods start with it: a refusal is past, and a
      // pod that cannot take it is one a rollout replaces (nothing more to roll).
      const templateCarries = sameCpuMemory(templateResources(desired, container), decision);
      if (templateCarries) memory.forgetRefusal(uid, id);
      const act = decideInstance({
        mode,
        pods: (pods.get(id) ?? []).filter((p) => fromTemplate(p, current)),
        container,
        decision,
        goMemLimitRatio,
        now,
        ...this.boundFor(consumer, id, tolerableLagMs),
        ...(templateCarries ? {} : this.refusalOf(consumer, id, container, decision)),
        ...(newPodGoMaxProcs !== undefined ? { newPodGoMaxProcs } : {}),
      });
      if (act.rollout || act.held || act.resizes.length > 0)
        this.deps.log.debug(
          {
            consumer: name,
            deployment: deploymentName,
            resizes: act.resizes.length,
            rollout: act.rollout?.reason,
            held: act.held?.reason,
          },
          'in-place actuation',
        );
      if (act.settled && (pods.get(id)?.length ?? 0) > 0) {
        const reached = memory.reached(uid, id, container, decision, now.getTime());
        if (reached) metrics.resized(name, reached.path, reached.seconds);
      }
      if (rolls) {
        if (templateRolling(current)) delays.push(15_000);
        continue;
      }
      if (act.recheckInMs !== undefined) delays.push(Math.max(1000, act.recheckInMs));
      if (act.rollout && !templateCarries) delays.push(REFUSAL_RECHECK_MS); // the next plan rolls it out
      if (act.held) held.push(`${deploymentName} (${act.held.reason})`);
      // Said once per decision and reason (the event sink drops repeats), not once per reconcile.
      if (act.held)
        events.emit(
          consumer,
          'Warning',
          'ResizeNotApplied',
          `${deploymentName}: ${describeResources(decision)} not applied in place (${act.held.reason}); InPlace does not roll out`,
        );
      if (act.resizes.length > 0) todo.push({ id, deployment: deploymentName, decision, act });
    }

    const work = todo.flatMap((t) => t.act.resizes.map((r) => ({ ...t, resize: r })));
    const adjustments = new Map<string, Set<string>>();
    await withConcurrency(
      work,
      this.deps.writeConcurrency,
      async ({ id, deployment, decision, act, resize }) => {
        const podName = resize.pod.metadata?.name ?? '';
        try {
          const outcome = await this.deps.api.resize(resize.pod, container, resize.resources);
          if (outcome.done) {
            metrics.podResizes.inc(label);
            if (!resized.includes(deployment)) resized.push(deployment);
            const notes = adjustments.get(deployment) ?? new Set<string>();
            for (const a of resize.adjustments) notes.add(a);
            adjustments.set(deployment, notes);
            if (act.goMaxProcs !== undefined)
              events.emit(
                consumer,
                'Warning',
                'GoMaxProcsBelowLimit',
                `${deployment}: pod ${podName} runs with GOMAXPROCS ${act.goMaxProcs}, below its new CPU limit; a Go program uses the new cores after a restart`,
              );
          } else if ('refusal' in outcome) {
            memory.refused(uid, id, container, decision, outcome.refusal);
            delays.push(REFUSAL_RECHECK_MS);
            this.deps.log.info(
              { consumer: name, pod: podName, reason: outcome.refusal.reason },
              'resize refused by the API server',
            );
          }
        } catch (error) {
          const { code, message } = describeApiError(error);
          metrics.podResizeErrors.inc(label);
          failures.push(
            `resize of pod ${podName} (${deployment}) failed${code ? ` (${code})` : ''}: ${message}`,
          );
        }
      },
    );
    if (resized.length > 0) {
      const summary = resized
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
        .map((d) => {
          const decision = todo.find((t) => t.deployment === d)!.decision;
          const notes = [...(adjustments.get(d) ?? [])];
          return `${d} to ${describeResources(decision)}${notes.length ? ` (${notes.join('; ')})` : ''}`;
        });
      events.emit(consumer, 'Normal', 'ResizedInPlace', `resized in place: ${list(summary)}`);
    }
    if (failures.length > 0)
      events.emit(consumer, 'Warning', 'ResizeFailed', failures.slice(0, 3).join('; ').slice(0, 1000));

    conditions.push(
      held.length > 0
        ? {
            type: IN_PLACE_CONDITION,
            status: 'False',
            reason: 'NotApplied',
            message: `resources not applied in place (InPlace never rolls out): ${list(held)}`,
          }
        : fellBack.length > 0
          ? {
              type: IN_PLACE_CONDITION,
              status: 'True',
              reason: 'RolledOutInstead',
              message: `resources reach the pods in place; rolled out instead: ${list(fellBack)}`,
            }
          : {
              type: IN_PLACE_CONDITION,
              status: 'True',
              reason: 'InPlace',
              message: `resource decisions reach the running pods in place (${mode})`,
            },
    );
    return {
      conditions,
      failures,
      ...(delays.length > 0 ? { requeueAfterMs: Math.min(...delays) } : {}),
    };
  }
}
