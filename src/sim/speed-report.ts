// The simulator-speed section of the benchmark report, in Markdown.
import type { SimSpeedResults, SpeedRun } from './speed-bench.js';

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const threads = (r: SpeedRun) => (r.workers === 0 ? '1 thread' : `${r.workers} worker threads`);
const load = (r: SpeedRun) => `${f1(r.load.before)} → ${f1(r.load.after)}`;
const mean = (runs: readonly SpeedRun[], key: 'wallSeconds' | 'cpuSeconds' | 'msPerPartitionDay') =>
  runs.reduce((sum, r) => sum + r[key], 0) / runs.length;
const row = (what: string, r: SpeedRun, extra = '') =>
  `| ${what} | ${f1(r.wallSeconds)} s | ${f2(r.msPerPartitionDay)} ms | ${f1(r.cpuSeconds)} s | ${load(r)} | ${extra} |`;

export function renderSimSpeedSection(r: SimSpeedResults): string {
  const c = r.comparison;
  const w = r.week;
  const policies = r.policies.map((p) => `\`${p}\``).join(', ');
  const base = 'wallSeconds' in c.baseline ? c.baseline : undefined;
  const lines = [
    `Measured by \`npm run bench -- --only sim-speed\` on ${r.machine.cpus} cores (${r.machine.cpuModel}), Node ${r.machine.node}, ` +
      `from the TypeScript sources (tsx) as \`npm run bench\` and \`konsumerator simulate\` from a checkout run them. ` +
      'The machine may be shared: each row gives the 1-minute load average before → after it and the CPU time the process ' +
      'used (every thread); ratios compare runs of the same work in the same run. This engine runs before and after the ' +
      'previous one, and the ratio is taken to the mean of the two.',
    '',
    `**The same simulations, before and after**: ${c.partitions} partitions (one per instance) × ${c.days} day of the week trace, ` +
      `policies ${policies}. The previous engine is the simulator at commit \`${c.baselineCommit.slice(0, 7)}\`, ` +
      'taken from git and run in the same process.',
    '',
    '| engine | wall time | per partition-day per policy | CPU time | load | speed-up |',
    '|---|---:|---:|---:|---|---|',
    base
      ? row(`previous (\`${c.baselineCommit.slice(0, 7)}\`), 1 thread`, base, '1×')
      : `| previous (\`${c.baselineCommit.slice(0, 7)}\`) | not measured: ${(c.baseline as { unavailable: string }).unavailable} | | | | |`,
    row(`this one, ${threads(c.singleThread[0])}, before`, c.singleThread[0]),
    row(`this one, ${threads(c.singleThread[1])}, after`, c.singleThread[1]),
    `| **this one, ${threads(c.singleThread[0])}: mean** | ${f1(mean(c.singleThread, 'wallSeconds'))} s | ${f2(mean(c.singleThread, 'msPerPartitionDay'))} ms | ${f1(mean(c.singleThread, 'cpuSeconds'))} s | | ${c.speedup ? `**${f1(c.speedup.singleThread)}×** (CPU time: ${f1(c.speedup.singleThreadCpu)}×)` : ''} |`,
    row(`this one, ${threads(c.parallel[0])}, before`, c.parallel[0]),
    row(`this one, ${threads(c.parallel[1])}, after`, c.parallel[1]),
    `| **this one, ${threads(c.parallel[0])}: mean** | ${f1(mean(c.parallel, 'wallSeconds'))} s | ${f2(mean(c.parallel, 'msPerPartitionDay'))} ms | ${f1(mean(c.parallel, 'cpuSeconds'))} s | | ${c.speedup ? `**${f1(c.speedup.parallel)}×**` : ''} |`,
    '',
    c.identical === undefined
      ? 'Results not compared (no previous engine).'
      : `Figures, per-minute series, message totals and per-minute lag of every partition identical to the previous engine's: **${c.identical ? 'yes' : 'NO'}**.`,
    '',
    `**What a user waits for**: \`konsumerator simulate\` with ${w.partitions} partitions and ${w.days} days of traffic (one row a minute, ` +
      `${f1(w.csvMiB)} MiB of CSV), ${policies}:`,
    '',
    '| step | wall time | per partition-day per policy | CPU time | load |',
    '|---|---:|---:|---:|---|',
    `| read the CSV | ${f1(w.parseSeconds)} s | | | |`,
    `| simulate, ${threads(w.simulation)} | ${f1(w.simulation.wallSeconds)} s | ${f2(w.simulation.msPerPartitionDay)} ms | ${f1(w.simulation.cpuSeconds)} s | ${load(w.simulation)} |`,
    `| **total** (target ≤ ${w.targetSeconds} s on 2 cores) | **${f1(w.totalSeconds)} s** | | | |`,
    '',
  ];
  return lines.join('\n');
}
