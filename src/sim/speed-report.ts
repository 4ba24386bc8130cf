// The simulator-speed section of the benchmark report, in Markdown.
import type { SimSpeedResults, SpeedRun } from './speed-bench.js';

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const threads = (r: SpeedRun) =>
  r.threads <= 1
    ? '1 thread'
    : `${r.threads} threads (this one and ${r.threads - 1} worker${r.threads > 2 ? 's' : ''})`;
const load = (r: SpeedRun) => `${f1(r.load.before)} → ${f1(r.load.after)}`;
const row = (what: string, r: SpeedRun) =>
  `| ${what} | ${f1(r.wallSeconds)} s | ${f2(r.msPerPartitionDay)} ms | ${f1(r.cpuSeconds)} s | ${load(r)} |`;

const what = 'figures, per-minute series, message totals and per-minute lag of every partition';

/** Whether the runs gave the same results, and why the previous engine's may differ. */
function sameResults(r: SimSpeedResults): string {
  const c = r.comparison;
  if (c.identical === undefined) return 'Results not compared (no previous engine).';
  if (c.identical || c.identicalAcrossThreads === undefined) {
    return `${what[0]!.toUpperCase()}${what.slice(1)} the same in every run of both engines: **${c.identical ? 'yes' : 'NO'}**.`;
  }
  const hours = c.coreHours
    ? ` (core-hours, previous → this one: ${r.policies
        .map(
          (p, i) =>
            `${p} ${f1(c.coreHours!.previous[i] ?? Number.NaN)} → ${f1(c.coreHours!.current[i] ?? Number.NaN)}`,
        )
        .join(', ')})`
    : '';
  return (
    `This engine's ${what}, the same in every run (one thread and worker threads, every round): ` +
    `**${c.identicalAcrossThreads ? 'yes' : 'NO'}**. The previous engine's differ${hours}: the simulated world ` +
    `changed after \`${c.baselineCommit.slice(0, 7)}\` (in-place resize as the default actuation, the node's ` +
    'headroom above a request, the OOM kill of a pod over its memory limit), so the two engines do the same work ' +
    'but no longer reach equal results; the speed is compared on that work.'
  );
}

export function renderSimSpeedSection(r: SimSpeedResults): string {
  const c = r.comparison;
  const w = r.week;
  const policies = r.policies.map((p) => `\`${p}\``).join(', ');
  const previous = `previous (\`${c.baselineCommit.slice(0, 7)}\`), 1 thread`;
  // The runs in the order they ran: round after round.
  const runs: string[] = [];
  const rounds = Math.max(c.singleThread.length, c.parallel.length);
  for (let i = 0; i < rounds; i++) {
    const previousRun = Array.isArray(c.baseline) ? c.baseline[i] : undefined;
    const one = c.singleThread[i];
    const many = c.parallel[i];
    if (previousRun) runs.push(row(`${previous}, round ${i + 1}`, previousRun));
    if (one) runs.push(row(`this one, ${threads(one)}, round ${i + 1}`, one));
    if (many) runs.push(row(`this one, ${threads(many)}, round ${i + 1}`, many));
  }
  const s = c.speedup;
  const lines = [
    `Measured by \`npm run bench -- --only sim-speed\` on ${r.machine.cpus} cores (${r.machine.cpuModel}), Node ${r.machine.node}, ` +
      `from the TypeScript sources (tsx) as \`npm run bench\` and \`konsumerator simulate\` from a checkout run them. ` +
      'The machine may be shared: each row gives the 1-minute load average before → after it and the CPU time the process ' +
      'used (every thread). Ratios compare runs of the same work in the same run: each engine runs the same rounds, and ' +
      'the fastest run of each (the one other processes disturbed least) is compared.',
    '',
    `**The same simulations, before and after**: ${c.partitions} partitions (one per instance) × ${c.days} day of the week trace, ` +
      `policies ${policies}. The previous engine is the simulator at commit \`${c.baselineCommit.slice(0, 7)}\`, ` +
      'taken from git and run in the same process.',
    '',
    '| engine | wall time | per partition-day per policy | CPU time | load |',
    '|---|---:|---:|---:|---|',
    ...runs,
    '',
    Array.isArray(c.baseline) ? '' : `The previous engine could not be run: ${c.baseline.unavailable}.\n`,
    s
      ? `Speed-up, fastest against fastest: **${f1(s.singleThread)}× in one thread** (${f1(s.singleThreadCpu)}× in CPU time), ` +
        `**${f1(s.parallel)}× on ${c.parallel[0]?.threads ?? 1} threads**.`
      : '',
    '',
    sameResults(r),
    '',
    `**What a user waits for**: \`konsumerator simulate\` with ${w.partitions} partitions and ${w.days} days of traffic (one row a minute, ` +
      `${f1(w.csvMiB)} MiB of CSV), ${policies}:`,
    '',
    '| step | wall time | per partition-day per policy | CPU time | load |',
    '|---|---:|---:|---:|---|',
    ...w.simulation.flatMap((run, i) => [
      `| round ${i + 1}: read the CSV | ${f1(w.parseSeconds[i]!)} s | | | |`,
      row(`round ${i + 1}: simulate, ${threads(run)}`, run),
    ]),
    `| **fastest total** (target ≤ ${w.targetSeconds} s on 2 cores) | **${f1(w.totalSeconds)} s** | | | |`,
    '',
  ];
  return lines.join('\n').replace(/\n{3,}/g, '\n\n');
}
