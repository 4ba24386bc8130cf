// The operator's own identity on the test plane: its Namespace, ServiceAccount, ClusterRole and
// binding exactly as `konsumerator manifests` ships them, and a KubeConfig that authenticates as
// that ServiceAccount with a token from the TokenRequest API.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { operatorManifests, OPERATOR_NAME } from '../../src/cli/manifests.js';
import { applyObjects } from '../../src/cli/install.js';
import { kubeConfig, testEnv } from './env.js';

export const OPERATOR_NAMESPACE = 'konsumerator-rbac-test';

export async function operatorServiceAccountConfig(namespace = OPERATOR_NAMESPACE): Promise<KubeConfig> {
  const admin = kubeConfig();
  const rbac = operatorManifests({ namespace, image: 'unused' }).filter((o) => o.kind !== 'Deployment');
  await applyObjects(admin, rbac, 'konsumerator-tests');
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: OPERATOR_NAME,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const env = testEnv();
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'plane', server: env.apiServerUrl, caFile: env.caFile }],
    users: [{ name: 'operator', token: token.status!.token }],
    contexts: [{ name: 'operator', cluster: 'plane', user: 'operator' }],
    currentContext: 'operator',
  });
  return config;
}
