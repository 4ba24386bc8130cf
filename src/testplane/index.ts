// Starts the real components the tests and the demo run against, on 127.0.0.1:
// etcd → kube-apiserver → (kube-controller-manager, kube-scheduler, kwok + its fake nodes)
//   → (Kafka broker → kafka_exporter) → (Prometheus).
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { restartApiServer, startApiServer, type RestartOptions } from './apiserver.js';
import { ensureBinaries, ensureKafkaRuntime } from './binaries.js';
import { coreApi } from './client.js';
import { startControllerManager, startScheduler } from './controllers.js';
import type { TestPlaneEnv } from './env.js';
import { startEtcd } from './etcd.js';
import { startKafkaExporter } from './exporter.js';
import { NEIGHBOUR_NAMESPACE } from './fake-nodes.js';
import { ensureKafkaClassArchive, startKafka, type KafkaParams } from './kafka.js';
import { FAKE_NODE_NAME, placeNeighbours, startKwokWithFakeNodes } from './kwok.js';
import { claimPlaneDir } from './orphans.js';
import { liveProcesses, type ManagedProcess } from './process.js';
import { freePort } from './ports.js';
import {
  KAFKA_EXPORTER_JOB,
  startPrometheus,
  waitForScrape,
  type PrometheusServer,
  type ScrapeTarget,
} from './prometheus.js';
import { waitFor } from './wait.js';

export { ensureBinaries, ensureKafkaRuntime, ensureTool, type Tool } from './binaries.js';
export { readEnvFile, writeEnvFile, type TestPlaneEnv } from './env.js';
export { FAKE_NODE_NAME } from './kwok.js';
export {
  DEFAULT_NODE,
  FAKE_NODES,
  NEIGHBOUR_NAMESPACE,
  NODE_ROLE_KEY,
  SMALL_NODE,
  STATIC_CPU_NODE,
  placeOnNode,
  type FakeNodeSpec,
} from './fake-nodes.js';
export { AUDITED_NAMESPACE } from './apiserver.js';
export {
  addScrapeTarget,
  queryPrometheus,
  removeScrapeTarget,
  waitForScrape,
  KAFKA_EXPORTER_JOB,
  type PromSample,
  type ScrapeTarget,
} from './prometheus.js';

export interface TestPlaneOptions {
  /** Where certs, data, kubeconfig and logs go; created if missing. */
  dir: string;
  /** Also run kube-controller-manager, kube-scheduler and kwok (default true). */
  withControllers?: boolean;
  /** Directory with testplane's symlinks and kwok; default: the result of ensureBinaries(). */
  binDir?: string;
  /** Also run a Kafka broker (KRaft, one node) and the kafka_exporter (default false). */
  withKafka?: boolean;
  /** Also run Prometheus, scraping the exporter (with Kafka) and file_sd targets (default false). */
  withPrometheus?: boolean;
  /** Directory with the Kafka runtime jars; default: the result of ensureKafkaRuntime(). */
  kafkaLibDir?: string;
  /** More static scrape jobs for Prometheus. */
  prometheusTargets?: readonly ScrapeTarget[];
  /** Audit-log the requests of AUDITED_NAMESPACE's ServiceAccounts (default false). */
  auditLog?: boolean;
  /**
   * Requests per second kube-controller-manager may send (its --kube-api-qps, burst twice that);
   * default: its own default of 20, which rolls out a few instances per second.
   */
  controllerManagerQps?: number;
}

export interface TestPlane {
  kubeconfigPath: string;
  apiServerUrl: string;
  adminToken: string;
  caFile: string;
  dir: string;
  /** With withKafka: `127.0.0.1:<port>` of the broker. */
  kafkaBootstrap?: string;
  /** With withKafka: `http://127.0.0.1:<port>` of the kafka_exporter (metrics at /metrics). */
  exporterUrl?: string;
  /** With withPrometheus: `http://127.0.0.1:<port>`. */
  prometheusUrl?: string;
  /** With withPrometheus: where addScrapeTarget() writes target files. */
  prometheusFileSdDir?: string;
  /** With auditLog: the API server's audit log (JSON lines). */
  auditLogPath?: string;
  /** The components in start order, still running until stop(). */
  processes: readonly ManagedProcess[];
  /** Milliseconds from the start of startTestPlane until each component was ready. */
  readyAfterMs: Readonly<Record<string, number>>;
  /** What a test process needs, to be written to env.json. */
  env(): TestPlaneEnv;
  /**
   * Stops the API server and starts it again on the same address with the same certificate and
   * data (for fault tests); resolves once it is ready, with how long it was unavailable.
   */
  restartApiServer(
    options?: RestartOptions,
  ): Promise<{ pid: number; unavailableMs: number; stopMs: number; startMs: number }>;
  /** Stops every component, in reverse start order. */
  stop(): Promise<void>;
}

