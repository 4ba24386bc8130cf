// The operator's writes to the API server, each one request: server-side apply of Deployments
// (field manager `konsumerator`), guarded deletes, status patches and events.
import type { V1Deployment } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import { FIELD_MANAGER, GROUP, PLURAL, VERSION } from '../api/constants.js';
import type { Consumer, ConsumerStatus } from '../api/schema.js';

export interface ApiError {
  code?: number;
  message: string;
}

/** Status code and the API server's own message from a request's error (KubeApiError or client-node's). */
export function describeApiError(error: unknown): ApiError {
  const e = error as { code?: number; body?: unknown; message?: string };
  let message = e?.message ?? String(error);
  let body = e?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* keep the text */
    }
  }
  if (body && typeof body === 'object' && 'message' in body)
    message = String((body as { message: unknown }).message);
  // Only an HTTP status is a code here: a DOMException (a TimeoutError from the request deadline)
  // carries a legacy numeric `code` too (23), which is no HTTP status.
  const isHttpStatus = typeof e?.code === 'number' && e.code >= 100 && e.code <= 599;
  return { code: isHttpStatus ? e.code : undefined, message };
}

const CREATE_ONLY_RESOURCE_VERSION = '1';

export const deploymentPath = (namespace: string, name?: string) =>
  `/apis/apps/v1/namespaces/${namespace}/deployments${name === undefined ? '' : `/${name}`}`;

export class KubeWriter {
  constructor(readonly client: KubeClient) {}

  /** Server-side apply with force: konsumerator takes back any field it renders. */
  async applyDeployment(deployment: V1Deployment): Promise<V1Deployment> {
    const { namespace, name } = deployment.metadata ?? {};
    return this.client.patch<V1Deployment>(
      deploymentPath(namespace ?? '', name ?? ''),
      { apiVersion: 'apps/v1', kind: 'Deployment', ...deployment },
      'apply',
      { fieldManager: FIELD_MANAGER, force: true },
    );
  }

  /**
   * Creates the Deployment with server-side apply, but only while its name is free: undefined when
   * a Deployment of that name exists (whoever made it), which is left as it was. One request, no
   * read in front. The apply carries resourceVersion "1" as a precondition: the API server ignores
   * a resourceVersion when the apply creates the object, and refuses the apply (409 Conflict) when
   * an object exists, because no stored object has revision 1 (the store's revision before its
   * first write). A POST would not do: its fields would belong to an Update entry of the field
   * manager, and later applies that leave a field out would not remove it.
   */
  async createDeployment(deployment: V1Deployment): Promise<V1Deployment | undefined> {
    try {
      return await this.applyDeployment({
        ...deployment,
        metadata: { ...deployment.metadata, resourceVersion: CREATE_ONLY_RESOURCE_VERSION },
      });
    } catch (error) {
      if (describeApiError(error).code === 409) return undefined;
      throw error;
    }
  }

  /** Deletes only the Deployment with this UID, so a same-named replacement is never hit. */
  async deleteDeployment(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.client.delete(deploymentPath(namespace, name), {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        preconditions: { uid },
        propagationPolicy: 'Background',
      });
    } catch (error) {
      if (describeApiError(error).code === 404) return;
      throw error;
    }
  }

  /** Merge-patches the status subresource; returns the Consumer as stored. */
  async patchStatus(consumer: Consumer, status: ConsumerStatus): Promise<Consumer | undefined> {
    const { namespace, name } = consumer.metadata;
    return this.client.patch<Consumer | undefined>(
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}/${name}/status`,
      { status },
      'merge',
      { fieldManager: FIELD_MANAGER },
    );
  }
}
