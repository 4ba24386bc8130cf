// By hand: `npx tsx src/testplane/cli.ts up [--dir .testplane/up] [--no-controllers] [--kafka] [--prometheus]`
// starts the plane, writes <dir>/env.json and stays in the foreground until Ctrl-C.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './binaries.js';
import { ensureBinaries, ensureKafkaRuntime, startTestPlane, writeEnvFile } from './index.js';
import { memoryReport } from './memory.js';
import { onShutdown } from './process.js';

const USAGE = 'usage: tsx src/testplane/cli.ts up [--dir DIR] [--no-controllers] [--kafka] [--prometheus]';

interface UpOptions {
  withControllers: boolean;
  withKafka: boolean;
  withPrometheus: boolean;
}

async function up(dir: string, options: UpOptions): Promise<void> {
  const t0 = performance.now();
  const binDir = await ensureBinaries();
  const kafkaLibDir = options.withKafka ? await ensureKafkaRuntime() : undefined;
  const t1 = performance.now();
  const plane = await startTestPlane({ dir, binDir, ...options, ...(kafkaLibDir ? { kafkaLibDir } : {}) });
  const t2 = performance.now();
  onShutdown(async () => {
    await plane.stop();
    console.error('test plane stopped');
  });
  const envFile = join(plane.dir, 'env.json');
  writeEnvFile(envFile, plane.env());
  console.log(`binaries ready in ${seconds(t1 - t0)}, plane up in ${seconds(t2 - t1)}`);
  console.log(`env:        ${envFile}`);
  console.log(`kubeconfig: export KUBECONFIG=${plane.kubeconfigPath}`);
  console.log(`apiserver:  ${plane.apiServerUrl}`);
  if (plane.kafkaBootstrap) console.log(`kafka:      ${plane.kafkaBootstrap}`);
  if (plane.exporterUrl) console.log(`exporter:   ${plane.exporterUrl}/metrics`);
  if (plane.prometheusUrl)
    console.log(`prometheus: ${plane.prometheusUrl} (file_sd: ${plane.prometheusFileSdDir})`);
  console.log(`logs:       ${plane.dir}/*.log`);
  console.log(`ready after (ms): ${JSON.stringify(plane.readyAfterMs)}`);
  console.log(memoryReport(plane.env().pids));
  console.log('Ctrl-C to stop.');
  await new Promise<never>(() => setInterval(() => undefined, 1 << 30)); // until a signal arrives
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      'no-controllers': { type: 'boolean' },
      kafka: { type: 'boolean' },
      prometheus: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || positionals[0] !== 'up' || positionals.length !== 1) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  await up(resolve(values.dir ?? join(REPO_ROOT, '.testplane', 'up')), {
    withControllers: !values['no-controllers'],
    withKafka: values.kafka ?? false,
    withPrometheus: values.prometheus ?? false,
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
