import { join } from 'node:path';
import { freePorts } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { httpGet } from './http.js';
import { waitFor } from './wait.js';

export interface Etcd {
  process: ManagedProcess;
  /** Client URL, e.g. http://127.0.0.1:40123 */
  url: string;
}

export async function startEtcd(binDir: string, dir: string): Promise<Etcd> {
  const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
  const url = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const process = startProcess({
    name: 'etcd',
    command: join(binDir, 'etcd'),
    args: [
      '--name=testplane',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=testplane=${peerUrl}`,
      // Throw-away data: skip fsync like Kubernetes' own test etcd (NewTestConfig) does.
      '--unsafe-no-fsync',
      '--log-level=warn',
      // What upstream clusters set; the apiserver's watch cache relies on progress notifications.
      '--watch-progress-notify-interval=5s',
    ],
    logFile: join(dir, 'etcd.log'),
  });
  await waitFor('etcd /health', () => isHealthy(url), { process, timeoutMs: 30_000 });
  return { process, url };
}

async function isHealthy(url: string): Promise<true | undefined> {
  const { status, body } = await httpGet(`${url}/health`);
  return status === 200 && (JSON.parse(body) as { health?: string }).health === 'true' ? true : undefined;
}
