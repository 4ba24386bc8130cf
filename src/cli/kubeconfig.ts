import { KubeConfig } from '@kubernetes/client-node';

/** Loads the explicit kubeconfig, else the default chain ($KUBECONFIG, ~/.kube/config, in-cluster). */
export function loadKubeConfig(path?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  if (!kubeConfig.getCurrentCluster())
    throw new Error('no Kubernetes cluster configured (use --kubeconfig or $KUBECONFIG)');
  return kubeConfig;
}
