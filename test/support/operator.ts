// Runs the real operator in the test process against the test plane, and reads the API server's
// own request counters, so tests can count the operator's writes from the server's view.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { AppsV1Api, CustomObjectsApi, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { Operator } from '../../src/controller/operator.js';
import { silentLogger, createLogger } from '../../src/util/log.js';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import type { Consumer, ConsumerSpec } from '../../src/api/schema.js';
import { after, before } from 'node:test';
import { deleteTestNamespaces, kubeConfig, testEnv, waitFor } from './env.js';
import { installCrd } from './crd.js';
import { operatorServiceAccountConfig } from './service-account.js';

/**
 * Starts the operator authenticated as its own ServiceAccount (token from the TokenRequest API,
 * bound to the shipped ClusterRole), so every e2e test proves the shipped RBAC is enough. Pass a
 * KubeConfig only to test another identity on purpose.
 */
export async function startOperator(config?: KubeConfig, resyncMs = 60_000): Promise<Operator> {
  config ??= await operatorServiceAccountConfig();
  const log = process.env.KONSUMERATOR_TEST_LOGS ? createLogger('debug') : silentLogger();
  const operator = new Operator({ kubeConfig: config, log, version: 'test', resyncMs, workers: 4 });
  await operator.start();
  return operator;
}

/** apiserver_request_total summed by verb/group/resource/subresource, from the server's /metrics. */
export async function apiRequestCounts(): Promise<Map<string, number>> {
  const env = testEnv();
  const text = await new Promise<string>((resolve, reject) => {
    https
      .get(
        `${env.apiServerUrl}/metrics`,
        { ca: readFileSync(env.caFile), headers: { Authorization: `Bearer ${env.adminToken}` } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve(body));
        },
      )
      .on('error', reject);
  });
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const key = `${labels.verb} ${labels.group ?? ''}/${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY', 'CREATE', 'UPDATE']);

/**
 * Write requests that only the operator makes: to Deployments (not their status, which the
 * controller-manager writes), Consumers and their status. Events are left out: the
 * controller-manager records events too.
 */
export function operatorWrites(
  before: Map<string, number>,
  after: Map<string, number>,
): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [key, value] of after) {
    const [verb, resource] = key.split(' ') as [string, string];
    if (!WRITE_VERBS.has(verb)) continue;
    if (resource !== 'apps/deployments' && !resource.startsWith(`${GROUP}/`)) continue;
    const delta = value - (before.get(key) ?? 0);
    if (delta > 0) result[key] = delta;
  }
  return result;
}

export const totalWrites = (writes: Record<string, number>) =>
  Object.values(writes).reduce((a, b) => a + b, 0);

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

  /** Replaces the spec (merge patch of the whole spec object). */
  async setSpec(namespace: string, name: string, spec: ConsumerSpec): Promise<void> {
    const current = await this.get(namespace, name);
    await this.custom.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
      body: { ...current, spec },
    });
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
