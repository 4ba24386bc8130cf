// Where Consumers come from and where their status goes: Consumer resources (the CRD, the default)
// or, in guest mode, annotated ConfigMaps of one namespace (configmap-source.ts). The reconciler
// and the operator see only this interface, so both modes share one reconcile.
import type { KubeClient } from '../kube/client.js';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from '../api/constants.js';
import type { Consumer, ConsumerStatus } from '../api/schema.js';
import type { SpecProblem } from '../api/validate.js';
import { canonicalJson } from '../util/hash.js';
import { withoutManagedFields } from './trim.js';
import { ResourceCache, type WatchTiming } from './cache.js';
import type { KubeWriter } from './kube.js';
import type { Logger } from '../util/log.js';

export interface ConsumerSource {
  /** apiVersion and kind of the objects Consumers are read from (the owner of their Deployments). */
  readonly ownerType: { apiVersion: string; kind: string };
  /** Lists, then watches; resolves once the cache holds the list. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Called with every added, changed or deleted Consumer. */
  onChange(handler: (consumer: Consumer) => void): void;
  get(name: string, namespace: string): Consumer | undefined;
  list(namespace?: string): readonly Consumer[];
  /** Problems found while reading the Consumer that make it unusable (none for a Consumer resource). */
  readProblems(consumer: Consumer): readonly SpecProblem[];
  /** Whether `status` differs from what the object carries (so a write is needed). */
  statusChanged(consumer: Consumer, status: ConsumerStatus): boolean;
  /** Writes the status; returns the object as stored after the write, when the API server says. */
  writeStatus(consumer: Consumer, status: ConsumerStatus): Promise<Consumer | undefined>;
  /** Waits (bounded) until the cache holds `status`. */
  awaitStatus(consumer: Consumer, status: ConsumerStatus): Promise<void>;
}

/** Consumer resources of all namespaces; status through the status subresource. */
export class CrdConsumerSource implements ConsumerSource {
  readonly ownerType = { apiVersion: API_VERSION, kind: KIND };
  private readonly cache: ResourceCache<Consumer>;

  constructor(
    kubeConfig: KubeClient,
    private readonly writer: KubeWriter,
    log: Logger,
    watchTiming?: WatchTiming,
  ) {
    this.cache = new ResourceCache<Consumer>(
      kubeConfig,
      `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      log.child({ cache: 'consumers' }),
      withoutManagedFields,
      watchTiming,
    );
  }

  start = () => this.cache.start();
  stop = () => this.cache.stop();
  onChange = (handler: (consumer: Consumer) => void) => this.cache.onChange(handler);
  get = (name: string, namespace: string) => this.cache.get(name, namespace);
  list = (namespace?: string) => this.cache.list(namespace);
  readProblems = () => [];

  statusChanged(consumer: Consumer, status: ConsumerStatus): boolean {
    return canonicalJson(status) !== canonicalJson(consumer.status ?? {});
  }

  async writeStatus(consumer: Consumer, status: ConsumerStatus): Promise<Consumer | undefined> {
    const stored = await this.writer.patchStatus(consumer, status);
    return stored?.metadata ? withoutManagedFields(stored) : undefined;
  }

  async awaitStatus(consumer: Consumer, status: ConsumerStatus): Promise<void> {
    const { name, namespace } = consumer.metadata;
    await this.cache.waitUntil(
      () => canonicalJson(this.cache.get(name, namespace)?.status ?? {}) === canonicalJson(status),
      5_000,
    );
  }
}
