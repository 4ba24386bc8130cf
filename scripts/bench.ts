// `npm run bench`: the benchmarks, written to docs/benchmarks/ (README.md, results.json, img/).
//
//   npm run bench                       everything
//   npm run bench -- --only sim         only the autoscaling simulation
//   npm run bench -- --out <dir>        write somewhere else
//   npm run bench -- --traces week,step only these traces (quick looks; the report shows only them)
//
// Each part produces its results, then one report is written. A part that is not run keeps its
// previous figures where it can (the simulation's come from results.json).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runSimBenchmark, type SimBenchmark, type SimBenchmarkRun } from '../src/sim/benchmark.js';
import { writeReport, type ReportSection } from '../src/sim/report.js';
import { REPO_ROOT } from '../src/testplane/binaries.js';

const PARTS = ['sim'] as const;

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    out: { type: 'string', default: join(REPO_ROOT, 'docs', 'benchmarks') },
    traces: { type: 'string' },
    seed: { type: 'string' },
  },
});
const only = values.only?.split(',').map((s) => s.trim());
for (const part of only ?? []) {
  if (!(PARTS as readonly string[]).includes(part)) {
    console.error(`bench: unknown part "${part}" (parts: ${PARTS.join(', ')})`);
    process.exit(2);
  }
}
const wants = (part: (typeof PARTS)[number]) => !only || only.includes(part);
const outDir = values.out!;

let run: SimBenchmarkRun | undefined;
let sim: SimBenchmark;
if (wants('sim')) {
  console.log('bench: autoscaling simulation…');
  run = runSimBenchmark({
    ...(values.traces ? { traces: values.traces.split(',') } : {}),
    ...(values.seed ? { seed: Number(values.seed) } : {}),
    onProgress: (m) => console.log(`  ${m}`),
  });
  sim = run.results;
  console.log(`bench: simulation done in ${sim.elapsedSeconds.toFixed(1)} s`);
} else {
  const previous = join(outDir, 'results.json');
  if (!existsSync(previous)) {
    console.error(`bench: ${previous} is missing: run the sim part first (npm run bench -- --only sim)`);
    process.exit(2);
  }
  sim = JSON.parse(readFileSync(previous, 'utf8')) as SimBenchmark;
}

// Further parts add their sections here (e.g. the control-plane cost on the real test plane).
const sections: ReportSection[] = [];

await writeReport(outDir, run, sim, sections);
console.log(`bench: report written to ${join(outDir, 'README.md')}`);
