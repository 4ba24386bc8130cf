// The operator's writes to the API server, each one request: server-side apply of Deployments
// (field manager `konsumerator`), guarded deletes, status patches and events.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import { FIELD_MANAGER, GROUP, PLURAL, VERSION } from '../api/constants.js';
import type { Consumer, ConsumerStatus } from '../api/schema.js';

export interface ApiError {
  code?: number;
  message: string;
}

/** Status code and the API server's own message from a client-node error. */
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

export class KubeWriter {
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  private readonly objects: KubernetesObjectApi;

  constructor(kubeConfig: KubeConfig) {
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  }

  /** Server-side apply with force: konsumerator takes back any field it renders. */
  async applyDeployment(deployment: V1Deployment): Promise<V1Deployment> {
    return this.objects.patch(
      deployment,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
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
      await this.apps.deleteNamespacedDeployment({
        namespace,
        name,
        body: { preconditions: { uid }, propagationPolicy: 'Background' },
      });
    } catch (error) {
      if (describeApiError(error).code === 404) return;
      throw error;
    }
  }

  async patchStatus(consumer: Consumer, status: ConsumerStatus): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: consumer.metadata.namespace,
        name: consumer.metadata.name,
        body: { status },
        fieldManager: FIELD_MANAGER,
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}
