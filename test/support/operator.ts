// Runs the real operator in the test process against the test plane, and reads the API server's
// own request counters, so tests can count the operator's writes from the server's view.
import { AppsV1Api, CustomObjectsApi, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { Operator, type OperatorOptions } from '../../src/controller/operator.js';
import type { ClusterSource } from '../../src/kube/config.js';
import { silentLogger, createLogger } from '../../src/util/log.js';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import type { Consumer, ConsumerSpec } from '../../src/api/schema.js';
import { after, before } from './timed.js';
import { deleteTestNamespaces, kubeConfig, testEnv, waitFor } from './env.js';
import { installCrd } from './crd.js';
import {
  apiRequestCounts as apiRequestCountsOf,
  operatorWrites as operatorWritesOf,
  totalWrites,
} from '../../src/testplane/api-metrics.js';
import { operatorServiceAccountConfig } from './service-account.js';
import { TEST_READ_LIMITS, testEndpointPolicy } from './endpoints.js';

/**
 * Starts the operator authenticated as its own ServiceAccount (token from the TokenRequest API,
 * bound to the shipped ClusterRole), so every e2e test proves the shipped RBAC is enough. Pass a
 * KubeConfig only to test another identity on purpose. Its endpoint policy allows the plane's
 * metrics components and the fixtures' address only (see endpoints.ts); metrics are read down to
 * once a second.
 */
export async function startOperator(
  config?: ClusterSource,
  resyncMs = 60_000,
  options: Partial<Omit<OperatorOptions, 'kubeConfig' | 'log' | 'version'>> = {},
): Promise<Operator> {
  config ??= await operatorServiceAccountConfig();
  const log = process.env.KONSUMERATOR_TEST_LOGS ? createLogger('debug') : silentLogger();
  const operator = new Operator({
    kubeConfig: config,
    log,
    version: 'test',
    resyncMs,
    workers: 4,
    endpointPolicy: testEndpointPolicy(),
    readLimits: TEST_READ_LIMITS,
    ...options,
  });
  await operator.start();
  return operator;
}

/** apiserver_request_total of the test plane, by "VERB group/resource[/subresource]". */
export const apiRequestCounts = () => apiRequestCountsOf(testEnv());

/** The operator's writes between two readings of apiRequestCounts() (see src/testplane/api-metrics.ts). */
export const operatorWrites = (before: Map<string, number>, after: Map<string, number>) =>
  operatorWritesOf(before, after, GROUP);

export { totalWrites };

export class ConsumerClient {
  readonly custom: CustomObjectsApi;
  readonly apps: AppsV1Api;
  constructor(readonly config: KubeConfig = kubeConfig()) {
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.apps = config.makeApiClient(AppsV1Api);
  }

  async create(namespace: string, name: string, spec: ConsumerSpec): Promise<Consumer> {
    return (await this.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Consumer', metadata: { name, namespace }, spec },
    })) as Consumer;
  }

  async get(namespace: string, name: string): Promise<Consumer> {
    return (await this.custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
    })) as Consumer;
  }

  /**
   * Replaces the spec (an update of the object as read, so it is tried again when the operator
   * wrote the status in between: 409 Conflict); resolves to the Consumer's new metadata.generation.
   */
  async setSpec(namespace: string, name: string, spec: ConsumerSpec): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(namespace, name);
      try {
        const replaced = (await this.custom.replaceNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace,
          name,
          body: { ...current, spec },
        })) as Consumer;
        return replaced.metadata.generation!;
      } catch (error) {
        if ((error as { code?: number }).code !== 409 || attempt >= 5) throw error;
      }
    }
  }

  async delete(namespace: string, name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
      propagationPolicy: 'Background',
    });
  }

  async deployments(namespace: string): Promise<V1Deployment[]> {
    return (await this.apps.listNamespacedDeployment({ namespace })).items.sort((a, b) =>
      a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true }),
    );
  }

  /** Waits until the Consumer's Ready condition is True for its current generation. */
  async waitReady(namespace: string, name: string, timeoutMs = 60_000): Promise<Consumer> {
    return waitFor(
      `Consumer ${namespace}/${name} Ready`,
      async () => {
        const c = await this.get(namespace, name);
        const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
        return ready?.status === 'True' && c.status?.observedGeneration === c.metadata.generation
          ? c
          : undefined;
      },
      timeoutMs,
    );
  }

  async waitCondition(
    namespace: string,
    name: string,
    type: string,
    reason: string,
    timeoutMs = 30_000,
  ): Promise<Consumer> {
    return waitFor(
      `Consumer ${namespace}/${name} condition ${type} reason ${reason}`,
      async () => {
        const c = await this.get(namespace, name);
        return c.status?.conditions?.find((x) => x.type === type)?.reason === reason ? c : undefined;
      },
      timeoutMs,
    );
  }
}

/**
 * The usual set-up of an e2e file: install the CRD and run one operator for the whole file; at the
 * end delete the file's namespaces (and wait for them to go) and stop the operator. Tests may
 * replace `running.operator` (e.g. to restart it); the current one is stopped at the end.
 */
export function operatorForThisFile(): { operator: Operator | undefined } {
  const running: { operator: Operator | undefined } = { operator: undefined };
  before(async () => {
    await installCrd(kubeConfig());
    running.operator = await startOperator();
  });
  after(async () => {
    await deleteTestNamespaces();
    await running.operator?.stop();
  });
  return running;
}
