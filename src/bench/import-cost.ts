// Where the idle operator's memory goes: fresh processes import the operator's libraries one after
// the other (the order `konsumerator run` meets them in does not matter for the sum), then the
// operator's own modules, and read their resident memory and V8 heap after a garbage collection
// at each step. Each step's figure is what that import adds to everything imported before it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../testplane/binaries.js';
import type { Footprint } from './control-plane.js';
import { IMAGE_ENV } from '../cli/image.js';

const run = promisify(execFile);

/** The libraries `konsumerator run` loads at start, then its own modules (compiled, in dist/). */
export const IMPORT_STEPS: readonly { label: string; specifier: string }[] = [
  { label: "commander (the first package: Node's package loader comes with it)", specifier: 'commander' },
  { label: 'pino', specifier: 'pino' },
  { label: 'prom-client', specifier: 'prom-client' },
  { label: '@sinclair/typebox', specifier: '@sinclair/typebox' },
  { label: 'yaml', specifier: 'yaml' },
  { label: "konsumerator's own modules (`run`)", specifier: './dist/cli/run.js' },
];

export interface ImportCost {
  /** The runtime alone (MiB). */
  runtimeMiB: Footprint;
  /** What each step adds (MiB), in IMPORT_STEPS order. */
  steps: { label: string; addedMiB: Footprint }[];
  /** Everything imported (MiB). */
  totalMiB: Footprint;
  processes: number;
}

// Runs in the measured process: one line of JSON per step, [rss, heapUsed] in bytes.
const SCRIPT = `
const gc = () => { for (let i = 0; i < 4; i++) globalThis.gc(); };
const read = () => { gc(); const m = process.memoryUsage(); return [m.rss, m.heapUsed]; };
const out = [read()];
for (const s of JSON.parse(process.env.KONSUMERATOR_IMPORTS)) {
  await import(s.startsWith('./') ? new URL(s, 'file://' + process.cwd() + '/').href : s);
  await new Promise((r) => setTimeout(r, 200));
  out.push(read());
}
console.log(JSON.stringify(out));
`;

async function measureOnce(nodeFlags: readonly string[]): Promise<number[][]> {
  const { stdout } = await run(
    process.execPath,
    [...nodeFlags, '--expose-gc', '--input-type=module', '-e', SCRIPT],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...IMAGE_ENV,
        KONSUMERATOR_IMPORTS: JSON.stringify(IMPORT_STEPS.map((s) => s.specifier)),
      },
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as number[][];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const MiB = 1024 * 1024;

/** Medians over `processes` fresh processes started with `nodeFlags` (dist/ must be built). */
export async function measureImportCost(nodeFlags: readonly string[], processes = 3): Promise<ImportCost> {
  const runs: number[][][] = [];
  for (let i = 0; i < processes; i++) runs.push(await measureOnce(nodeFlags));
  const at = (step: number): Footprint => ({
    rss: median(runs.map((r) => r[step]![0]!)) / MiB,
    heap: median(runs.map((r) => r[step]![1]!)) / MiB,
  });
  const points = IMPORT_STEPS.map((_, i) => at(i + 1));
  const runtimeMiB = at(0);
  return {
    runtimeMiB,
    steps: IMPORT_STEPS.map((s, i) => {
      const before = i === 0 ? runtimeMiB : points[i - 1]!;
      return {
        label: s.label,
        addedMiB: { rss: points[i]!.rss - before.rss, heap: points[i]!.heap - before.heap },
      };
    }),
    totalMiB: points.at(-1)!,
    processes,
  };
}
