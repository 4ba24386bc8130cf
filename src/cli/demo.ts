// `konsumerator demo`: the operator live. With no cluster configured it starts a real local
// control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) and a Kafka broker,
// produces a skewed load into a topic and runs a simulated consumer group whose instances consume
// at the speed of the CPU the operator gives them: lagging partitions get more CPU, idle ones
// shrink, and the hot spot moves after 90 s.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { KafkaAdmin } from '../kafka/client.js';
import { Operator } from '../controller/operator.js';
import { createLogger } from '../util/log.js';
import { GROUP, PLURAL, VERSION } from '../api/constants.js';
import type { Consumer } from '../api/schema.js';
import { ensureBinaries, ensureTool, startTestPlane, type TestPlane } from '../testplane/index.js';
import { REPO_ROOT } from '../testplane/binaries.js';
import { onShutdown } from '../testplane/process.js';
import { runConsumerGroup, runLoad, type ConsumerGroupTick } from '../loadgen/index.js';
import { clusterIsConfigured, loadKubeConfig } from './kubeconfig.js';
import { applyObjects, installCrd } from './install.js';
import {
  DEMO_LOAD,
  DEMO_PARTITIONS,
  DEMO_RATE_PER_CORE,
  demoConsumerSpec,
  type DemoMetrics,
} from './demo-consumer.js';
import { demoCommands } from './demo-commands.js';
import { renderConsumer, renderInstances } from './table.js';
import { VERSION as BINARY_VERSION } from './version.js';
import { parseDuration } from '../util/units.js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { EndpointPolicy } from '../net/endpoint-policy.js';

export interface DemoOptions {
  kubeconfig?: string;
  local?: boolean;
  kafka?: boolean;
  kafkaBootstrap?: string;
  namespace: string;
  duration?: string;
  logLevel: string;
}

const TOPIC = 'orders';
const GROUP_ID = 'orders-consumer';

interface Connection {
  kubeConfig: KubeConfig;
  plane?: TestPlane;
  bootstrap?: string;
  /** How to run kubectl against this cluster: its path and the kubeconfig, when not the default. */
  kubectl: { path: string; kubeconfig?: string };
}

/** kubectl built from Go modules and cached like the plane; `kubectl` from the PATH if that fails. */
async function builtKubectl(): Promise<string> {
  try {
    return await ensureTool('kubectl');
  } catch (error) {
    console.log(
      `(kubectl could not be built: ${(error as Error).message}; the commands below use the one on your PATH)`,
    );
    return 'kubectl';
  }
}

async function connect(options: DemoOptions): Promise<Connection> {
  if (!options.local && clusterIsConfigured(options.kubeconfig)) {
    console.log('Using the configured cluster (pass --local for a local control plane).');
    return {
      kubeConfig: loadKubeConfig(options.kubeconfig),
      ...(options.kafkaBootstrap ? { bootstrap: options.kafkaBootstrap } : {}),
      kubectl: { path: 'kubectl', ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}) },
    };
  }
  const withKafka = options.kafka !== false;
  console.log(
    `No cluster configured: starting a local control plane${withKafka ? ' and a Kafka broker' : ''} (built once, cached)…`,
  );
  const binDir = await ensureBinaries();
  // Built (once) while the plane starts: the demo prints kubectl commands to paste.
  const kubectl = builtKubectl();
  const started = performance.now();
  const dir = join(REPO_ROOT, '.testplane', 'demo');
  rmSync(dir, { recursive: true, force: true }); // every demo starts from an empty cluster
  const plane = await startTestPlane({ dir, binDir, withKafka });
  console.log(`Up in ${((performance.now() - started) / 1000).toFixed(1)} s: ${plane.apiServerUrl}`);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(plane.kubeconfigPath);
  return {
    kubeConfig,
    plane,
    ...(plane.kafkaBootstrap ? { bootstrap: plane.kafkaBootstrap } : {}),
    kubectl: { path: await kubectl, kubeconfig: plane.kubeconfigPath },
  };
}

/**
 * The operator's endpoint policy denies loopback and link-local addresses by default; the demo's
 * broker is usually on this machine (127.0.0.1), so the demo allows exactly its address and port.
 */
