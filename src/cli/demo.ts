// `konsumerator demo`: the operator live. With no cluster configured it starts a real local
// control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) first.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { Operator } from '../controller/operator.js';
import { createLogger } from '../util/log.js';
import { GROUP, PLURAL, VERSION } from '../api/constants.js';
import type { Consumer } from '../api/schema.js';
import { ensureBinaries, startTestPlane, type TestPlane } from '../testplane/index.js';
import { REPO_ROOT } from '../testplane/binaries.js';
import { onShutdown } from '../testplane/process.js';
import { clusterIsConfigured, loadKubeConfig } from './kubeconfig.js';
import { applyObjects, installCrd } from './install.js';
import { demoConsumerSpec } from './demo-consumer.js';
import { renderInstances, renderConsumer } from './table.js';
import { VERSION as BINARY_VERSION } from './version.js';
import { parseDuration } from '../api/units.js';

export interface DemoOptions {
  kubeconfig?: string;
  local?: boolean;
  namespace: string;
  duration?: string;
  logLevel: string;
}

async function connect(options: DemoOptions): Promise<{ kubeConfig: KubeConfig; plane?: TestPlane }> {
  if (!options.local && clusterIsConfigured(options.kubeconfig)) {
    console.log('Using the configured cluster (pass --local for a local control plane).');
    return { kubeConfig: loadKubeConfig(options.kubeconfig) };
  }
  console.log('No cluster configured: building (once, cached) and starting a local control plane…');
  const binDir = await ensureBinaries();
  const started = performance.now();
  const dir = join(REPO_ROOT, '.testplane', 'demo');
  rmSync(dir, { recursive: true, force: true }); // every demo starts from an empty cluster
  const plane = await startTestPlane({ dir, binDir });
  console.log(
    `Control plane up in ${((performance.now() - started) / 1000).toFixed(1)} s: ${plane.apiServerUrl}`,
  );
  console.log(`  export KUBECONFIG=${plane.kubeconfigPath}`);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(plane.kubeconfigPath);
  return { kubeConfig, plane };
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const { kubeConfig, plane } = await connect(options);
  let operator: Operator | undefined;
  let stopping = false;
  const stop = async () => {
    stopping = true;
    await operator?.stop();
    await plane?.stop();
  };
  onShutdown(stop);
  try {
    await installCrd(kubeConfig);
    const namespace = options.namespace;
    await applyObjects(kubeConfig, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }]);
    await applyObjects(kubeConfig, [
      {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Consumer',
        metadata: { name: 'orders', namespace },
        spec: demoConsumerSpec(namespace),
      } as Consumer as never,
    ]);
    console.log(`Applied Consumer ${namespace}/orders: 10 partitions, 3 per instance.`);
    operator = new Operator({
      kubeConfig,
      log: createLogger(options.logLevel),
      version: BINARY_VERSION,
      metricsAddress: '127.0.0.1:0',
    });
    await operator.start();
    console.log(
      `Operator running; metrics on http://127.0.0.1:${operator.metricsPort}/metrics. Ctrl-C to stop.\n`,
    );
    const until = options.duration ? Date.now() + parseDuration(options.duration) : Infinity;
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    while (!stopping && Date.now() < until) {
      const consumer = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name: 'orders',
      })) as Consumer;
      const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
      const pods = (await core.listNamespacedPod({ namespace })).items;
      console.log(
        `${new Date().toISOString()}\n${renderConsumer(consumer)}\n${renderInstances(deployments, pods)}\n`,
      );
      await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(0, until - Date.now()))));
    }
  } finally {
    await stop();
  }
}