export async function startTestPlane(options: TestPlaneOptions): Promise<TestPlane> {
  const dir = resolve(options.dir);
  const withControllers = options.withControllers ?? true;
  mkdirSync(dir, { recursive: true });
  claimPlaneDir(dir);
  removePreviousState(dir);
  const binDir = options.binDir ?? (await ensureBinaries());
  const kafkaLibDir = options.withKafka ? (options.kafkaLibDir ?? (await ensureKafkaRuntime())) : undefined;
  // Once per machine (~8 s): makes every later broker start about a second faster.
  const kafkaClassArchive = kafkaLibDir ? await ensureKafkaClassArchive(kafkaLibDir, dir) : undefined;
  const alreadyRunning = new Set(liveProcesses());
  const started: ManagedProcess[] = [];
  const readyAfterMs: Record<string, number> = {};
  const t0 = performance.now();
  /** Records when `name` became ready and passes `value` through. */
  const ready = <T>(name: string, value: T): T => {
    readyAfterMs[name] = Math.round(performance.now() - t0);
    return value;
  };
  try {
    const etcd = ready('etcd', await startEtcd(binDir, dir));
    started.push(etcd.process);
    const api = ready(
      'kube-apiserver',
      await startApiServer(binDir, dir, etcd.url, { auditLog: options.auditLog ?? false }),
    );
    started.push(api.process);
    if (withControllers) {
      const params = { binDir, dir, ...api };
      started.push(
        ready('kube-controller-manager', await startControllerManager(params, options.controllerManagerQps)),
      );
      started.push(ready('kube-scheduler', await startScheduler(params)));
      started.push(ready('kwok', await startKwokWithFakeNodes(params)));
      await waitForDefaultServiceAccount(api.kubeconfigPath, 'default');
      ready('serviceaccount default', true);
      await waitForDefaultServiceAccount(api.kubeconfigPath, NEIGHBOUR_NAMESPACE);
      await placeNeighbours(api.kubeconfigPath);
      ready('neighbour pods', true);
    }
    const kafka = kafkaLibDir ? { libDir: kafkaLibDir, dir, classArchive: kafkaClassArchive } : undefined;
    const metrics = await startMetricsComponents({ ...options, dir }, kafka, started, ready);
    const plane = {
      kubeconfigPath: api.kubeconfigPath,
      apiServerUrl: api.url,
      adminToken: api.adminToken,
      caFile: api.caFile,
      dir,
      ...(api.auditLogPath ? { auditLogPath: api.auditLogPath } : {}),
      ...metrics,
      processes: started,
      readyAfterMs,
      stop: () => stopInReverse(started),
      restartApiServer: async (restart: RestartOptions = {}) => {
        const t0 = performance.now();
        const index = started.indexOf(api.process);
        const { process, stopMs, startMs } = await restartApiServer(api, binDir, dir, etcd.url, restart);
        api.process = process;
        if (index >= 0) started[index] = process;
        return { pid: process.pid, unavailableMs: Math.round(performance.now() - t0), stopMs, startMs };
      },
    };
    return { ...plane, env: () => envOf(plane, withControllers) };
  } catch (err) {
    // Also the component that failed to become ready; its log stays in dir for the post-mortem.
    await stopInReverse(liveProcesses().filter((p) => !alreadyRunning.has(p)));
    throw err;
  }
}

type MetricsFields = Pick<
  TestPlane,
  'kafkaBootstrap' | 'exporterUrl' | 'prometheusUrl' | 'prometheusFileSdDir'
