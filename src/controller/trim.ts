// What the informers keep of each object. The cache holds every Deployment in the cluster, so
// memory is dominated by what is stored per object: managedFields (the server-side-apply field
// sets, often as large as the spec) are never read by the operator, and of a Deployment that no
// Consumer controls only the metadata is needed (its name may clash with an instance's).
import type {
  KubernetesObject,
  V1Container,
  V1Deployment,
  V1Pod,
  V1ReplicaSet,
} from '@kubernetes/client-node';

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

/**
 * Env vars of a container the in-place actuation reads (their values were fixed at start, and with
 * the image they tell a pod of the current template from an older one).
 */
const POD_ENV = new Set(['GOMAXPROCS', 'GOMEMLIMIT']);
/** Pod conditions it reads. */
const POD_CONDITIONS = new Set(['Ready', 'PodResizePending', 'PodResizeInProgress']);

/**
 * A pod as the in-place actuation keeps it: who owns it, its containers' resources (and, of the
 * env, only GOMAXPROCS and GOMEMLIMIT), its QoS class, the resize conditions and what the node
 * reports each container runs with. Everything else (volumes, probes, most of the env, images,
 * IPs) is dropped; a pod is a few hundred bytes in the cache.
 */
export function trimPod(pod: V1Pod): V1Pod {
  const m = pod.metadata ?? {};
  const owner = m.ownerReferences?.find((r) => r.controller);
  const hash = m.labels?.['pod-template-hash'];
  const container = (c: V1Container): V1Container => {
    const env = c.env?.filter((e) => POD_ENV.has(e.name) && e.value !== undefined);
    return {
      name: c.name,
      ...(c.image ? { image: c.image } : {}),
      ...(c.resources ? { resources: c.resources } : {}),
      ...(env?.length ? { env } : {}),
    };
  };
  const s = pod.status;
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      ...(hash !== undefined ? { labels: { 'pod-template-hash': hash } } : {}),
      ...(owner
        ? {
            ownerReferences: [
              {
                apiVersion: owner.apiVersion,
                kind: owner.kind,
                name: owner.name,
                uid: owner.uid,
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      containers: (pod.spec?.containers ?? []).map(container),
      ...(pod.spec?.initContainers?.length
        ? {
            initContainers: pod.spec.initContainers.map((c) => ({
              ...container(c),
              ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}),
            })),
          }
        : {}),
    },
    ...(s
      ? {
          status: {
            ...(s.phase ? { phase: s.phase } : {}),
            ...(s.qosClass ? { qosClass: s.qosClass } : {}),
            ...(s.observedGeneration !== undefined ? { observedGeneration: s.observedGeneration } : {}),
            ...(s.conditions
              ? {
                  conditions: s.conditions
                    .filter((c) => POD_CONDITIONS.has(c.type))
                    .map(({ type, status, reason, observedGeneration, lastTransitionTime }) => ({
                      type,
                      status,
                      ...(reason ? { reason } : {}),
                      ...(observedGeneration !== undefined ? { observedGeneration } : {}),
                      ...(lastTransitionTime ? { lastTransitionTime } : {}),
                    })),
                }
              : {}),
            ...(s.containerStatuses
              ? {
                  containerStatuses: s.containerStatuses.map((c) => ({
                    name: c.name,
                    restartCount: c.restartCount,
                    ready: c.ready,
                    image: '',
                    imageID: '',
                    ...(c.resources ? { resources: c.resources } : {}),
                  })),
                }
              : {}),
          },
        }
      : {}),
  };
}

/** A marked ReplicaSet as the cache keeps it (see src/plan/recreate.ts): its metadata only. */
export function trimReplicaSet(replicaSet: V1ReplicaSet): V1ReplicaSet {
  withoutManagedFields(replicaSet);
  return { apiVersion: replicaSet.apiVersion, kind: replicaSet.kind, metadata: replicaSet.metadata };
}
