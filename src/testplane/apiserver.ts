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

export async function startApiServer(
  binDir: string,
  dir: string,
  etcdUrl: string,
  options: ApiServerOptions = {},
): Promise<ApiServer> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const certDir = join(dir, 'certs');
  const caFile = join(certDir, 'apiserver.crt');
  const serviceAccountKeyFile = join(dir, 'sa.key');
  const tokenFile = join(dir, 'tokens.csv');
  const kubeconfigPath = join(dir, 'admin.kubeconfig');

  writeServiceAccountKey(serviceAccountKeyFile);
  const adminToken = writeAdminTokenFile(tokenFile);
  writeKubeconfig(kubeconfigPath, { server: url, token: adminToken, caFile });
  const auditLogPath = options.auditLog ? join(dir, 'audit.log') : undefined;
  const auditArgs: string[] = [];
  if (auditLogPath) {
    const policyFile = join(dir, 'audit-policy.json');
    writeFileSync(policyFile, auditPolicy(AUDITED_NAMESPACE));
    // The log backend writes each event before the request completes (blocking mode).
    auditArgs.push(
      `--audit-policy-file=${policyFile}`,
      `--audit-log-path=${auditLogPath}`,
      '--audit-log-format=json',
    );
  }

  const process = startProcess({
    name: 'kube-apiserver',
    command: join(binDir, 'kube-apiserver'),
    args: [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      // Without it the apiserver looks for a host interface with a default route and may fail.
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      // No --tls-cert-file: the apiserver generates a self-signed apiserver.crt/.key here.
      `--cert-dir=${certDir}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${serviceAccountKeyFile}`,
      `--service-account-signing-key-file=${serviceAccountKeyFile}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      // Do not try to publish 127.0.0.1 as the endpoint of the `kubernetes` Service.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      ...auditArgs,
    ],
    logFile: join(dir, 'kube-apiserver.log'),
  });

  const opts = { process, timeoutMs: 120_000 };
  // The certificate file appears shortly before the port opens; read it on every try.
  await waitFor('kube-apiserver /readyz', () => isOk(`${url}/readyz`, readFileSync(caFile)), opts);
  const core = coreApi(kubeconfigPath);
  await waitFor('namespace default', () => core.readNamespace({ name: 'default' }), opts);
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
