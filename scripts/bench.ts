// `npm run bench`: the benchmarks, written to docs/benchmarks/ (README.md, results.json, img/).
//
//   npm run bench                       everything
//   npm run bench -- --only sim         only the autoscaling simulation
//   npm run bench -- --only control-plane   only the control-plane cost (real test planes, ~4–6 min)
//   npm run bench -- --only control-plane --control-plane-runs converge
//                                       only some of its runs (converge, memory); the others keep
//                                       their figures from control-plane.json
//   npm run bench -- … --memory-deployments N   the memory run with N Deployments (default 10,000)
//   npm run bench -- … --control-plane-instances N   the convergence run with N instances (default 1,000)
//   npm run bench -- --only kafka-client    only the Kafka client comparison (a real broker, ~3 min)
//   npm run bench -- --only inplace     only decision → resources in the pods' status (a test plane, ~3 min)
//   npm run bench -- --only sim-speed   only the simulator's speed (previous engine vs this one, ~3–5 min)
//   npm run bench -- --out <dir>        write somewhere else
//   npm run bench -- --traces week,step only these traces (quick looks; the report shows only them)
//   npm run bench -- --robustness-traces diurnal,step   the robustness table (ratePerCore set
//                                       wrong, learning on/off) on these traces only
//
// Each part produces its results, then one report is written. A part that is not run keeps its
// previous figures where it can (the simulation's come from results.json).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runSimBenchmark, type SimBenchmark, type SimBenchmarkRun } from '../src/sim/benchmark.js';
import { writeReport, type ReportSection } from '../src/sim/report.js';
import { renderRobustness, runRobustness, type RobustnessResults } from '../src/sim/robustness.js';
import { REPO_ROOT } from '../src/testplane/binaries.js';
import {
  CONTROL_PLANE_RUNS,
  runControlPlaneBench,
  type ControlPlaneResults,
  type ControlPlaneRun,
} from '../src/bench/control-plane.js';
import { renderControlPlaneSection } from '../src/bench/control-plane-report.js';
import { runKafkaClientBench, type KafkaClientResults } from '../src/bench/kafka-client.js';
import { renderKafkaClientSection } from '../src/bench/kafka-client-report.js';

import { runInPlaceBench, type InPlaceBenchResults } from '../src/bench/inplace.js';
import { renderInPlaceSection } from '../src/bench/inplace-report.js';

