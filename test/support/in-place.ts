// Helpers for the in-place actuation tests: Consumers sized by the static metrics source, and
// reading an instance's pods, ReplicaSets and what the node reports.
import type { V1Container, V1Deployment, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { Annotation } from '../../src/api/constants.js';
import { ClusterView } from './cluster.js';
import { baseSpec } from './consumers.js';
import { waitFor } from './env.js';
import { normalized, type Resources } from './pod-resize.js';

export const cluster = new ClusterView();

export const calm = { production: 10, consumption: 10, behind: 0 };
/**
 * Partition metrics that make the naive predictor ask for `cores` whole cores (ratePerCore 100,
 * recoveryTime 10m): production 50·cores msg/s with 10 minutes of backlog, lagging (the naive
 * rules grow an instance only while it lags).
 */
export const busy = (cores: number) => ({
  production: cores * 50,
  consumption: cores * 50,
  behind: cores * 50 * 600,
});

export const SIDECAR: V1Container = {
  name: 'side',
  image: 'example.invalid/sidecar:1',
  resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '32Mi' } },
};

export interface SpecOptions {
  partitions: Record<string, typeof calm>;
  numPartitions?: number;
  actuation?: ConsumerSpec['autoscaler']['actuation'];
  sidecar?: boolean;
  podSpec?: Partial<V1PodSpec>;
  maxCpu?: string;
  minCpu?: string;
}

/**
 * A Consumer of one instance per partition, sized by the naive predictor from static metrics
 * (`minSyncPeriod` 1s, no pending periods): CPU = production / 100 msg/s per core, memory 100M per
 * limit core.
 */
export function staticSpec(namespace: string, options: SpecOptions): ConsumerSpec {
  const spec = baseSpec({
    namespace,
    numPartitions: options.numPartitions ?? Object.keys(options.partitions).length,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'static',
      predictor: 'naive',
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      scaleDownAfterLagFreeSyncs: 1,
      ...(options.actuation ? { actuation: options.actuation } : {}),
      static: {
        partitions: options.partitions,
        minSyncPeriod: '1s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '1m',
        criticalLag: '1h',
        recoveryTime: '10m',
      },
    },
    resourcePolicy: {
      containerPolicies: [
        {
          containerName: 'consumer',
          minAllowed: { cpu: options.minCpu ?? '100m', memory: '64M' },
          maxAllowed: { cpu: options.maxCpu ?? '8', memory: '2G' },
        },
      ],
    },
  });
  const podSpec = spec.deploymentTemplate.template.spec!;
  if (options.sidecar) podSpec.containers.push(structuredClone(SIDECAR));
  Object.assign(podSpec, options.podSpec ?? {});
  return spec;
}

export interface InstancePods {
  deployment: V1Deployment;
  pods: V1Pod[];
}

/** Each instance Deployment of the namespace with its running (not terminating) pods. */
export async function instancePods(namespace: string): Promise<Map<string, InstancePods>> {
  const deployments = await cluster.deployments(namespace);
  const sets = (await cluster.apps.listNamespacedReplicaSet({ namespace })).items;
  const owner = new Map(
    sets.map((rs) => [rs.metadata!.name!, rs.metadata!.ownerReferences?.[0]?.name ?? '']),
  );
  const pods = (await cluster.core.listNamespacedPod({ namespace })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
  const result = new Map<string, InstancePods>();
  for (const deployment of deployments) result.set(deployment.metadata!.name!, { deployment, pods: [] });
  for (const pod of pods) {
    const name = owner.get(pod.metadata?.ownerReferences?.[0]?.name ?? '');
    if (name) result.get(name)?.pods.push(pod);
  }
  return result;
}

export const replicaSetUids = async (namespace: string) =>
  (await cluster.apps.listNamespacedReplicaSet({ namespace })).items.map((rs) => rs.metadata!.uid!).sort();

/** The annotation with the instance's current size, parsed. */
export function resourcesAnnotation(deployment: V1Deployment): { container: string } & Resources {
  const text = deployment.metadata?.annotations?.[Annotation.resources];
  return text ? (JSON.parse(text) as { container: string } & Resources) : (undefined as never);
}

export const templateOf = (deployment: V1Deployment, container = 'consumer') =>
  normalized(deployment.spec!.template.spec!.containers.find((c) => c.name === container)!.resources);

export const specOf = (pod: V1Pod, container = 'consumer') =>
  normalized(pod.spec!.containers.find((c) => c.name === container)!.resources);

export const statusOf = (pod: V1Pod, container = 'consumer') =>
  normalized(pod.status?.containerStatuses?.find((c) => c.name === container)?.resources);

export const restartsOf = (pod: V1Pod) =>
  Object.fromEntries((pod.status?.containerStatuses ?? []).map((c) => [c.name, c.restartCount]));

export const envOf = (pod: V1Pod, container = 'consumer') =>
  Object.fromEntries(
    (pod.spec!.containers.find((c) => c.name === container)!.env ?? []).map((e) => [e.name, e.value]),
  );

/** requests = limits = the given cpu and memory. */
export const sized = (cpu: string, memory: string): Resources => ({
  requests: { cpu, memory },
  limits: { cpu, memory },
});

/** Waits until the instance's only running pod reports `resources` for the container in its status. */
export async function waitPodAt(
  namespace: string,
  deployment: string,
  resources: Resources,
  timeoutMs = 60_000,
): Promise<V1Pod> {
  const want = JSON.stringify(normalized(resources));
  return waitFor(
    `${deployment}'s pod running with ${want}`,
    async () => {
      const instance = (await instancePods(namespace)).get(deployment);
      const running = instance?.pods.filter((p) => p.status?.phase === 'Running') ?? [];
      const [pod] = running;
      return running.length === 1 && instance!.pods.length === 1 && JSON.stringify(statusOf(pod!)) === want
        ? pod
        : undefined;
    },
    timeoutMs,
  );
}
