// Runs the kafka_exporter stand-in (kafka-exporter.ts) as its own process, after the broker is up,
// with the flags the real kafka_exporter would be given (listed in docs/testplane.md).
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { REPO_ROOT } from './binaries.js';
import { httpGet } from './http.js';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

const MAIN = fileURLToPath(new URL('./kafka-exporter-main.ts', import.meta.url));

export interface KafkaExporter {
  process: ManagedProcess;
  /** http://127.0.0.1:<port>; metrics at `${url}/metrics`. */
  url: string;
}

export interface KafkaExporterParams {
  dir: string;
  kafkaBootstrap: string;
  /** Default: a free port. */
  port?: number;
}

export async function startKafkaExporter(p: KafkaExporterParams): Promise<KafkaExporter> {
  const port = p.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const process = startProcess({
    name: 'kafka-exporter',
    command: globalThis.process.execPath,
    args: [
      '--import',
      'tsx',
      MAIN,
      `--kafka.server=${p.kafkaBootstrap}`,
      '--kafka.version=3.9.0',
      `--web.listen-address=127.0.0.1:${port}`,
      '--refresh.metadata=5s',
      // Names the plane dir on the command line, so that orphans.ts finds it after a SIGKILLed harness.
      `--testplane.dir=${p.dir}`,
    ],
    logFile: join(p.dir, 'kafka-exporter.log'),
    cwd: REPO_ROOT, // where `--import tsx` resolves tsx from
  });
  await waitFor('kafka-exporter /metrics has kafka_brokers 1', () => hasOneBroker(url), {
    process,
    timeoutMs: 60_000,
  });
  return { process, url };
}

async function hasOneBroker(url: string): Promise<true | undefined> {
  const { status, body } = await httpGet(`${url}/metrics`);
  return status === 200 && /^kafka_brokers 1$/m.test(body) ? true : undefined;
}
