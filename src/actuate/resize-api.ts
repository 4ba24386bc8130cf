// The two API calls of in-place actuation, kept together: whether the API server has the pods/resize subresource
// (Kubernetes 1.33 and later), and the resize of one container of one pod.
import type { V1APIResourceList, V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import type { CpuMemory } from '../plan/instance-resources.js';
import type { Refusal } from './choice.js';

/** Whether a discovery answer for the core group lists the pods/resize subresource. */
export function listsPodResize(resources: V1APIResourceList): boolean {
  return resources.resources.some((r) => r.name === 'pods/resize');
}

export type ResizeOutcome = { done: true } | { done: false; refusal: Refusal } | { done: false; gone: true };

interface ErrorLike {
  code?: number;
  body?: unknown;
  message?: string;
}

function errorBody(error: ErrorLike): { text: string; message: string } {
  let body = error.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* keep the text */
    }
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  const message =
    body && typeof body === 'object' && 'message' in body
      ? String((body as { message: unknown }).message)
      : (error.message ?? '');
  return { text, message };
}

/**
 * What the API server's refusal of a resize means for the actuation; undefined for errors that are
 * not about this resize (permissions, the API server unavailable), which are retried.
 *  - 403 with the cause NodeCapacity: beyond the node's allocatable (the PodResizeValidator
 *    admission plugin, Kubernetes 1.36): a new pod must go to a node where it fits;
 *  - 422: the resize is not allowed for this pod (its QoS class would change, a limit would go,
 *    its node does not support resizes).
 */
export function classifyRefusal(error: unknown): Refusal | 'gone' | undefined {
  const e = (error ?? {}) as ErrorLike;
  const { text, message } = errorBody(e);
  if (e.code === 404) return 'gone';
  if (e.code === 403 && /NodeCapacity/.test(text)) return { reason: 'NodeCapacity', message: brief(message) };
  if (e.code === 422) return { reason: 'Refused', message: brief(message) };
  return undefined;
}

/** The API server's message, short, without the pod's name (it is said elsewhere). */
const brief = (message: string) =>
  message.replace(/^pods? "[^"]*" is (forbidden|invalid): /i, '').slice(0, 300);

export class PodResizeApi {
  constructor(private readonly client: KubeClient) {}

  /** Discovery of the core group: does it list pods/resize? */
  async supported(): Promise<boolean> {
    return listsPodResize(await this.client.get<V1APIResourceList>('/api/v1'));
  }

  /**
   * Strategic-merge patch of one container's cpu/memory requests and limits through
   * pods/<name>/resize; other containers and other resource names are untouched.
   */
  async resize(pod: V1Pod, container: string, resources: CpuMemory): Promise<ResizeOutcome> {
    try {
      await this.client.patch(
        `/api/v1/namespaces/${pod.metadata!.namespace!}/pods/${pod.metadata!.name!}/resize`,
        { spec: { containers: [{ name: container, resources }] } },
        'strategic',
      );
      return { done: true };
    } catch (error) {
      const refusal = classifyRefusal(error);
      if (refusal === 'gone') return { done: false, gone: true };
      if (refusal) return { done: false, refusal };
      throw error;
    }
  }
}
