// `npm test`: builds or finds the test-plane binaries, starts ONE plane for the whole run, then runs
// node's test runner over test/**/*.test.ts with KONSUMERATOR_TEST_ENV pointing at its env.json.
//
//   npm test                    all tests
//   npm test -- reconcile crd   only files whose path contains "reconcile" or "crd"
//   npm test -- --no-metrics …  a plane without Kafka, kafka_exporter and Prometheus (~10 s less)
//   npm run test:unit           only test/unit/**, without starting the plane
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { REPO_ROOT } from '../src/testplane/binaries.js';
import {
  ensureBinaries,
  ensureKafkaRuntime,
  startTestPlane,
  writeEnvFile,
  type TestPlane,
} from '../src/testplane/index.js';
import { isAbandoned, isAlive, killProcessesUsing } from '../src/testplane/orphans.js';
import { startProcess } from '../src/testplane/process.js';
import { serveControl, type ControlServer } from '../src/testplane/control.js';

const TEST_DIR = join(REPO_ROOT, 'test');
const UNIT_DIR = join(TEST_DIR, 'unit');
const PLANES_DIR = join(REPO_ROOT, '.testplane');

interface Args {
  unitOnly: boolean;
  /** Start Kafka, the kafka_exporter and Prometheus with the plane (default; --no-metrics: not). */
  withMetrics: boolean;
  filters: string[];
}

function parseArgs(argv: string[]): Args {
  const flags = ['--unit', '--no-metrics', '--'];
  return {
    unitOnly: argv.includes('--unit'),
    withMetrics: !argv.includes('--no-metrics'),
    filters: argv.filter((a) => !flags.includes(a)),
  };
}

function findTestFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function selectFiles({ unitOnly, filters }: Args): string[] {
  const files = findTestFiles(unitOnly ? UNIT_DIR : TEST_DIR);
  if (filters.length === 0) return files;
  return files.filter((f) => filters.some((filter) => relative(REPO_ROOT, f).includes(filter)));
}

/** Unit tests are pure: no plane needed when every selected file is one. */
function needsPlane(files: string[]): boolean {
  return files.some((f) => !f.startsWith(UNIT_DIR + sep));
}

/**
 * Run dirs of earlier runs whose harness is gone: kept after a failure, or left by a harness killed
 * with SIGKILL, in which case its components may still be running.
 */
function removeStaleRunDirs(): void {
  if (!existsSync(PLANES_DIR)) return;
  for (const name of readdirSync(PLANES_DIR).filter((n) => n.startsWith('run-'))) {
    const dir = join(PLANES_DIR, name);
    const namedPid = Number(name.slice('run-'.length));
    if (!isAbandoned(dir) || isAlive(namedPid)) continue;
    const killed = killProcessesUsing(dir);
    if (killed.length) console.error(`killed ${killed.length} component(s) left running in ${name}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startPlaneForRun(
  withMetrics: boolean,
): Promise<{ plane: TestPlane; envFile: string; control: ControlServer }> {
  const t0 = performance.now();
  const binDir = await ensureBinaries();
  const kafkaLibDir = withMetrics ? await ensureKafkaRuntime() : undefined;
  const t1 = performance.now();
  removeStaleRunDirs();
  const plane = await startTestPlane({
    dir: join(PLANES_DIR, `run-${process.pid}`),
    binDir,
    auditLog: true,
    ...(kafkaLibDir ? { withKafka: true, withPrometheus: true, kafkaLibDir } : {}),
  });
  const t2 = performance.now();
  const envFile = join(plane.dir, 'env.json');
  // The control endpoint may restart the API server; env.json then gets its new pid.
  const writeEnv = () => writeEnvFile(envFile, { ...plane.env(), ...control.env });
  const control = await serveControl(plane, () => writeEnv());
  writeEnv();
  console.error(
    `test plane: binaries ready in ${seconds(t1 - t0)}, plane up in ${seconds(t2 - t1)} (${relative(REPO_ROOT, plane.dir)})`,
  );
  console.error(`test plane: ready after (ms) ${JSON.stringify(plane.readyAfterMs)}`);
  return { plane, envFile, control };
}

async function runNodeTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const runner = startProcess({
    name: 'node --test',
    command: process.execPath,
    args: ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
    cwd: REPO_ROOT,
    env,
  });
  const { code, signal } = await runner.exited;
  return code ?? (signal ? 1 : 0);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const files = selectFiles(args);
  if (files.length === 0) {
    console.error(`no test files${args.filters.length ? ` matching ${args.filters.join(', ')}` : ''}`);
    return args.filters.length ? 1 : 0;
  }
  if (!needsPlane(files)) return runNodeTests(files, {});

  // Interrupts are handled by process.ts: it stops the runner and every component, newest first.
  const { plane, envFile, control } = await startPlaneForRun(args.withMetrics);
  let code = 1;
  try {
    code = await runNodeTests(files, { KONSUMERATOR_TEST_ENV: envFile, KUBECONFIG: plane.kubeconfigPath });
  } finally {
    const t0 = performance.now();
    await control.close();
    await plane.stop();
    console.error(`test plane: stopped in ${seconds(performance.now() - t0)}`);
  }
  if (code === 0) rmSync(plane.dir, { recursive: true, force: true });
  else console.error(`tests failed; component logs kept in ${relative(REPO_ROOT, plane.dir)}/*.log`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
