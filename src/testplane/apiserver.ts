import { readFileSync } from 'node:fs';
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
}

export async function startApiServer(binDir: string, dir: string, etcdUrl: string): Promise<ApiServer> {
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
    ],
    logFile: join(dir, 'kube-apiserver.log'),
  });

  const opts = { process, timeoutMs: 120_000 };
  // The certificate file appears shortly before the port opens; read it on every try.
  await waitFor('kube-apiserver /readyz', () => isOk(`${url}/readyz`, readFileSync(caFile)), opts);
  const core = coreApi(kubeconfigPath);
  await waitFor('namespace default', () => core.readNamespace({ name: 'default' }), opts);
  return { process, url, adminToken, caFile, kubeconfigPath, serviceAccountKeyFile };
}
