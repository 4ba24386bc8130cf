// Guest mode's Consumers: the ConfigMaps of one namespace that carry the `managed` annotation,
// decoded by api/guest.ts. Status goes into the ConfigMap's annotations with a merge patch of
// only the annotations that changed (the original replaced the whole ConfigMap every reconcile).
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import { FIELD_MANAGER } from '../api/constants.js';
import {
  CONFIGMAP_KIND,
  consumerFromConfigMap,
  isManaged,
  statusAnnotationPatch,
  type DecodedConsumer,
} from '../api/guest.js';
import type { Consumer, ConsumerStatus } from '../api/schema.js';
import type { SpecProblem } from '../api/validate.js';
import { withoutManagedFields } from './trim.js';
import { ResourceCache, type WatchTiming } from './cache.js';
import type { ConsumerSource } from './consumer-source.js';
import type { Logger } from '../util/log.js';

export class ConfigMapConsumerSource implements ConsumerSource {
  readonly ownerType = { apiVersion: 'v1', kind: CONFIGMAP_KIND };
  private readonly cache: ResourceCache<V1ConfigMap>;
  /** Decoded ConfigMaps by uid, valid for the resourceVersion they were decoded from. */
  private readonly decoded = new Map<
    string,
    { resourceVersion: string | undefined; result: DecodedConsumer }
  >();
  /** Problems of each decoded Consumer object. */
  private readonly problems = new WeakMap<Consumer, readonly SpecProblem[]>();
  /** ConfigMaps seen managed, so that dropping the annotation still reaches the reconciler. */
  private readonly managedUids = new Set<string>();

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    log: Logger,
    watchTiming?: WatchTiming,
  ) {
    this.cache = new ResourceCache<V1ConfigMap>(
      client,
      `/api/v1/namespaces/${namespace}/configmaps`,
      log.child({ cache: 'configmaps' }),
      withoutManagedFields,
      watchTiming,
    );
  }

  start = () => this.cache.start();
  stop = () => this.cache.stop();

  onChange(handler: (consumer: Consumer) => void): void {
    this.cache.onChange((configMap) => {
      const uid = configMap.metadata?.uid ?? '';
      if (!isManaged(configMap) && !this.managedUids.has(uid)) return;
      if (isManaged(configMap)) this.managedUids.add(uid);
      else this.managedUids.delete(uid);
      if (!this.cache.get(configMap.metadata?.name ?? '', this.namespace)) {
        this.managedUids.delete(uid);
        this.decoded.delete(uid);
      }
      handler(this.decode(configMap).consumer);
    });
  }

  get(name: string, namespace: string): Consumer | undefined {
    if (namespace !== this.namespace) return undefined;
    const configMap = this.cache.get(name, namespace);
    return configMap && isManaged(configMap) ? this.decode(configMap).consumer : undefined;
  }

  list(namespace?: string): readonly Consumer[] {
    if (namespace !== undefined && namespace !== this.namespace) return [];
    return this.cache
      .list(this.namespace)
      .filter(isManaged)
      .map((c) => this.decode(c).consumer);
  }

  readProblems(consumer: Consumer): readonly SpecProblem[] {
    return this.problems.get(consumer) ?? [];
  }

  statusChanged(consumer: Consumer, status: ConsumerStatus): boolean {
    return statusAnnotationPatch(consumer.metadata.annotations, status) !== undefined;
  }

  async writeStatus(consumer: Consumer, status: ConsumerStatus): Promise<Consumer | undefined> {
    const { name, namespace } = consumer.metadata;
    const annotations = statusAnnotationPatch(consumer.metadata.annotations, status);
    if (!annotations) return undefined;
    const stored = await this.client.patch<V1ConfigMap | undefined>(
      `/api/v1/namespaces/${namespace}/configmaps/${name}`,
      { metadata: { annotations } },
      'merge',
      { fieldManager: FIELD_MANAGER },
    );
    return stored?.metadata && isManaged(stored) ? this.decode(stored).consumer : undefined;
  }

  async awaitStatus(consumer: Consumer, status: ConsumerStatus): Promise<void> {
    const { name, namespace } = consumer.metadata;
    await this.cache.waitUntil(
      () =>
        statusAnnotationPatch(this.cache.get(name, namespace)?.metadata?.annotations, status) === undefined,
      5_000,
    );
  }

  private decode(configMap: V1ConfigMap): DecodedConsumer {
    const uid = configMap.metadata?.uid ?? '';
    const resourceVersion = configMap.metadata?.resourceVersion;
    const memo = this.decoded.get(uid);
    if (memo && memo.resourceVersion === resourceVersion) return memo.result;
    const result = consumerFromConfigMap(configMap);
    this.decoded.set(uid, { resourceVersion, result });
    this.problems.set(result.consumer, result.problems);
    return result;
  }
}
