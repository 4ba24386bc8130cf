// Helpers for tests that run against the test plane started by `npm test` (scripts/test.ts).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { readEnvFile, type TestPlaneEnv } from '../../src/testplane/env.js';
import { waitFor as poll } from '../../src/testplane/wait.js';

export type { TestPlaneEnv } from '../../src/testplane/env.js';

let cachedEnv: TestPlaneEnv | undefined;

/** The running plane's env.json (path in KONSUMERATOR_TEST_ENV). */
export function testEnv(): TestPlaneEnv {
  if (cachedEnv) return cachedEnv;
  const path = process.env.KONSUMERATOR_TEST_ENV;
  if (!path || !existsSync(path)) {
    throw new Error(
      `no test plane: KONSUMERATOR_TEST_ENV is ${path ? `${path}, which does not exist` : 'not set'}; run via npm test`,
    );
  }
  cachedEnv = readEnvFile(path);
  return cachedEnv;
}

export interface MetricsPlane {
  kafkaBootstrap: string;
  exporterUrl: string;
  prometheusUrl: string;
  prometheusFileSdDir: string;
}

/**
 * The plane's Kafka, kafka_exporter and Prometheus. `npm test` always starts them, except with
 * --no-metrics: a test that needs them then fails with this message, it is not skipped.
 */
export function metricsPlane(): MetricsPlane {
  const { kafkaBootstrap, exporterUrl, prometheusUrl, prometheusFileSdDir } = testEnv();
  if (!kafkaBootstrap || !exporterUrl || !prometheusUrl || !prometheusFileSdDir) {
    throw new Error(
      'this test needs the test plane with Kafka and Prometheus, which `npm test -- --no-metrics` leaves out',
    );
  }
  return { kafkaBootstrap, exporterUrl, prometheusUrl, prometheusFileSdDir };
}

/** A KubeConfig for the plane's admin (system:masters). */
export function kubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(testEnv().kubeconfigPath);
  return config;
}

/**
 * Polls `probe` until it returns a value other than undefined, null or false; a throwing probe
 * counts as "not yet". Fails with `what` and the probe's last error after timeoutMs.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  return poll(
    what,
    async () => {
      const value = await probe();
      return value === null || value === false ? undefined : value;
    },
    { timeoutMs },
  );
}

/**
 * Creates a namespace named `<prefix>-<random>` and waits for its `default` ServiceAccount (the
 * ServiceAccount admission plugin rejects pods until the KCM has created it). Returns the name.
 */
export async function newNamespace(prefix: string): Promise<string> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const name = `${dnsLabelPrefix(prefix)}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name } } });
  createdNamespaces.add(name);
  if (testEnv().withControllers) {
    await waitFor(`serviceaccount ${name}/default`, () =>
      core.readNamespacedServiceAccount({ name: 'default', namespace: name }),
    );
  }
  return name;
}

const createdNamespaces = new Set<string>();

/**
 * Deletes the namespaces this test file created (and with them its Consumers), so that the
 * next file's operator does not keep reconciling them: the suite shares one control plane.
 */
export async function deleteTestNamespaces(): Promise<void> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const names = [...createdNamespaces];
  createdNamespaces.clear();
  await Promise.all(names.map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
  // Wait until they are gone: the next file's operator must not see their Consumers.
  await waitFor(
    `namespaces ${names.join(', ')} deleted`,
    async () => {
      const left = await Promise.all(
        names.map((name) =>
          core.readNamespace({ name }).then(
            () => true,
            () => false,
          ),
        ),
      );
      return left.every((exists) => !exists);
    },
    120_000,
  );
}

/** Lower-case alphanumerics and '-', short enough to leave room for the random suffix. */
function dnsLabelPrefix(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return (clean || 'test').slice(0, 50);
}
