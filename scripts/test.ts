// `npm test`: builds or finds the test-plane binaries, starts ONE plane for the whole run, then runs
// node's test runner over test/**/*.test.ts with KONSUMERATOR_TEST_ENV pointing at its env.json.
//
//   npm test                    all tests
//   npm test -- reconcile crd   only files whose path contains "reconcile" or "crd"
//   npm test -- --no-metrics …  a plane without Kafka, kafka_exporter and Prometheus (~10 s less);
//                               tests that need them fail
//   npm test -- --allow-skips … skipped and todo tests do not fail the run (local partial runs)
//   npm test -- --run-timeout=M stop the run after M minutes (default 120)
//   npm run test:unit           only test/unit/**, without starting the plane
//
// The run fails when a test fails, when any test is skipped or marked todo (unless --allow-skips),
// when a selected file runs no test, and when the whole run takes longer than its bound: a full
// run must have run every test. Each e2e test has its own timeout (test/support/timed.ts).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { REPO_ROOT } from '../src/testplane/binaries.js';
import { ensureOldestApiServer } from '../src/testplane/binaries.js';
import {
  ensureBinaries,
  ensureKafkaRuntime,
  ensureTool,
  startTestPlane,
  writeEnvFile,
  type TestPlane,
  type Tool,
} from '../src/testplane/index.js';
import { isAbandoned, isAlive, killProcessesUsing } from '../src/testplane/orphans.js';
import { startProcess } from '../src/testplane/process.js';
import { serveControl, type ControlServer } from '../src/testplane/control.js';
import {
  describeSkips,
  readTestRecord,
  summarize,
  TEST_RECORD_REPORTER,
  testTitle,
} from '../src/testplane/test-record.js';

const TEST_DIR = join(REPO_ROOT, 'test');
const UNIT_DIR = join(TEST_DIR, 'unit');
const PLANES_DIR = join(REPO_ROOT, '.testplane');
/**
 * The bound of the whole run, well above what a full run takes on a loaded 2-core machine (the
 * crash-consistency test alone took 20 minutes at a load average of 12–20). Each e2e test and hook
 * has its own timeout; this catches what none covers: a test file whose process does not exit
 * after its tests (a handle left open), a file's top-level code, the unit tests.
 */
const DEFAULT_RUN_TIMEOUT_MINUTES = 120;

interface Args {
  unitOnly: boolean;
  /** Start Kafka, the kafka_exporter and Prometheus with the plane (default; --no-metrics: not). */
  withMetrics: boolean;
  /** Skipped and todo tests do not fail the run (--allow-skips). */
  allowSkips: boolean;
  runTimeoutMs: number;
  filters: string[];
}

