// Recreating an instance whose Deployment differs from the rendered one in a field the API server
// refuses to change, without a moment in which its partitions have no running consumer:
//
//   1. the old Deployment's ReplicaSets are marked: an owner reference to the Consumer (not as
//      controller), the `replaced` label and annotation, and the `replaced` finalizer;
//   2. they are deleted: the finalizer keeps them, and their pods, running, and a ReplicaSet being
//      deleted is never adopted by another Deployment (the instances of a Consumer usually share
//      one selector, so any of them would adopt an orphaned ReplicaSet and scale it to zero);
//   3. the old Deployment is deleted with propagationPolicy Orphan (conditional on the
//      resourceVersion its ReplicaSets were listed at, so one made after the listing cannot be
//      orphaned unmarked);
//   4. the new Deployment is created as any missing instance is;
//   5. once it has rolled out, the finalizer is taken off the old ReplicaSets: they go, with
//      their pods.
//
// Every step is decided again from what the API server holds, so an operator stopped between any
// two of them finishes the change when it starts again. The finalizer of a Consumer deleted
// meanwhile is taken off too (see strayReplaced).
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { Annotation, REPLACED_FINALIZER } from '../api/constants.js';
import { driftPaths } from './compare.js';

/**
 * The Deployment fields the operator renders that apps/v1 validation refuses to update. Of a
 * Deployment's spec only the selector is immutable; its name and namespace are the instance's
 * identity and never differ for the same instance.
 */
export const IMMUTABLE_DEPLOYMENT_FIELDS = ['spec.selector'] as const;

/** The immutable fields in which the live Deployment differs from the rendered one. */
export function immutableChanges(desired: V1Deployment, live: V1Deployment): string[] {
  const changed: string[] = [];
  const wanted = desired.spec?.selector;
  const held = live.spec?.selector;
  // Both ways: a label dropped from the selector is a change too.
  if (driftPaths(wanted, held).length > 0 || driftPaths(held, wanted).length > 0)
    changed.push('spec.selector');
  return changed;
}

/** The old Deployment can be replaced now: its controller has seen its latest spec (and made its ReplicaSets). */
export const readyToReplace = (live: V1Deployment) =>
  live.metadata?.deletionTimestamp === undefined &&
  (live.status?.observedGeneration ?? -1) >= (live.metadata?.generation ?? 0);

/** A ReplicaSet the operator marked, still held by its finalizer: the instance it ran. */
export function replacedInstanceOf(replicaSet: V1ReplicaSet, consumerUid: string): string | undefined {
  const refs = replicaSet.metadata?.ownerReferences ?? [];
  if (!refs.some((r) => r.uid === consumerUid)) return undefined;
  if (!(replicaSet.metadata?.finalizers ?? []).includes(REPLACED_FINALIZER)) return undefined;
  return replicaSet.metadata?.annotations?.[Annotation.replacedInstance];
}

/** Still controlled by a Deployment (the old one, before its orphaning delete has finished). */
export const hasController = (replicaSet: V1ReplicaSet) =>
  (replicaSet.metadata?.ownerReferences ?? []).some((r) => r.controller);

export interface ReplacedReplicaSet {
  name: string;
  uid: string;
  /** The version its finalizer is taken off at. */
  resourceVersion: string;
  instance: string;
}

export interface ReplacedDecision {
  /** Old ReplicaSets whose replacement is available: their finalizer comes off now. */
  toDelete: ReplacedReplicaSet[];
  /** Instances whose old ReplicaSets wait for the new Deployment. */
  waiting: string[];
}

const replaced = (replicaSet: V1ReplicaSet, instance: string): ReplacedReplicaSet => ({
  name: replicaSet.metadata!.name!,
  uid: replicaSet.metadata!.uid!,
  resourceVersion: replicaSet.metadata!.resourceVersion!,
  instance,
});

/**
 * Which of the Consumer's held ReplicaSets go now. One goes once no Deployment controls it any
 * more and the instance it ran has a Deployment that has rolled out (`replacementReady`); one of
 * an instance the Consumer no longer has goes once every instance has rolled out (`allReady`),
 * as a redundant Deployment does.
 */
export function replacedReplicaSets(
  consumerUid: string,
  replicaSets: readonly V1ReplicaSet[],
  isInstance: (name: string) => boolean,
  replacementReady: (name: string) => boolean,
  allReady: boolean,
): ReplacedDecision {
  const toDelete: ReplacedReplicaSet[] = [];
  const waiting = new Set<string>();
  for (const replicaSet of replicaSets) {
    const instance = replacedInstanceOf(replicaSet, consumerUid);
    if (instance === undefined) continue;
    const ready =
      !hasController(replicaSet) && (isInstance(instance) ? replacementReady(instance) : allReady);
    if (ready) toDelete.push(replaced(replicaSet, instance));
    else waiting.add(instance);
  }
  return { toDelete, waiting: [...waiting] };
}

/**
 * Held ReplicaSets whose Consumer is gone (`liveUid` undefined) or was made anew under the same
 * name: nothing will replace them, so their finalizer comes off (and the garbage collector, which
 * follows the owner reference, deletes them).
 */
export function strayReplaced(
  replicaSets: readonly V1ReplicaSet[],
  owner: { apiVersion: string; kind: string; name: string },
  liveUid: string | undefined,
): ReplacedReplicaSet[] {
  return replicaSets.flatMap((replicaSet) => {
    const ref = (replicaSet.metadata?.ownerReferences ?? []).find(
      (r) => r.apiVersion === owner.apiVersion && r.kind === owner.kind && r.name === owner.name,
    );
    if (!ref || ref.uid === liveUid) return [];
    const instance = replacedInstanceOf(replicaSet, ref.uid);
    return instance === undefined ? [] : [replaced(replicaSet, instance)];
  });
}
