// The whole decision of one reconcile, as a pure function of the Consumer, the Deployments in its
// namespace and the time: which Deployments to create, update and delete, in which order, and
// the counters for status.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { Annotation } from '../api/constants.js';
import type { Consumer } from '../api/schema.js';
import { resolveSpec } from '../api/resolve.js';
import { splitIntoBuckets } from './partitions.js';
import {
  instanceIdFromName,
  instanceName,
  renderInstance,
  type Instance,
  type InPlaceRendering,
  type InstanceOverride,
  type RenderContext,
} from './render.js';
import { runningFallback } from './resources.js';
import { driftPaths } from './compare.js';
import { stableHash } from '../util/hash.js';
import {
  immutableChanges,
  readyToReplace,
  replacedReplicaSets,
  type ReplacedReplicaSet,
} from './recreate.js';

export type UpdateReason = 'outdated' | 'adopt' | 'drift';

export type Action =
  | { type: 'create'; instanceId: number; deployment: V1Deployment }
  | {
      type: 'update';
      instanceId: number;
      deployment: V1Deployment;
      reason: UpdateReason;
      drift: string[];
      /** The pod template changes (the Deployment rolls); false for metadata only (e.g. the autoscaler's state). */
      templateChanges: boolean;
      /** The spec changes; false: only metadata (annotations, labels). */
      specChanges: boolean;
    }
  | { type: 'delete'; name: string; uid: string; reason: string };

export interface Counts {
  expected: number;
  running: number;
  paused: number;
  lagging: number;
  missing: number;
  outdated: number;
  redundant: number;
}

/** An instance Deployment to delete with its ReplicaSets orphaned (see recreate.ts). */
export interface Recreate {
  instanceId: number;
  name: string;
  uid: string;
  /** The delete holds only while the Deployment is still at this version. */
  resourceVersion: string;
  /** The immutable fields that changed. */
  fields: string[];
}

export interface Plan {
  /** Ordered: creates, then updates, then deletes (deletes only once replacements are rolled out). */
  actions: Action[];
  counts: Counts;
  /** Names of Deployments the Consumer needs but another owner (or nobody) holds. */
  clashes: string[];
  /** Redundant Deployments kept until every desired instance has rolled out. */
  deletionsWaiting: string[];
  /** Desired instances whose Deployment has not finished rolling out. */
  notRolledOut: string[];
  /** Each instance's Deployment as it is meant to be after this reconcile's writes (by instance id). */
  desired: Map<number, V1Deployment>;
  /** Instance Deployments to replace now (an immutable field changed); see recreate.ts. */
  recreates: Recreate[];
  /** ReplicaSets of replaced Deployments whose replacements are available: deleted now. */
  replacedToDelete: ReplacedReplicaSet[];
  /** Instances being recreated (old Deployment or old ReplicaSets still there). */
  recreating: string[];
}

export const isControlledBy = (deployment: V1Deployment, consumer: Consumer) =>
  (deployment.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === consumer.metadata.uid);

/**
 * A write of the operator's that changed only a Deployment's metadata. The API server bumps a
 * Deployment's generation for an annotation change too, so until the controller-manager observes
 * it the Deployment looks as if a rollout had started, though no pod changes.
 */
export interface MetadataOnlyWrite {
  /** The generation the write produced. */
  generation: number;
  /** The generation before it (or before a chain of such writes), which was rolled out. */
  rolledOut: number;
}

/**
 * The rollout of the Deployment's current spec has completed. `metadataOnly`: the operator's last
 * writes to it changed only metadata since a generation that was rolled out (keyed by uid).
 */
export function isRolledOut(
  deployment: V1Deployment,
  metadataOnly?: ReadonlyMap<string, MetadataOnlyWrite>,
): boolean {
  const replicas = deployment.spec?.replicas ?? 1;
  const status = deployment.status;
  const generation = deployment.metadata?.generation ?? 0;
  const write = metadataOnly?.get(deployment.metadata?.uid ?? '');
  const settledAt = write?.generation === generation ? write.rolledOut : generation;
  return (
    (status?.observedGeneration ?? -1) >= settledAt &&
    (status?.updatedReplicas ?? 0) >= replicas &&
    (status?.availableReplicas ?? 0) >= replicas
  );
}

function instanceIdOf(deployment: V1Deployment): number | undefined {
  const text = deployment.metadata?.annotations?.[Annotation.consumerId];
  return text !== undefined && /^[0-9]{1,9}$/.test(text) ? Number(text) : undefined;
}

interface Sorted {
  byId: Map<number, V1Deployment>;
  redundant: { deployment: V1Deployment; reason: string }[];
}