function parseArgs(argv: string[]): Args {
  const flags = ['--unit', '--no-metrics', '--allow-skips', '--'];
  const timeoutFlag = '--run-timeout=';
  const timeouts = argv.filter((a) => a.startsWith(timeoutFlag));
  const minutes = Number(timeouts.at(-1)?.slice(timeoutFlag.length) ?? DEFAULT_RUN_TIMEOUT_MINUTES);
  if (!(minutes > 0)) throw new Error(`${timeouts.at(-1)}: the run timeout is a number of minutes above 0`);
  const unknown = argv.filter((a) => a.startsWith('--') && !flags.includes(a) && !a.startsWith(timeoutFlag));
  if (unknown.length) throw new Error(`unknown option ${unknown.join(', ')}`);
  return {
    unitOnly: argv.includes('--unit'),
    withMetrics: !argv.includes('--no-metrics'),
    allowSkips: argv.includes('--allow-skips'),
    runTimeoutMs: minutes * 60_000,
    filters: argv.filter((a) => !flags.includes(a) && !a.startsWith(timeoutFlag)),
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

/**
 * kubectl and helm are built (once, cached; minutes cold) only for a run that has a test file
 * importing test/support/tools.ts, which hands their paths from env.json to the tests.
 */
const TOOLS_IMPORT = /from '\.\.\/support\/tools\.js'/;
const TOOLS: readonly Tool[] = ['kubectl', 'helm'];

function needsTools(files: string[]): boolean {
  return files.some((f) => TOOLS_IMPORT.test(readFileSync(f, 'utf8')));
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

/** Test files that run the oldest supported kube-apiserver (a build of its own). */
const needsOldestApiServer = (files: string[]) => files.some((f) => f.includes('oldest-apiserver'));

interface PlaneForRun {
  plane: TestPlane;
  envFile: string;
  control: ControlServer;
  /** The test plane's and the oldest API server's bin dirs, for the tests that start their own. */
  binEnv: Record<string, string>;
}

async function startPlaneForRun(
  withMetrics: boolean,
  withTools: boolean,
  withOldestApiServer: boolean,
): Promise<PlaneForRun> {
  const t0 = performance.now();
  // Started first, in the background: a cold build of it (minutes) overlaps the plane's.
  const oldest = withOldestApiServer
    ? ensureOldestApiServer().then(
        (dir) => ({ dir }),
        (error: unknown) => ({ error }),
      )
    : undefined;
  const binDir = await ensureBinaries();
  // The tools build after the plane's binaries (the Go build cache they share is then warm) and
  // while the Kafka jars are copied and the plane starts.
  const toolPaths = withTools ? buildTools() : Promise.resolve({});
  toolPaths.catch(() => undefined); // awaited below; a failure is reported there
  const kafkaLibDir = withMetrics ? await ensureKafkaRuntime() : undefined;
  const oldestBuilt = await oldest;
  if (oldestBuilt && 'error' in oldestBuilt) throw oldestBuilt.error;
  const t1 = performance.now();
  removeStaleRunDirs();
  const plane = await startTestPlane({
    dir: join(PLANES_DIR, `run-${process.pid}`),
    binDir,
    auditLog: true,
    ...(kafkaLibDir ? { withKafka: true, withPrometheus: true, kafkaLibDir } : {}),
  });
  const t2 = performance.now();
  const tools = await toolPaths;
  if (withTools)
    console.error(`test plane: kubectl and helm ready ${seconds(performance.now() - t2)} after the plane`);
  const envFile = join(plane.dir, 'env.json');
  // The control endpoint may restart the API server; env.json then gets its new pid.
  const writeEnv = () => writeEnvFile(envFile, { ...plane.env(), ...tools, ...control.env });
  const control = await serveControl(plane, () => writeEnv());
  writeEnv();
  console.error(
    `test plane: binaries ready in ${seconds(t1 - t0)}, plane up in ${seconds(t2 - t1)} (${relative(REPO_ROOT, plane.dir)})`,
  );
  console.error(`test plane: ready after (ms) ${JSON.stringify(plane.readyAfterMs)}`);
  const binEnv: Record<string, string> = { KONSUMERATOR_TESTPLANE_BIN: binDir };
  if (oldestBuilt) binEnv.KONSUMERATOR_OLDEST_APISERVER_BIN = oldestBuilt.dir;
  return { plane, envFile, control, binEnv };
}

/**
 * Runs node's test runner over `files` with the spec reporter on stdout and the test record in a
 * file, stops it when the run exceeds its bound, then judges the record: skipped or todo tests
 * (unless allowed) and files that ran no test fail the run.
 */
async function runNodeTests(files: string[], env: NodeJS.ProcessEnv, args: Args): Promise<number> {
  const recordDir = mkdtempSync(join(tmpdir(), 'konsumerator-test-record-'));
  const recordFile = join(recordDir, 'tests.jsonl');
  try {
    const runner = startProcess({
      name: 'node --test',
      command: process.execPath,
      args: [
        '--import',
        'tsx',
        '--test',
        '--test-concurrency=1',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        `--test-reporter=${TEST_RECORD_REPORTER}`,
        `--test-reporter-destination=${recordFile}`,
        ...files,
      ],
      cwd: REPO_ROOT,
      env,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      const running = summarize(readTestRecord(recordFile), files).running;
      console.error(
        `\nthe test run exceeded ${args.runTimeoutMs / 60_000} minutes (--run-timeout): stopping it; still running:\n` +
          (running.map((r) => `  ${testTitle(r, REPO_ROOT)}`).join('\n') || '  (no test: a file or hook)'),
      );
      void runner.stop();
    }, args.runTimeoutMs);
    const { code, signal } = await runner.exited;
    clearTimeout(timer);
    const runnerCode = timedOut ? 1 : (code ?? (signal ? 1 : 0));
    return judgeRecord(recordFile, files, args) || runnerCode;
  } finally {
    rmSync(recordDir, { recursive: true, force: true });
  }
}

/** 1 when the record shows skipped or todo tests (unless allowed) or a file that ran no test. */
function judgeRecord(recordFile: string, files: string[], args: Args): number {
  const summary = summarize(readTestRecord(recordFile), files);
  let code = 0;
  const skips = describeSkips(summary, REPO_ROOT);
  if (skips.length > 0) {
    const counts = `${summary.skipped.length} skipped, ${summary.todo.length} todo`;
    if (args.allowSkips) {
      console.error(`\ntests not run (${counts}; allowed by --allow-skips):\n${skips.join('\n')}`);
    } else {
      console.error(
        `\nnpm test fails: ${counts}; a run must run every test it selects:\n${skips.join('\n')}\n` +
          'Make them run (the test plane provides every component), or pass --allow-skips for a partial local run.',
      );
      code = 1;
    }
  }
  if (summary.filesWithoutTests.length > 0) {
    console.error(
      `\nnpm test fails: no test ran in ${summary.filesWithoutTests.map((f) => relative(REPO_ROOT, f)).join(', ')}`,
    );
    code = 1;
  }
  return code;
}

/** kubectl, then helm (one Go build at a time on 2 cores); their paths for env.json. */
async function buildTools(): Promise<{ kubectlPath?: string; helmPath?: string }> {
  const paths: { kubectlPath?: string; helmPath?: string } = {};
  for (const tool of TOOLS) paths[`${tool}Path`] = await ensureTool(tool);
  return paths;
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
  if (!needsPlane(files)) return runNodeTests(files, {}, args);

  // Interrupts are handled by process.ts: it stops the runner and every component, newest first.
  const { plane, envFile, control, binEnv } = await startPlaneForRun(
    args.withMetrics,
    needsTools(files),
    needsOldestApiServer(files),
  );
  let code = 1;
  try {
    code = await runNodeTests(
      files,
      { KONSUMERATOR_TEST_ENV: envFile, KUBECONFIG: plane.kubeconfigPath, ...binEnv },
      args,
    );
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
