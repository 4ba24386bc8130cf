// env.json: how a test process (a separate Node process under `node --test`) finds the plane.
import { readFileSync, writeFileSync } from 'node:fs';

export interface TestPlaneEnv {
  kubeconfigPath: string;
  apiServerUrl: string;
  adminToken: string;
  caFile: string;
  dir: string;
  /** False when only etcd + kube-apiserver run (no pods, no garbage collection). */
  withControllers: boolean;
  /** The kwok node pods are scheduled to, when withControllers. */
  nodeName?: string;
  /** Process ids by component name, e.g. for reading their memory. */
  pids: Record<string, number>;
}

export function writeEnvFile(path: string, env: TestPlaneEnv): void {
  writeFileSync(path, `${JSON.stringify(env, null, 2)}\n`, { mode: 0o600 });
}

export function readEnvFile(path: string): TestPlaneEnv {
  return JSON.parse(readFileSync(path, 'utf8')) as TestPlaneEnv;
}
