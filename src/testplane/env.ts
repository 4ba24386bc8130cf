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
  /** Kafka broker `127.0.0.1:<port>` (plane started withKafka). */
  kafkaBootstrap?: string;
  /** kafka_exporter `http://127.0.0.1:<port>`, metrics at /metrics (withKafka). */
  exporterUrl?: string;
  /** Prometheus `http://127.0.0.1:<port>` (withPrometheus). */
  prometheusUrl?: string;
  /** Directory whose `*.json` file_sd files Prometheus re-reads every second (withPrometheus). */
  prometheusFileSdDir?: string;
  /** The API server's audit log of AUDITED_NAMESPACE's ServiceAccounts (plane started with auditLog). */
  auditLogPath?: string;
  /** The harness's control endpoint (src/testplane/control.ts), under `npm test`. */
  controlUrl?: string;
  controlToken?: string;
  /** kubectl built from Go modules (scripts/build-tool.sh), when the run needs it. */
  kubectlPath?: string;
  /** helm built from Go modules, when the run needs it. */
  helmPath?: string;
  /** Process ids by component name, e.g. for reading their memory. */
  pids: Record<string, number>;
}

export function writeEnvFile(path: string, env: TestPlaneEnv): void {
  writeFileSync(path, `${JSON.stringify(env, null, 2)}\n`, { mode: 0o600 });
}

export function readEnvFile(path: string): TestPlaneEnv {
  return JSON.parse(readFileSync(path, 'utf8')) as TestPlaneEnv;
}
