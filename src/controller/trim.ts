// What the informers keep of each object. The cache holds every Deployment in the cluster, so
// memory is dominated by what is stored per object: managedFields (the server-side-apply field
// sets, often as large as the spec) are never read by the operator, and of a Deployment that no
// Consumer controls only the metadata is needed (its name may clash with an instance's).
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';

/** Drops metadata.managedFields in place; returns the object. */
export function withoutManagedFields<T extends KubernetesObject>(object: T): T {
  if (object.metadata?.managedFields !== undefined) delete object.metadata.managedFields;
  return object;
}

/** Kinds whose controlled Deployments the operator manages (ConfigMap: guest mode). */
const MANAGING_KINDS = new Set(['Consumer', 'ConfigMap']);

const isManaged = (deployment: V1Deployment) =>
  (deployment.metadata?.ownerReferences ?? []).some((r) => r.controller && MANAGING_KINDS.has(r.kind));

/** The rollout counters the plan reads (conditions and their messages are not needed). */
const STATUS_FIELDS = [
  'observedGeneration',
  'replicas',
  'updatedReplicas',
  'readyReplicas',
  'availableReplicas',
  'unavailableReplicas',
] as const;

/**
 * A Deployment as the cache keeps it: without managedFields and with only the rollout counters of
 * its status; of a Deployment no Consumer controls, only the metadata.
 */
export function trimDeployment(deployment: V1Deployment): V1Deployment {
  withoutManagedFields(deployment);
  if (!isManaged(deployment)) {
    return { apiVersion: deployment.apiVersion, kind: deployment.kind, metadata: deployment.metadata };
  }
  const status = deployment.status;
  if (status) {
    const kept: Record<string, unknown> = {};
    for (const field of STATUS_FIELDS) if (status[field] !== undefined) kept[field] = status[field];
    deployment.status = kept;
  }
  return deployment;
}
