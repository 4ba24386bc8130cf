// Installs the Consumer CRD into the test plane. Every test file that needs Consumers calls
// installCrd() first: the apply is server-side with force, so calling it again (from the same or
// another test process) changes nothing when the CRD is already there and up to date. The apply
// is the raw request of `konsumerator demo` (the typed client would drop `x-kubernetes-*` keys).
import { ApiextensionsV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { consumerCrd } from '../../src/api/crd.js';
import { CRD_NAME } from '../../src/api/constants.js';
import { applyRaw } from '../../src/cli/install.js';
import { waitFor as poll } from '../../src/testplane/wait.js';

export const TEST_FIELD_MANAGER = 'konsumerator-tests';

/**
 * Server-side applies the CRD of src/api/crd.ts (or `crd`) as `fieldManager` and waits for its
 * Established condition.
 */
export async function installCrd(
  kubeConfig: KubeConfig,
  fieldManager = TEST_FIELD_MANAGER,
  crd: KubernetesObject = consumerCrd() as KubernetesObject,
): Promise<void> {
  let refusal: Error | undefined;
  await poll(
    `server-side apply of CRD ${CRD_NAME}`,
    async () => {
      try {
        await applyRaw(kubeConfig, crd, fieldManager);
        return true;
      } catch (err) {
        // 409 (a concurrent writer), 429 and 5xx may pass; a refusal of the CRD itself will not.
        const code = (err as { code?: number }).code;
        if (code !== undefined && code < 500 && code !== 409 && code !== 429) {
          refusal = err as Error;
          return false;
        }
        throw err;
      }
    },
    { timeoutMs: 30_000 },
  ).then((applied) => {
    if (!applied) throw new Error(`the API server refused CRD ${CRD_NAME}: ${refusal?.message}`);
  });
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  await poll(
    `CRD ${CRD_NAME} Established`,
    async () => {
      const current = await api.readCustomResourceDefinition({ name: CRD_NAME });
      const established = current.status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
      return established ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}
