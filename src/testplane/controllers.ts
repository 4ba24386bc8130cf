// kube-controller-manager and kube-scheduler: what turns Deployments into ReplicaSets into bound
// Pods, and what garbage-collects dependents.
import { join } from 'node:path';
import { isOk } from './http.js';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

export interface ControllerParams {
  binDir: string;
  dir: string;
  kubeconfigPath: string;
  serviceAccountKeyFile: string;
  caFile: string;
}

/** `qps`: its client's requests per second (burst twice that); undefined: its default (20). */
export async function startControllerManager(p: ControllerParams, qps?: number): Promise<ManagedProcess> {
  return startComponent(p, 'kube-controller-manager', [
    // Signs the tokens of the legacy token controller; the root CA goes into kube-root-ca.crt.
    `--service-account-private-key-file=${p.serviceAccountKeyFile}`,
    `--root-ca-file=${p.caFile}`,
    ...(qps !== undefined ? [`--kube-api-qps=${qps}`, `--kube-api-burst=${2 * qps}`] : []),
  ]);
}

export async function startScheduler(p: ControllerParams): Promise<ManagedProcess> {
  return startComponent(p, 'kube-scheduler', []);
}

/** Both components share the same flags for client access, serving and leader election. */
async function startComponent(
  p: ControllerParams,
  name: string,
  extraArgs: string[],
): Promise<ManagedProcess> {
  const port = await freePort();
  const process = startProcess({
    name,
    command: join(p.binDir, name),
    args: [
      `--kubeconfig=${p.kubeconfigPath}`,
      `--authentication-kubeconfig=${p.kubeconfigPath}`,
      `--authorization-kubeconfig=${p.kubeconfigPath}`,
      // Both default to 0.0.0.0.
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--leader-elect=false',
      ...extraArgs,
    ],
    logFile: join(p.dir, `${name}.log`),
  });
  // Self-signed serving certificate: probe without verification.
  await waitFor(`${name} /healthz`, () => isOk(`https://127.0.0.1:${port}/healthz`), {
    process,
    timeoutMs: 60_000,
  });
  return process;
}
