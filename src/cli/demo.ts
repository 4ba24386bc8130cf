// `konsumerator demo`: the operator live. By default it starts a real local control plane (etcd,
// kube-apiserver, controller-manager, scheduler, kwok) and a Kafka broker, produces a skewed load
// into a topic and runs a simulated consumer group whose instances consume at the speed of the
// CPU the operator gives them: lagging partitions get more CPU, idle ones shrink, and the hot spot
// moves after 90 s.
//
// A real cluster is used only when asked for (--cluster or --kubeconfig), and then the demo keeps
// to a namespace it created: it installs no CRD, its operator runs in guest mode (the Consumer is
// a ConfigMap of that namespace, nothing outside it is watched or written), and its Kafka topic
// must be new.
import { lookup } from 'node:dns/promises';
import { rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { KafkaAdmin } from '../kafka/client.js';
import { Operator } from '../controller/operator.js';
import { createLogger } from '../util/log.js';
import { GROUP, PLURAL, VERSION } from '../api/constants.js';
import { consumerFromConfigMap, GuestAnnotation } from '../api/guest.js';
import type { Consumer } from '../api/schema.js';
import { ensureBinaries, ensureTool, startTestPlane, type TestPlane } from '../testplane/index.js';
import { REPO_ROOT } from '../testplane/binaries.js';
import { onShutdown } from '../testplane/process.js';
import { runConsumerGroup, runLoad, type ConsumerGroupTick } from '../loadgen/index.js';
import { loadKubeConfig } from './kubeconfig.js';
import { demoCommands } from './demo-commands.js';
import { EndpointPolicy } from '../net/endpoint-policy.js';
import { claimDemoNamespace, refuseExistingTopic } from './try-it-guards.js';
import { applyObjects, installCrd } from './install.js';
import {
  DEMO_LOAD,
  DEMO_PARTITIONS,
  DEMO_RATE_PER_CORE,
  demoConsumerSpec,
  type DemoMetrics,
} from './demo-consumer.js';
import { instanceSize, renderConsumer, renderInstances, sizeChanges, type InstanceSize } from './table.js';
import { scaledContainer } from '../api/resolve.js';
import { VERSION as BINARY_VERSION } from './version.js';
import { parseDuration } from '../util/units.js';

export interface DemoOptions {
  /** Use the configured cluster ($KUBECONFIG, ~/.kube/config, in-cluster) instead of a local plane. */
  cluster?: boolean;
  /** Use the cluster of this kubeconfig (implies `cluster`). */
  kubeconfig?: string;
  kafka?: boolean;
  kafkaBootstrap?: string;
  /** The topic of the live load on a cluster's Kafka (it must not exist yet). */
  topic?: string;
  namespace: string;
  duration?: string;
  logLevel: string;
}

/** The local plane's topic; on a real Kafka the topic is --topic (default DEMO_CLUSTER_TOPIC). */
const LOCAL_TOPIC = 'orders';
export const DEMO_CLUSTER_TOPIC = 'konsumerator-demo-orders';
const CONSUMER_NAME = 'orders';

interface Connection {
  kubeConfig: KubeConfig;
  plane?: TestPlane;
  bootstrap?: string;
  /** A real cluster: guest mode in the demo's own namespace. */
  guest: boolean;
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

/** A real cluster is used only when asked for explicitly. */
export const wantsCluster = (options: Pick<DemoOptions, 'cluster' | 'kubeconfig'>) =>
  Boolean(options.cluster || options.kubeconfig);

async function connect(options: DemoOptions): Promise<Connection> {
  if (wantsCluster(options)) {
    const kubeConfig = loadKubeConfig(options.kubeconfig);
    console.log(
      `Using the cluster ${kubeConfig.getCurrentCluster()?.server}: only the namespace ${options.namespace}, ` +
        'with a namespace-scoped operator (guest mode); no CRD is installed.',
    );
    return {
      kubeConfig,
      guest: true,
      ...(options.kafkaBootstrap ? { bootstrap: options.kafkaBootstrap } : {}),
      kubectl: { path: 'kubectl', ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}) },
    };
  }
  if (options.kafkaBootstrap)
    throw new Error('--kafka-bootstrap needs --cluster (the local plane has its own broker)');
  const withKafka = options.kafka !== false;
  console.log(
    `Starting a local control plane${withKafka ? ' and a Kafka broker' : ''} (built once, cached; --cluster uses your cluster)…`,
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
    guest: false,
    ...(plane.kafkaBootstrap ? { bootstrap: plane.kafkaBootstrap } : {}),
    kubectl: { path: await kubectl, kubeconfig: plane.kubeconfigPath },
  };
}

/** Creates the demo's topic; on a real Kafka an existing topic is refused, never written to. */
async function createTopic(bootstrap: string, topic: string, mustBeNew: boolean): Promise<void> {
  const admin = new KafkaAdmin({ clientId: 'konsumerator-demo', brokers: [bootstrap] });
  try {
    if (mustBeNew) await refuseExistingTopic(admin, topic);
    await admin.createTopic(topic, DEMO_PARTITIONS);
  } finally {
    await admin.close();
  }
}

