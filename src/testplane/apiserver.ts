import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coreApi } from './client.js';
import { writeAdminTokenFile, writeKubeconfig, writeServiceAccountKey } from './credentials.js';
import { isOk } from './http.js';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

export interface ApiServer {
  process: ManagedProcess;
  url: string;
  adminToken: string;
  /** The self-signed certificate (and its CA) that the apiserver writes into its --cert-dir. */
  caFile: string;
  kubeconfigPath: string;
  serviceAccountKeyFile: string;
  /** With `auditLog`: the JSON-lines audit log (see AUDITED_NAMESPACE). */
  auditLogPath?: string;
}

/**
 * With `auditLog`, every request made by a ServiceAccount of this namespace is written to the
 * audit log at Metadata level (who, verb, object, times, response code); nobody else's are, so the
 * log stays small. Tests give each operator process its own ServiceAccount here to tell them apart.
 */
export const AUDITED_NAMESPACE = 'konsumerator-audited';

const auditPolicy = (namespace: string) =>
  JSON.stringify({
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [{ level: 'Metadata', userGroups: [`system:serviceaccounts:${namespace}`] }, { level: 'None' }],
  });

export interface ApiServerOptions {
  /** Write an audit log of the requests of AUDITED_NAMESPACE's ServiceAccounts. */
  auditLog?: boolean;
}

interface Launch {
  binDir: string;
  dir: string;
  etcdUrl: string;
  port: number;
  /** Extra flags, e.g. the audit log's. */
  extraArgs: readonly string[];
}

/** The audit-log flags (and the policy file they name), when the log is wanted. */
function auditFlags(dir: string, auditLogPath: string | undefined): string[] {
  if (!auditLogPath) return [];
  const policyFile = join(dir, 'audit-policy.json');
  writeFileSync(policyFile, auditPolicy(AUDITED_NAMESPACE));
  // The log backend writes each event before the request completes (blocking mode).
  return [`--audit-policy-file=${policyFile}`, `--audit-log-path=${auditLogPath}`, '--audit-log-format=json'];
}

export async function startApiServer(
  binDir: string,
  dir: string,
  etcdUrl: string,
  options: ApiServerOptions = {},
): Promise<ApiServer> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const caFile = join(dir, 'certs', 'apiserver.crt');
  const serviceAccountKeyFile = join(dir, 'sa.key');
  const kubeconfigPath = join(dir, 'admin.kubeconfig');

  writeServiceAccountKey(serviceAccountKeyFile);
  const adminToken = writeAdminTokenFile(join(dir, 'tokens.csv'));
  writeKubeconfig(kubeconfigPath, { server: url, token: adminToken, caFile });
  const auditLogPath = options.auditLog ? join(dir, 'audit.log') : undefined;
  const extraArgs = auditFlags(dir, auditLogPath);
  const process = await launchApiServer({ binDir, dir, etcdUrl, port, extraArgs });
  return {
    process,
    url,
    adminToken,
    caFile,
    kubeconfigPath,
    serviceAccountKeyFile,
    ...(auditLogPath ? { auditLogPath } : {}),
  };
}

export interface RestartOptions {
  /** How long it stays down between the old process's exit and the new one's start (default 0). */
  downMs?: number;
  /** SIGKILL (a crash) instead of SIGTERM (a graceful shutdown). */
  kill?: boolean;
}

/**
 * Stops the API server and starts it again on the same port with the same certificate, tokens
 * and etcd, as an upgrade or a crash of the control plane would. Resolves with the new process
 * once it is ready again.
 */
export async function restartApiServer(
  api: ApiServer,
  binDir: string,
  dir: string,
  etcdUrl: string,
  options: RestartOptions = {},
): Promise<{ process: ManagedProcess; stopMs: number; startMs: number }> {
  const t0 = performance.now();
  await api.process.stop(options.kill ? 0 : undefined);
  const stopMs = Math.round(performance.now() - t0);
  if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
  const port = Number(new URL(api.url).port);
  const t1 = performance.now();
  const extraArgs = auditFlags(dir, api.auditLogPath);
  const process = await launchApiServer({ binDir, dir, etcdUrl, port, extraArgs });
  return { process, stopMs, startMs: Math.round(performance.now() - t1) };
}

async function launchApiServer({ binDir, dir, etcdUrl, port, extraArgs }: Launch): Promise<ManagedProcess> {
  const url = `https://127.0.0.1:${port}`;
  const certDir = join(dir, 'certs');
  const caFile = join(certDir, 'apiserver.crt');
  const process = startProcess({
    name: 'kube-apiserver',
    command: join(binDir, 'kube-apiserver'),
    args: [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      // Without it the apiserver looks for a host interface with a default route and may fail.
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      // No --tls-cert-file: the apiserver generates a self-signed apiserver.crt/.key here (and
      // reuses them when it is restarted).
      `--cert-dir=${certDir}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.key')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      // Do not try to publish 127.0.0.1 as the endpoint of the `kubernetes` Service.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      ...extraArgs,
    ],
    logFile: join(dir, 'kube-apiserver.log'),
  });

  const opts = { process, timeoutMs: 120_000 };
  // The certificate file appears shortly before the port opens; read it on every try.
  await waitFor('kube-apiserver /readyz', () => isOk(`${url}/readyz`, readFileSync(caFile)), opts);
  const core = coreApi(join(dir, 'admin.kubeconfig'));
  await waitFor('namespace default', () => core.readNamespace({ name: 'default' }), opts);
  return process;
}
