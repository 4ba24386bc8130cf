// The Kubernetes calls of the operations verbs (status, pause, resume, stop, start, explain),
// each named by the RBAC verb and resource it needs, so that a 403 says which permission is
// missing instead of the API server's bare "forbidden".
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/constants.js';
import type { Consumer } from '../api/schema.js';
import { describeApiError } from '../controller/kube.js';

/** A permission: the RBAC verb on a resource (`group/resource[/subresource]`) in a namespace. */
export interface Permission {
  verb: string;
  group: string;
  resource: string;
  namespace: string;
}

/** An API call the kubeconfig's user is not allowed to make; the message names the missing rule. */
export class MissingPermissionError extends Error {
  constructor(readonly permission: Permission) {
    const { verb, group, resource, namespace } = permission;
    const [plural, sub] = resource.split('/');
    const command = `kubectl auth can-i ${verb} ${plural}${group ? `.${group}` : ''}${sub ? ` --subresource=${sub}` : ''} -n ${namespace}`;
    super(
      `forbidden: this kubeconfig's user may not ${verb} ${group ? `${group}/` : ''}${resource} in namespace ${namespace}; ` +
        `it needs a Role rule {apiGroups: ["${group}"], resources: ["${resource}"], verbs: ["${verb}"]} ` +
        `(check with \`${command}\`)`,
    );
    this.name = 'MissingPermissionError';
  }
}

/** A Consumer that does not exist. */
export class NotFoundError extends Error {}

async function call<T>(permission: Permission, run: () => Promise<T>, what?: string): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const { code, message } = describeApiError(error);
    if (code === 403) throw new MissingPermissionError(permission);
    if (code === 404 && what)
      throw new NotFoundError(`${what} not found in namespace ${permission.namespace}`);
    throw new Error(
      `${permission.verb} ${permission.resource} failed${code ? ` (${code})` : ''}: ${message}`,
      {
        cause: error,
      },
    );
  }
}

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The events the command line records on a Consumer (docs/troubleshooting.md lists them). */
export type CliEventReason =
  'Paused' | 'Resumed' | 'InstancePaused' | 'InstanceResumed' | 'StopRequested' | 'StartRequested';

/** Who the CLI's writes are recorded as (managedFields, events). */
export const CLI_MANAGER = 'konsumerator-cli';

export class OpsApi {
  private readonly custom: CustomObjectsApi;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  getConsumer(namespace: string, name: string): Promise<Consumer> {
    return call(
      { verb: 'get', group: GROUP, resource: PLURAL, namespace },
      async () =>
        (await this.custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace,
          name,
        })) as Consumer,
      `Consumer ${name}`,
    );
  }

  listConsumers(namespace: string): Promise<Consumer[]> {
    return call({ verb: 'list', group: GROUP, resource: PLURAL, namespace }, async () => {
      const list = (await this.custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
      })) as { items: Consumer[] };
      return list.items;
    });
  }

  listDeployments(namespace: string): Promise<V1Deployment[]> {
    return call(
      { verb: 'list', group: 'apps', resource: 'deployments', namespace },
      async () => (await this.apps.listNamespacedDeployment({ namespace })).items,
    );
  }

  listPods(namespace: string, labelSelector: string | undefined): Promise<V1Pod[]> {
    return call(
      { verb: 'list', group: '', resource: 'pods', namespace },
      async () =>
        (
          await this.core.listNamespacedPod({
            namespace,
            ...(labelSelector !== undefined ? { labelSelector } : {}),
          })
        ).items,
    );
  }

  /** The events recorded on one Consumer. */
  listConsumerEvents(namespace: string, consumer: string): Promise<CoreV1Event[]> {
    return call(
      { verb: 'list', group: '', resource: 'events', namespace },
      async () =>
        (
          await this.core.listNamespacedEvent({
            namespace,
            fieldSelector: `involvedObject.kind=Consumer,involvedObject.name=${consumer}`,
          })
        ).items,
    );
  }

  /** Sets (string) or removes (null) annotations of a Consumer. */
  async annotateConsumer(namespace: string, name: string, annotations: Record<string, string | null>) {
    await call(
      { verb: 'patch', group: GROUP, resource: PLURAL, namespace },
      () =>
        this.custom.patchNamespacedCustomObject(
          {
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
            namespace,
            name,
            body: { metadata: { annotations } },
            fieldManager: CLI_MANAGER,
          },
          merge,
        ),
      `Consumer ${name}`,
    );
  }

  /** Sets (string) or removes (null) annotations of a Deployment. */
  async annotateDeployment(namespace: string, name: string, annotations: Record<string, string | null>) {
    await call(
      { verb: 'patch', group: 'apps', resource: 'deployments', namespace },
      () =>
        this.apps.patchNamespacedDeployment(
          { namespace, name, body: { metadata: { annotations } }, fieldManager: CLI_MANAGER },
          merge,
        ),
      `Deployment ${name}`,
    );
  }

  /** Sets spec.replicas through the Consumer's scale subresource (what `kubectl scale` does). */
  async scaleConsumer(namespace: string, name: string, replicas: number): Promise<void> {
    await call(
      { verb: 'patch', group: GROUP, resource: `${PLURAL}/scale`, namespace },
      () =>
        this.custom.patchNamespacedCustomObjectScale(
          {
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
            namespace,
            name,
            body: { spec: { replicas } },
            fieldManager: CLI_MANAGER,
          },
          merge,
        ),
      `Consumer ${name}`,
    );
  }

  /** Records an event on the Consumer (who did what from the command line). */
  async recordEvent(consumer: Consumer, reason: CliEventReason, message: string): Promise<void> {
    const { namespace, name, uid } = consumer.metadata;
    const now = new Date();
    await call({ verb: 'create', group: '', resource: 'events', namespace }, () =>
      this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'Consumer',
            name,
            namespace,
            uid,
          },
          reason,
          message,
          type: 'Normal',
          source: { component: CLI_MANAGER },
          reportingComponent: CLI_MANAGER,
          reportingInstance: CLI_MANAGER,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      }),
    );
  }
}