/** The demo Consumer as the object to apply: a Consumer resource, or in guest mode a ConfigMap. */
function consumerObject(namespace: string, spec: Consumer['spec'], guest: boolean): KubernetesObject {
  if (guest) {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: CONSUMER_NAME, namespace, annotations: { [GuestAnnotation.managed]: 'true' } },
      data: { 'consumer.yaml': JSON.stringify(spec, null, 2) },
    } as KubernetesObject;
  }
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Consumer',
    metadata: { name: CONSUMER_NAME, namespace },
    spec,
  } as Consumer as KubernetesObject;
}

async function readConsumer(kubeConfig: KubeConfig, namespace: string, guest: boolean): Promise<Consumer> {
  if (guest) {
    const configMap = await kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: CONSUMER_NAME, namespace });
    return consumerFromConfigMap(configMap).consumer;
  }
  return (await kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace,
    name: CONSUMER_NAME,
  })) as Consumer;
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const { kubeConfig, plane, bootstrap, guest, kubectl } = await connect(options);
  const topic = guest ? (options.topic ?? DEMO_CLUSTER_TOPIC) : LOCAL_TOPIC;
  const groupId = `${topic}-consumer`;
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
    const namespace = options.namespace;
    if (guest) {
      const claimed = await claimDemoNamespace(kubeConfig, namespace);
      console.log(`Namespace ${namespace} ${claimed === 'created' ? 'created' : "reused (the demo's own)"}.`);
    } else {
      await installCrd(kubeConfig);
      await applyObjects(kubeConfig, [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
      ]);
    }
    const metrics: DemoMetrics = bootstrap
      ? { kafka: { brokers: [bootstrap], topic, groupId } }
      : { static: true };
    if (bootstrap) await createTopic(bootstrap, topic, guest);
    await applyObjects(kubeConfig, [consumerObject(namespace, demoConsumerSpec(namespace, metrics), guest)]);
    console.log(
      `Applied ${guest ? 'the ConfigMap' : 'Consumer'} ${namespace}/${CONSUMER_NAME}: ${DEMO_PARTITIONS} partitions, 2 per instance, metrics from ${bootstrap ? `Kafka (${bootstrap}, topic ${topic})` : 'the spec (static)'}.`,
    );
    if (guest)
      console.log(
        `Afterwards, \`kubectl delete namespace ${namespace}\` removes everything the demo made in the cluster.`,
      );
    operator = new Operator({
      kubeConfig,
      log: createLogger(options.logLevel),
      version: BINARY_VERSION,
      metricsAddress: '127.0.0.1:0',
      endpointPolicy: await demoEndpointPolicy(bootstrap),
      ...(guest ? { namespace } : {}),
    });
    await operator.start();
    console.log(
      `Operator running; metrics on http://127.0.0.1:${operator.metricsPort}/metrics. Ctrl-C to stop.`,
    );
    const commands = demoCommands({
      kubectl: kubectl.path,
      ...(kubectl.kubeconfig ? { kubeconfig: kubectl.kubeconfig } : {}),
      namespace,
      consumer: CONSUMER_NAME,
      guest,
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
          topic,
          rate: DEMO_LOAD,
          durationSeconds: seconds,
          maxMessages: 1e9,
          signal: abort.signal,
        }),
      );
      background.push(
        runConsumerGroup({
          brokers: [bootstrap],
          groupId,
          topic,
          ratePerCore: DEMO_RATE_PER_CORE,
          kubernetes: { kubeConfig, namespace },
          durationSeconds: seconds,
          signal: abort.signal,
          onTick: (tick) => (lastTick = tick),
        }),
      );
    }
    const until = durationMs !== undefined ? Date.now() + durationMs : Infinity;
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    // The whole table once the instances exist; from then on, each instance's size or state
    // change as it happens (and the Consumer's counters when they change).
    let sizes: Map<string, InstanceSize> | undefined;
    let summary = '';
    while (!abort.signal.aborted && Date.now() < until) {
      const consumer = await readConsumer(kubeConfig, namespace, guest);
      const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
      const container = scaledContainer(consumer.spec);
      const time = new Date().toISOString().slice(11, 19);
      if (sizes === undefined) {
        if (deployments.length > 0) {
          const pods = (await core.listNamespacedPod({ namespace })).items;
          const lag = lastTick ? new Map(lastTick.lag.map((l, p) => [p, l])) : undefined;
          console.log(`${time}\n${renderInstances(deployments, pods, lag, container)}\n`);
          sizes = new Map(deployments.map((d) => [d.metadata!.name!, instanceSize(d, container)]));
        }
      } else {
        const now = new Map(deployments.map((d) => [d.metadata!.name!, instanceSize(d, container)]));
        for (const line of sizeChanges(sizes, now)) console.log(`${time}  ${line}`);
        sizes = now;
      }
      const counts = renderConsumer(consumer);
      if (counts !== summary) console.log(`${time}\n${counts}\n`);
      summary = counts;
      await new Promise((r) => setTimeout(r, Math.min(2000, Math.max(0, until - Date.now()))));
    }
  } finally {
    await stop();
  }
}