const PARTS = ['sim', 'control-plane', 'kafka-client', 'inplace', 'sim-speed'] as const;
import { runSimSpeedBench, type SimSpeedResults } from '../src/sim/speed-bench.js';
import { renderSimSpeedSection } from '../src/sim/speed-report.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    out: { type: 'string', default: join(REPO_ROOT, 'docs', 'benchmarks') },
    traces: { type: 'string' },
    seed: { type: 'string' },
    'control-plane-runs': { type: 'string' },
    'memory-deployments': { type: 'string' },
    'control-plane-instances': { type: 'string' },
    'robustness-traces': { type: 'string' },
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
  run = await runSimBenchmark({
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

const sections: ReportSection[] = [];
// With the sim part: every trace with ratePerCore set wrong, capacity learning on and off.
const robustnessFile = join(outDir, 'robustness.json');
let robustness: RobustnessResults | undefined;
if (wants('sim')) {
  console.log('bench: robustness to a mis-set ratePerCore…');
  const traces = values['robustness-traces'] ?? values.traces;
  robustness = await runRobustness({
    ...(traces ? { traces: traces.split(',') } : {}),
    ...(values.seed ? { seed: Number(values.seed) } : {}),
  });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(robustnessFile, `${JSON.stringify(robustness, null, 2)}\n`);
  console.log(`bench: robustness done in ${robustness.elapsedSeconds.toFixed(1)} s`);
} else if (existsSync(robustnessFile)) {
  robustness = JSON.parse(readFileSync(robustnessFile, 'utf8')) as RobustnessResults;
}
if (robustness)
  sections.push({ title: 'Robustness to a mis-set ratePerCore', markdown: renderRobustness(robustness) });
const controlPlaneFile = join(outDir, 'control-plane.json');
let controlPlane: ControlPlaneResults | undefined;
if (wants('control-plane')) {
  console.log('bench: control-plane cost on real test planes…');
  const t0 = performance.now();
  const runs = values['control-plane-runs']?.split(',').map((s) => s.trim());
  for (const r of runs ?? []) {
    if (!(CONTROL_PLANE_RUNS as readonly string[]).includes(r)) {
      console.error(`bench: unknown control-plane run "${r}" (runs: ${CONTROL_PLANE_RUNS.join(', ')})`);
      process.exit(2);
    }
  }
  controlPlane = await runControlPlaneBench({
    ...(runs ? { runs: runs as ControlPlaneRun[] } : {}),
    ...(values['memory-deployments'] ? { memoryDeployments: Number(values['memory-deployments']) } : {}),
    ...(values['control-plane-instances'] ? { instances: Number(values['control-plane-instances']) } : {}),
    ...(existsSync(controlPlaneFile)
      ? { previous: JSON.parse(readFileSync(controlPlaneFile, 'utf8')) as ControlPlaneResults }
      : {}),
    progress: (line) => console.log(`  [${((performance.now() - t0) / 1000).toFixed(0)} s] ${line}`),
  });
  writeFileSync(controlPlaneFile, `${JSON.stringify(controlPlane, null, 2)}\n`);
  console.log(`bench: control-plane cost done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else if (existsSync(controlPlaneFile)) {
  controlPlane = JSON.parse(readFileSync(controlPlaneFile, 'utf8')) as ControlPlaneResults;
}
if (controlPlane)
  sections.push({ title: 'Control-plane cost', markdown: renderControlPlaneSection(controlPlane) });

const kafkaClientFile = join(outDir, 'kafka-client.json');
let kafkaClient: KafkaClientResults | undefined;
if (wants('kafka-client')) {
  console.log('bench: Kafka client comparison on a real broker…');
  const t0 = performance.now();
  kafkaClient = await runKafkaClientBench({
    progress: (line) => console.log(`  [${((performance.now() - t0) / 1000).toFixed(0)} s] ${line}`),
  });
  writeFileSync(kafkaClientFile, `${JSON.stringify(kafkaClient, null, 2)}\n`);
  console.log(`bench: Kafka client comparison done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else if (existsSync(kafkaClientFile)) {
  kafkaClient = JSON.parse(readFileSync(kafkaClientFile, 'utf8')) as KafkaClientResults;
}
if (kafkaClient) sections.push({ title: 'Kafka client', markdown: renderKafkaClientSection(kafkaClient) });
const inPlaceFile = join(outDir, 'inplace.json');
let inPlace: InPlaceBenchResults | undefined;
if (wants('inplace')) {
  console.log('bench: in-place resize on a real test plane…');
  const t0 = performance.now();
  inPlace = await runInPlaceBench({
    progress: (line) => console.log(`  [${((performance.now() - t0) / 1000).toFixed(0)} s] ${line}`),
  });
  writeFileSync(inPlaceFile, `${JSON.stringify(inPlace, null, 2)}\n`);
  console.log(`bench: in-place resize done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else if (existsSync(inPlaceFile)) {
  inPlace = JSON.parse(readFileSync(inPlaceFile, 'utf8')) as InPlaceBenchResults;
}
if (inPlace) sections.push({ title: 'In-place resize', markdown: renderInPlaceSection(inPlace) });
const simSpeedFile = join(outDir, 'sim-speed.json');
let simSpeed: SimSpeedResults | undefined;
if (wants('sim-speed')) {
  console.log("bench: the simulator's speed…");
  const t0 = performance.now();
  simSpeed = await runSimSpeedBench({
    repoRoot: REPO_ROOT,
    onProgress: (line) => console.log(`  [${((performance.now() - t0) / 1000).toFixed(0)} s] ${line}`),
  });
  writeFileSync(simSpeedFile, `${JSON.stringify(simSpeed, null, 2)}\n`);
  console.log(`bench: simulator speed done in ${simSpeed.elapsedSeconds.toFixed(1)} s`);
} else if (existsSync(simSpeedFile)) {
  simSpeed = JSON.parse(readFileSync(simSpeedFile, 'utf8')) as SimSpeedResults;
}
if (simSpeed) sections.push({ title: 'Simulator speed', markdown: renderSimSpeedSection(simSpeed) });

await writeReport(outDir, run, sim, sections);
console.log(`bench: report written to ${join(outDir, 'README.md')}`);
// The harness's signal handlers and idle sockets would keep the process alive.
process.exit(0);