async function demoEndpointPolicy(bootstrap: string | undefined): Promise<EndpointPolicy> {
  if (!bootstrap) return new EndpointPolicy();
  const colon = bootstrap.lastIndexOf(':');
  const host = bootstrap.slice(0, colon);
  const port = bootstrap.slice(colon + 1);
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  return EndpointPolicy.fromFlags(
    addresses.map((a) => `${isIP(a) === 6 ? `[${a}]` : a}:${port}`),
    [],
  );
}

async function createTopic(bootstrap: string): Promise<void> {
  const admin = new KafkaAdmin({ clientId: 'konsumerator-demo', brokers: [bootstrap] });
  try {
    await admin.createTopic(TOPIC, DEMO_PARTITIONS);
  } finally {
    await admin.close();
  }
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const { kubeConfig, plane, bootstrap, kubectl } = await connect(options);
  const abort = new AbortController();
  let operator: Operator | undefined;
  const background: Promise<unknown>[] = [];
  const stop = async () => {
    abort.abort();
    await Promise.allSettled(background);
    await operator?.stop();
    await plane?.stop();
  };
  onShutdown(stop);
  try {
    await installCrd(kubeConfig);
    const namespace = options.namespace;
    await applyObjects(kubeConfig, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }]);
    const metrics: DemoMetrics = bootstrap
      ? { kafka: { brokers: [bootstrap], topic: TOPIC, groupId: GROUP_ID } }
      : { static: true };
    if (bootstrap) await createTopic(bootstrap);
    await applyObjects(kubeConfig, [
      {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Consumer',
        metadata: { name: 'orders', namespace },
        spec: demoConsumerSpec(namespace, metrics),
      } as Consumer as never,
    ]);
    console.log(
      `Applied Consumer ${namespace}/orders: ${DEMO_PARTITIONS} partitions, 2 per instance, metrics from ${bootstrap ? `Kafka (${bootstrap})` : 'the spec (static)'}.`,
    );
    operator = new Operator({
      kubeConfig,
      log: createLogger(options.logLevel),
      version: BINARY_VERSION,
      metricsAddress: '127.0.0.1:0',
      endpointPolicy: await demoEndpointPolicy(bootstrap),
    });
    await operator.start();
    console.log(
      `Operator running; metrics on http://127.0.0.1:${operator.metricsPort}/metrics. Ctrl-C to stop.`,
    );
    const commands = demoCommands({
      kubectl: kubectl.path,
      ...(kubectl.kubeconfig ? { kubeconfig: kubectl.kubeconfig } : {}),
      namespace,
      consumer: 'orders',
    });
    console.log(
      `Look at it from another terminal (paste a line):\n${commands.map((c) => `  ${c}`).join('\n')}\n`,
    );
    const durationMs = options.duration ? parseDuration(options.duration) : undefined;
    let lastTick: ConsumerGroupTick | undefined;
    if (bootstrap) {
      console.log(
        `Load: ${DEMO_LOAD.rates.join(', ')} msg/s per partition; after 90 s partition 0 cools down and partition 4 heats up.`,
      );
      console.log(
        `Each simulated instance consumes ${DEMO_RATE_PER_CORE} msg/s per core of its CPU request.\n`,
      );
      const seconds = durationMs !== undefined ? durationMs / 1000 : 24 * 3600;
      background.push(
        runLoad({
          brokers: [bootstrap],
          topic: TOPIC,
          rate: DEMO_LOAD,
          durationSeconds: seconds,
          maxMessages: 1e9,
          signal: abort.signal,
        }),
      );
      background.push(
        runConsumerGroup({
          brokers: [bootstrap],
          groupId: GROUP_ID,
          topic: TOPIC,
          ratePerCore: DEMO_RATE_PER_CORE,
          kubernetes: { kubeConfig, namespace },
          durationSeconds: seconds,
          signal: abort.signal,
          onTick: (tick) => (lastTick = tick),
        }),
      );
    }
    const until = durationMs !== undefined ? Date.now() + durationMs : Infinity;
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    while (!abort.signal.aborted && Date.now() < until) {
      const consumer = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name: 'orders',
      })) as Consumer;
      const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
      const pods = (await core.listNamespacedPod({ namespace })).items;
      const lag = lastTick ? new Map(lastTick.lag.map((l, p) => [p, l])) : undefined;
      console.log(
        `${new Date().toISOString()}\n${renderConsumer(consumer)}\n${renderInstances(deployments, pods, lag)}\n`,
      );
      await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(0, until - Date.now()))));
    }
  } finally {
    await stop();
  }
}
