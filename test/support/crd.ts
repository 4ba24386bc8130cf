// Installs the Consumer CRD into the test plane (idempotent: server-side apply, then waits for
// the Established condition). Uses the same code as `konsumerator demo`.
import type { KubeConfig } from '@kubernetes/client-node';
import { installCrd as install } from '../../src/cli/install.js';

export async function installCrd(kubeConfig: KubeConfig): Promise<void> {
  await install(kubeConfig, 'konsumerator-tests');
}
