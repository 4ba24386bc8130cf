import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfigPath: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  return config;
}

export function coreApi(kubeconfigPath: string): CoreV1Api {
  return loadKubeConfig(kubeconfigPath).makeApiClient(CoreV1Api);
}
