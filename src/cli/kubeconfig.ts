import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** True when a cluster is configured: an explicit path, $KUBECONFIG, ~/.kube/config or in-cluster. */
export function clusterIsConfigured(path?: string): boolean {
  return Boolean(
    path ||
    process.env.KUBECONFIG ||
    existsSync(join(homedir(), '.kube', 'config')) ||
    process.env.KUBERNETES_SERVICE_HOST,
  );
}

/** Loads the explicit kubeconfig, else the default chain ($KUBECONFIG, ~/.kube/config, in-cluster). */
export function loadKubeConfig(path?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  if (!kubeConfig.getCurrentCluster())
    throw new Error('no Kubernetes cluster configured (use --kubeconfig or $KUBECONFIG)');
  return kubeConfig;
}