/** The instance id a Deployment's name stands for (`<prefix>-<id>` with id < expected), if any. */
function idFromName(name: string, prefix: string, expected: number): number | undefined {
  const id = instanceIdFromName(name, prefix);
  return id !== undefined && id < expected ? id : undefined;
}

function sortOwned(owned: readonly V1Deployment[], prefix: string, expected: number): Sorted {
  const byId = new Map<number, V1Deployment>();
  const redundant: Sorted['redundant'] = [];
  for (const deployment of [...owned].sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1))) {
    // An owned Deployment that holds an instance's name is that instance, whatever its consumer-id
    // annotation says (a hand edit): counting it redundant would make the instance's name look
    // taken by someone else, and the Consumer would wait for itself forever. The update that
    // follows rewrites the annotation.
    const byName = idFromName(deployment.metadata!.name!, prefix, expected);
    if (byName !== undefined) {
      byId.set(byName, deployment);
      continue;
    }
    const id = instanceIdOf(deployment);
    if (id === undefined) redundant.push({ deployment, reason: 'it has no valid consumer-id annotation' });
    else if (id >= expected) redundant.push({ deployment, reason: `instance ${id} is no longer needed` });
    else if (deployment.metadata!.name !== instanceName(prefix, id))
      redundant.push({ deployment, reason: `instance ${id} is now named ${instanceName(prefix, id)}` });
    else byId.set(id, deployment);
  }
  return { byId, redundant };
}

export interface PlanInput {
  consumer: Consumer;
  /** Deployments in the Consumer's namespace (any owner). */
  deployments: readonly V1Deployment[];
  now: Date;
  /** Autoscaler decisions by instance id (absent: instances keep their resources). */
  overrides?: ReadonlyMap<number, InstanceOverride>;
  /** In-place actuation (absent: resource changes roll out, as the original). */
  inPlace?: InPlaceRendering;
  /** ReplicaSets carrying the `replaced` label in the namespace (see recreate.ts). */
  replicaSets?: readonly V1ReplicaSet[];
  /** Instance Deployments whose replica count an HPA keeps (see autoscalers.ts). */
  replicasKeptElsewhere?: ReadonlySet<string>;
  /** The operator's metadata-only writes not yet observed, by Deployment uid (see isRolledOut). */
  metadataOnly?: ReadonlyMap<string, MetadataOnlyWrite>;
}

export interface ObservedInstances {
  buckets: number[][];
  /** The Deployment of each instance id that has one. */
  byId: Map<number, V1Deployment>;
  redundant: { deployment: V1Deployment; reason: string }[];
}

/** The Consumer's instances and which of its Deployments hold them. */
export function observeInstances(
  consumer: Consumer,
  deployments: readonly V1Deployment[],
): ObservedInstances {
  const resolved = resolveSpec(consumer.spec);
  const buckets = splitIntoBuckets(resolved.numPartitions, resolved.partitionsPerInstance);
  const owned = deployments.filter((d) => isControlledBy(d, consumer));
  return { buckets, ...sortOwned(owned, resolved.deploymentPrefix, buckets.length) };
}

