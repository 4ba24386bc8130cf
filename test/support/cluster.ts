// Reading Deployments, ReplicaSets and Pods of a namespace for assertions.
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { kubeConfig, waitFor } from './env.js';
import { instanceResources } from '../../src/plan/instance-resources.js';

export class ClusterView {
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  constructor(config: KubeConfig = kubeConfig()) {
    this.apps = config.makeApiClient(AppsV1Api);
    this.core = config.makeApiClient(CoreV1Api);
  }

  async deployments(namespace: string): Promise<V1Deployment[]> {
    const list = await this.apps.listNamespacedDeployment({ namespace });
    return list.items.sort((a, b) =>
      a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true }),
    );
  }

  async deploymentNames(namespace: string): Promise<string[]> {
    return (await this.deployments(namespace)).map((d) => d.metadata!.name!);
  }

  async runningPods(namespace: string): Promise<V1Pod[]> {
    const list = await this.core.listNamespacedPod({ namespace });
    return list.items.filter(
      (p) =>
        p.status?.phase === 'Running' &&
        !p.metadata?.deletionTimestamp &&
        p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
  }

  /** Pod UIDs by the Deployment that owns them (through their ReplicaSet). */
  async podUidsByDeployment(namespace: string): Promise<Record<string, string[]>> {
    const sets = (await this.apps.listNamespacedReplicaSet({ namespace })).items;
    const owner = new Map(
      sets.map((rs) => [rs.metadata!.name!, rs.metadata!.ownerReferences?.[0]?.name ?? '']),
    );
    const result: Record<string, string[]> = {};
    for (const pod of await this.runningPods(namespace)) {
      const deployment = owner.get(pod.metadata!.ownerReferences?.[0]?.name ?? '') ?? '';
      (result[deployment] ??= []).push(pod.metadata!.uid!);
    }
    for (const list of Object.values(result)) list.sort();
    return result;
  }

  /** Waits until every Deployment of the namespace is rolled out with all pods Running and Ready. */
  async waitAllRunning(namespace: string, expected: number, timeoutMs = 90_000): Promise<void> {
    await waitFor(
      `${expected} Deployments in ${namespace} rolled out with running pods`,
      async () => {
        const deployments = await this.deployments(namespace);
        if (deployments.length !== expected) return false;
        const done = deployments.every((d) => {
          const replicas = d.spec?.replicas ?? 1;
          const s = d.status;
          return (
            (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
            (s?.updatedReplicas ?? 0) === replicas &&
            (s?.availableReplicas ?? 0) === replicas &&
            (s?.replicas ?? 0) === replicas
          );
        });
        if (!done) return false;
        const wanted = deployments.reduce((sum, d) => sum + (d.spec?.replicas ?? 1), 0);
        return (await this.runningPods(namespace)).length === wanted;
      },
      timeoutMs,
    );
  }
}

/**
 * The resources an instance's pods run with (its current size): the template's, or after in-place
 * resizes the `konsumerator.lwolf.org/resources` annotation's.
 */
export const currentResources = (d: V1Deployment, container = 0) =>
  instanceResources(d, d.spec!.template.spec!.containers[container]!.name) ?? {};

export const env = (d: V1Deployment, container = 0) =>
  Object.fromEntries((d.spec!.template.spec!.containers[container]!.env ?? []).map((e) => [e.name, e.value]));

/** GETs a path from the API server as raw JSON (client-node's typed models drop fields they do not know). */
export async function rawGet<T = unknown>(path: string, config: KubeConfig = kubeConfig()): Promise<T> {
  const { default: https } = await import('node:https');
  const options: import('node:https').RequestOptions = { method: 'GET' };
  await config.applyToHTTPSOptions(options);
  const url = new URL(`${config.getCurrentCluster()!.server}${path}`);
  return new Promise<T>((resolve, reject) => {
    https
      .request(url, options, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          (res.statusCode ?? 500) < 300
            ? resolve(JSON.parse(text) as T)
            : reject(new Error(`${res.statusCode}: ${text}`)),
        );
      })
      .on('error', reject)
      .end();
  });
}