>;

/**
 * Kafka → kafka_exporter, and Prometheus. Prometheus starts first, on the exporter's port chosen
 * in advance, so that its ~5 s discovery batching overlaps the broker's start-up instead of
 * following it; the plane is ready once it has scraped the exporter.
 */
async function startMetricsComponents(
  options: TestPlaneOptions & { dir: string },
  kafkaParams: KafkaParams | undefined,
  started: ManagedProcess[],
  ready: <T>(name: string, value: T) => T,
): Promise<MetricsFields> {
  const { dir } = options;
  const fields: MetricsFields = {};
  const exporterPort = kafkaParams !== undefined ? await freePort() : undefined;
  let prometheus: PrometheusServer | undefined;
  if (options.withPrometheus) {
    prometheus = ready(
      'prometheus',
      await startPrometheus({
        dir,
        ...(exporterPort !== undefined ? { exporterAddress: `127.0.0.1:${exporterPort}` } : {}),
        ...(options.prometheusTargets ? { scrapeTargets: options.prometheusTargets } : {}),
      }),
    );
    started.push(prometheus.process);
    fields.prometheusUrl = prometheus.url;
    fields.prometheusFileSdDir = prometheus.fileSdDir;
  }
  if (kafkaParams !== undefined) {
    const kafka = ready('kafka', await startKafka(kafkaParams));
    started.push(kafka.process);
    fields.kafkaBootstrap = kafka.bootstrap;
    const exporter = ready(
      'kafka-exporter',
      await startKafkaExporter({ dir, kafkaBootstrap: kafka.bootstrap, port: exporterPort }),
    );
    started.push(exporter.process);
    fields.exporterUrl = exporter.url;
    if (prometheus)
      ready('prometheus scraping kafka-exporter', await waitForScrape(prometheus, KAFKA_EXPORTER_JOB));
  }
  return fields;
}

/**
 * A reused dir (e.g. `cli.ts up` twice) starts from an empty etcd. Only names the plane itself
 * writes are removed, so a mistaken --dir cannot wipe anything else.
 */
function removePreviousState(dir: string): void {
  for (const name of [
    'etcd',
    'certs',
    'kafka',
    'kafka-cds',
    'prometheus',
    'env.json',
    'audit.log',
    ...COMPONENT_LOGS,
  ]) {
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}

const COMPONENT_LOGS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
  'kafka',
  'kafka-exporter',
  'prometheus',
].map((name) => `${name}.log`);

/** The ServiceAccount admission plugin refuses pods in a namespace until its `default` SA exists. */
async function waitForDefaultServiceAccount(kubeconfigPath: string, namespace: string): Promise<void> {
  const core = coreApi(kubeconfigPath);
  await waitFor(
    `serviceaccount ${namespace}/default`,
    () => core.readNamespacedServiceAccount({ name: 'default', namespace }),
    {
      timeoutMs: 60_000,
    },
  );
}

async function stopInReverse(processes: readonly ManagedProcess[]): Promise<void> {
  for (const p of [...processes].reverse()) await p.stop();
}

function envOf(plane: Omit<TestPlane, 'env'>, withControllers: boolean): TestPlaneEnv {
  return {
    kubeconfigPath: plane.kubeconfigPath,
    apiServerUrl: plane.apiServerUrl,
    adminToken: plane.adminToken,
    caFile: plane.caFile,
    dir: plane.dir,
    withControllers,
    ...(withControllers ? { nodeName: FAKE_NODE_NAME } : {}),
    ...(plane.kafkaBootstrap ? { kafkaBootstrap: plane.kafkaBootstrap } : {}),
    ...(plane.exporterUrl ? { exporterUrl: plane.exporterUrl } : {}),
    ...(plane.prometheusUrl ? { prometheusUrl: plane.prometheusUrl } : {}),
    ...(plane.prometheusFileSdDir ? { prometheusFileSdDir: plane.prometheusFileSdDir } : {}),
    ...(plane.auditLogPath ? { auditLogPath: plane.auditLogPath } : {}),
    pids: Object.fromEntries(plane.processes.map((p) => [p.name, p.pid])),
  };
}
