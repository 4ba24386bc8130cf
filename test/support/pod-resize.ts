// In-place pod resize from a test: the `resize` subresource patch, and reading what the node
// (kwok, playing the kubelet) reports back.
import {
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type CoreV1Api,
  type V1Pod,
  type V1PodCondition,
  type V1ResourceRequirements,
} from '@kubernetes/client-node';
import { kubeConfig } from './env.js';

export type Resources = Pick<V1ResourceRequirements, 'requests' | 'limits'>;

/** Strategic-merge patch of one container's resources through pods/<name>/resize. */
export function resizeContainer(
  core: CoreV1Api,
  pod: V1Pod,
  container: string,
  resources: Resources,
): Promise<V1Pod> {
  return core.patchNamespacedPodResize(
    {
      name: pod.metadata!.name!,
      namespace: pod.metadata!.namespace!,
      body: { spec: { containers: [{ name: container, resources }] } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}

export function specResources(pod: V1Pod, container: string): Resources {
  return normalized(pod.spec?.containers.find((c) => c.name === container)?.resources);
}

export function statusResources(pod: V1Pod, container: string): Resources {
  return normalized(pod.status?.containerStatuses?.find((c) => c.name === container)?.resources);
}

export function restartCount(pod: V1Pod, container: string): number | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === container)?.restartCount;
}

export function condition(pod: V1Pod, type: string): V1PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** The node runs the container with exactly `resources` and reports no resize under way. */
export function resized(pod: V1Pod, container: string, resources: Resources): boolean {
  return (
    sameResources(statusResources(pod, container), resources) &&
    pod.status?.observedGeneration === pod.metadata?.generation &&
    !condition(pod, 'PodResizeInProgress') &&
    !condition(pod, 'PodResizePending')
  );
}

export function sameResources(a: Resources, b: Resources): boolean {
  return JSON.stringify(normalized(a)) === JSON.stringify(normalized(b));
}

/** requests and limits only, as plain objects with keys in a fixed order, for comparing. */
export function normalized(resources: V1ResourceRequirements | undefined): Resources {
  const sorted = (list?: Record<string, string>) =>
    list && Object.keys(list).length
      ? Object.fromEntries(Object.entries(list).sort(([a], [b]) => a.localeCompare(b)))
      : undefined;
  const requests = sorted(resources?.requests);
  const limits = sorted(resources?.limits);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

/** Every version of one pod the API server sends while it is watched, with when it arrived. */
export class PodHistory {
  private constructor(
    readonly versions: readonly { at: number; pod: V1Pod }[],
    private readonly stop: () => void,
  ) {}

  /** Watches from `pod`'s resourceVersion on. */
  static async watch(pod: V1Pod): Promise<PodHistory> {
    const { namespace, name, resourceVersion } = pod.metadata!;
    const versions: { at: number; pod: V1Pod }[] = [];
    const controller = await new Watch(kubeConfig()).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      { fieldSelector: `metadata.name=${name}`, resourceVersion },
      (_phase: string, seen: V1Pod) => versions.push({ at: performance.now(), pod: seen }),
      () => undefined,
    );
    return new PodHistory(versions, () => controller.abort());
  }

  /** The first version received at or after `since` (performance.now()) that satisfies `test`. */
  first(test: (pod: V1Pod) => boolean, since = 0): { at: number; pod: V1Pod } | undefined {
    return this.versions.find((v) => v.at >= since && test(v.pod));
  }

  close(): void {
    this.stop();
  }
}