export function planConsumer({
  consumer,
  deployments,
  now,
  overrides,
  inPlace,
  replicaSets = [],
  replicasKeptElsewhere,
  metadataOnly,
}: PlanInput): Plan {
  const rolledOut = (d: V1Deployment) => isRolledOut(d, metadataOnly);
  const resolved = resolveSpec(consumer.spec);
  const { buckets, byId, redundant } = observeInstances(consumer, deployments);
  const running = [...byId.values()];
  const ctx: RenderContext = {
    consumer,
    resolved,
    numInstances: buckets.length,
    templateHash: stableHash(consumer.spec.deploymentTemplate),
    ...(overrides ? { overrides } : {}),
    ...(inPlace ? { inPlace } : {}),
    ...(replicasKeptElsewhere ? { replicasKeptElsewhere } : {}),
    fallbackFromRunning: (container) =>
      runningFallback(container, buckets.length, running, resolved.fallbackStrategy),
    now,
  };

  const creates: Action[] = [];
  const updates: Action[] = [];
  const clashes: string[] = [];
  const notRolledOut: string[] = [];
  const desiredById = new Map<number, V1Deployment>();
  const recreates: Recreate[] = [];
  const recreating: string[] = [];
  buckets.forEach((partitions, id) => {
    const instance: Instance = { id, partitions, name: instanceName(resolved.deploymentPrefix, id) };
    const current = byId.get(id);
    if (!current) {
      const taken = deployments.some((d) => d.metadata?.name === instance.name);
      if (taken) clashes.push(instance.name);
      else {
        const deployment = renderInstance(ctx, instance, undefined);
        desiredById.set(id, deployment);
        creates.push({ type: 'create', instanceId: id, deployment });
      }
      notRolledOut.push(instance.name);
      return;
    }
    if (current.metadata?.deletionTimestamp !== undefined) {
      // Being deleted (recreated, or by someone else): its replacement is created once it is gone.
      recreating.push(instance.name);
      notRolledOut.push(instance.name);
      return;
    }
    const desired = renderInstance(ctx, instance, current);
    const immutable = immutableChanges(desired, current);
    if (immutable.length > 0) {
      recreating.push(instance.name);
      notRolledOut.push(instance.name);
      if (readyToReplace(current)) {
        recreates.push({
          instanceId: id,
          name: instance.name,
          uid: current.metadata!.uid!,
          resourceVersion: current.metadata!.resourceVersion!,
          fields: immutable,
        });
      }
      return;
    }
    desiredById.set(id, desired);
    const currentHash = current.metadata?.annotations?.[Annotation.renderHash];
    const desiredHash = desired.metadata!.annotations![Annotation.renderHash];
    // Items of a list response carry no apiVersion and kind: compare what the object holds.
    const drift = driftPaths({ metadata: desired.metadata, spec: desired.spec }, current);
    // Only a change of the spec starts a rollout: an update of annotations alone (the render hash,
    // the scaling state, the size of an in-place resize) leaves the instance rolled out.
    const specChanges = driftPaths(desired.spec, current.spec).length > 0;
    if (currentHash !== desiredHash || drift.length > 0) {
      const reason: UpdateReason =
        currentHash === undefined ? 'adopt' : currentHash !== desiredHash ? 'outdated' : 'drift';
      const templateChanges = driftPaths(desired.spec?.template, current.spec?.template).length > 0;
      updates.push({
        type: 'update',
        instanceId: id,
        deployment: desired,
        reason,
        drift,
        templateChanges,
        specChanges,
      });
    }
    if (specChanges || !rolledOut(current)) notRolledOut.push(instance.name);
  });

  const instanceNames = new Set(buckets.map((_, id) => instanceName(resolved.deploymentPrefix, id)));
  const replaced = replacedReplicaSets(
    consumer.metadata.uid,
    replicaSets.filter((r) => r.metadata?.namespace === consumer.metadata.namespace),
    (name) => instanceNames.has(name),
    (name) => {
      const id = instanceIdFromName(name, resolved.deploymentPrefix);
      const current = id === undefined ? undefined : byId.get(id);
      return current !== undefined && !notRolledOut.includes(name) && rolledOut(current);
    },
    notRolledOut.length === 0 && creates.length === 0 && updates.length === 0,
  );
  for (const name of replaced.waiting) if (!recreating.includes(name)) recreating.push(name);

  // Create before delete: a redundant Deployment keeps consuming its partitions until every
  // desired instance is in place and rolled out, so a repartition never leaves a partition idle.
  const canDelete =
    notRolledOut.length === 0 && creates.length === 0 && updates.length === 0 && clashes.length === 0;
  const deletes: Action[] = canDelete
    ? redundant.map(({ deployment, reason }) => ({
        type: 'delete' as const,
        name: deployment.metadata!.name!,
        uid: deployment.metadata!.uid!,
        reason,
      }))
    : [];
  const paused = running.filter(
    (d) => d.metadata?.annotations?.[Annotation.disableAutoscaler] !== undefined,
  ).length;
  return {
    actions: [...creates, ...updates, ...deletes],
    counts: {
      expected: buckets.length,
      running: running.length - paused,
      paused,
      lagging: 0,
      missing: creates.length + clashes.length,
      outdated: updates.length + recreates.length,
      redundant: redundant.length,
    },
    clashes,
    deletionsWaiting: canDelete ? [] : redundant.map((r) => r.deployment.metadata!.name!),
    notRolledOut,
    desired: desiredById,
    recreates,
    replacedToDelete: replaced.toDelete,
    recreating,
  };
}

const actionTarget = (a: Action) => (a.type === 'delete' ? a.name : a.deployment.metadata!.name!);

/**
 * The plan as it stands once its writes are done, all but the `failed` ones (Deployment names):
 * what the next reconcile will plan from. The status is built from it, so that the reconcile that
 * writes the Deployments also writes the status the next one keeps (a status that said "applying"
 * would be rewritten moments later).
 */
export function afterWrites(plan: Plan, failed: ReadonlySet<string>): Plan {
  const done = plan.actions.filter((a) => !failed.has(actionTarget(a)));
  const count = (type: Action['type']) => done.filter((a) => a.type === type).length;
  return {
    ...plan,
    actions: plan.actions.filter((a) => failed.has(actionTarget(a))),
    counts: {
      ...plan.counts,
      running: plan.counts.running + count('create'),
      missing: plan.counts.missing - count('create'),
      outdated: plan.counts.outdated - count('update'),
      redundant: plan.counts.redundant - count('delete'),
    },
  };
}
