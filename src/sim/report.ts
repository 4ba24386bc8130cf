// The benchmark report: docs/benchmarks/README.md (tables, target checks, plots), results.json
// (machine-readable) and the SVG plots. Other benchmarks add their own Markdown sections
// (`extraSections`), which appear after the autoscaling part.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CPU_TO_MEMORY_PRICE_RATIO,
  type PolicyFigures,
  type SimBenchmark,
  type SimBenchmarkRun,
  type TraceResults,
} from './benchmark.js';
import { costLagChart, cpuChart, lagChart, renderSvg } from './charts.js';

export interface ReportSection {
  title: string;
  /** Markdown body, without the heading. */
  markdown: string;
}

export const SLO_TARGET_PERCENT = 99.5;
export const COST_TARGET_RATIO = 1.3;

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

export function figuresTable(results: SimBenchmark, trace: TraceResults): string {
  const header =
    '| policy | core-h / oracle | GiB-h / oracle | cost / oracle | within tolerableLag (% partition-min) | p99 lag (s) | max lag (s) | restarts / partition-day | scale actions |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const lines = results.policies
    .filter((p) => trace.figures[p.id])
    .map((p) => {
      const f = trace.figures[p.id]!;
      return `| ${p.label} | ${fixed(f.coreHoursRatio, 2)} | ${fixed(f.gibHoursRatio, 2)} | ${fixed(f.costRatio, 2)} | ${fixed(f.withinSloPercent, 2)} | ${fixed(f.p99LagSeconds, 0)} | ${fixed(f.maxLagSeconds, 0)} | ${fixed(f.restartsPerPartitionDay, 1)} | ${f.scaleActions} |`;
    });
  return [header, ...lines].join('\n');
}

export interface TargetCheck {
  trace: string;
  withinCost: boolean;
  withinSlo: boolean;
  /** Ours below the original (v1.2.2 defaults) on core-hours, GiB-hours and the combined cost. */
  fewerCoreHours: boolean;
  fewerGibHours: boolean;
  cheaperThanOriginal: boolean;
  lessLagThanOriginal: boolean;
}

const combined = (f: PolicyFigures) => f.coreHours * CPU_TO_MEMORY_PRICE_RATIO + f.gibHours;

export function checkTargets(trace: TraceResults): TargetCheck | undefined {
  const ours = trace.figures['ours'];
  const original = trace.figures['original'];
  if (!ours || !original) return undefined;
  return {
    trace: trace.name,
    withinCost: ours.coreHoursRatio <= COST_TARGET_RATIO,
    withinSlo: ours.withinSloPercent >= SLO_TARGET_PERCENT,
    fewerCoreHours: ours.coreHours < original.coreHours,
    fewerGibHours: ours.gibHours < original.gibHours,
    cheaperThanOriginal: combined(ours) < combined(original),
    lessLagThanOriginal:
      ours.withinSloPercent >= original.withinSloPercent && ours.p99LagSeconds <= original.p99LagSeconds,
  };
}

const mark = (ok: boolean) => (ok ? 'yes' : '**no**');

function targetsTable(results: SimBenchmark): string {
  const rows = results.traces.map((t) => {
    const c = checkTargets(t);
    const ours = t.figures['ours'];
    const original = t.figures['original'];
    if (!c || !ours || !original) return `| ${t.title} | – | – | – | – | – | – |`;
    return `| ${t.title} | ${fixed(ours.coreHoursRatio, 2)} (${mark(c.withinCost)}) | ${fixed(ours.withinSloPercent, 2)} % (${mark(c.withinSlo)}) | ${fixed(ours.coreHours / original.coreHours, 3)} (${mark(c.fewerCoreHours)}) | ${fixed(ours.gibHours / original.gibHours, 3)} (${mark(c.fewerGibHours)}) | ${fixed(combined(ours) / combined(original), 3)} (${mark(c.cheaperThanOriginal)}) | ${fixed(ours.withinSloPercent, 2)} vs ${fixed(original.withinSloPercent, 2)} %, p99 ${fixed(ours.p99LagSeconds, 0)} vs ${fixed(original.p99LagSeconds, 0)} s (${mark(c.lessLagThanOriginal)}) |`;
  });
  return [
    `| trace | ours: core-h / oracle ≤ ${COST_TARGET_RATIO} | ours: within tolerableLag ≥ ${SLO_TARGET_PERCENT} % | ours / original core-h < 1 | ours / original GiB-h < 1 | ours / original cost < 1 | lag: ours vs original |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function paramsList(results: SimBenchmark): string {
  const p = results.params;
  return [
    `- step ${p.tickMs / 1000} s; seed ${results.seed}; true throughput ${p.ratePerCore} msg/s per core (the Consumer's ratePerCore), per-partition noise ${p.throughputNoise * 100} % (AR(1), ${p.noiseCorrelationMs / 60_000} min correlation);`,
    `- metrics: scrapes every ${p.scrapeIntervalMs / 1000} s, \`rate()\` over ${p.rateWindowMs / 60_000} min, read at most once per minSyncPeriod;`,
    `- a rollout restart: the new pod starts in ${p.restart.startMs / 1000} s (the old one keeps consuming), a ${p.restart.pauseMs / 1000} s hand-over with no consumption, then ${p.restart.warmupMs / 1000} s of warm-up from ${p.restart.warmupFloor * 100} % throughput; an in-place resize: ${p.inPlaceDelayMs / 1000} s, no pause; a consumer-group rebalance: ${p.rebalancePauseMs / 1000} s with no consumption in the whole group;`,
    `- memory in use = ${(p.memoryBaseBytes / 1024 ** 3).toFixed(2)} GiB + ${(p.memoryPerBusyCoreBytes / 1024 ** 3).toFixed(2)} GiB per busy core; above the memory limit the pod is OOM-killed (a restart).`,
  ].join('\n');
}

function policyList(results: SimBenchmark): string {
  return results.policies.map((p) => `- **${p.label}** (\`${p.id}\`): ${p.description}`).join('\n');
}

const imagePath = (trace: string, kind: string) => `img/${trace}-${kind}.svg`;

export function renderReport(results: SimBenchmark, extraSections: readonly ReportSection[] = []): string {
  const week = results.traces.find((t) => t.name === 'week');
  const parts: string[] = [];
  parts.push('# Benchmarks');
  parts.push(
    'Generated by `npm run bench` (`scripts/bench.ts`); machine-readable figures in [results.json](results.json). ' +
      `The simulation part took ${results.elapsedSeconds.toFixed(0)} s. How the simulator works: [docs/simulator.md](../simulator.md).`,
  );
  parts.push('## Autoscaling quality (closed-loop simulation)');
  parts.push(
    'Every policy runs on the same traces, with the same seed, against the same Consumer: 16 partitions, one per instance, ' +
      'the original sample settings (`minSyncPeriod: 1m`, `tolerableLag: 5m`, `criticalLag: 60m`, `recoveryTime: 30m`, ' +
      'pending durations 5m/15m), `ratePerCore: 1000`, `ramPerCore: 1Gi`, CPU 100m–16. Our operator runs through its real ' +
      '`autoscale()` code. Figures: core-hours and GiB-hours (sum of requests over time) relative to the oracle; the share of ' +
      'partition-minutes whose worst lag (age of the oldest unconsumed message) stayed within `tolerableLag`; p99 and maximum ' +
      'of the per-minute worst lag; partition disruptions (restarts, OOM kills, rebalances) per partition-day; applied changes.',
  );
  parts.push(
    `**Cost** combines both at an assumed price ratio: one core-hour costs as much as ${CPU_TO_MEMORY_PRICE_RATIO} GiB-hours ` +
      '(cost = core-hours × ' +
      `${CPU_TO_MEMORY_PRICE_RATIO} + GiB-hours, relative to the oracle's). This is an assumption, not a measurement: on-demand ` +
      'list prices put one vCPU-hour at about 7.5 GiB-hours (Google Compute Engine E2/N2) to 9 GiB-hours (AWS Fargate, ' +
      'GKE Autopilot); discounts, node shapes and bin-packing move it. Core-hours and GiB-hours are shown apart for that reason.',
  );
  parts.push('Model:\n\n' + paramsList(results));
  parts.push('Policies:\n\n' + policyList(results));
  if (week) parts.push(`### ${week.title}\n\n${week.description}\n\n${figuresTable(results, week)}`);
  parts.push(`### Targets for our default policy\n\n${targetsTable(results)}`);
  parts.push(TARGET_NOTES);
  for (const trace of results.traces) {
    parts.push(
      [
        `### ${trace.title} (\`${trace.name}\`)`,
        `${trace.description} ${trace.partitions} partitions, ${trace.hours} h.`,
        figuresTable(results, trace),
        `![allocated CPU](${imagePath(trace.name, 'cpu')})`,
        `![lag](${imagePath(trace.name, 'lag')})`,
        `![cost vs lag](${imagePath(trace.name, 'cost-lag')})`,
      ].join('\n\n'),
    );
  }
  for (const section of extraSections) parts.push(`## ${section.title}\n\n${section.markdown.trim()}`);
  return parts.join('\n\n') + '\n';
}

const TARGET_NOTES = `Per trace, ours against the original (v1.2.2 with its defaults): less lag on every trace (a larger share
within \`tolerableLag\` and a lower p99); fewer GiB-hours on every trace; a lower cost at the assumed price
ratio on every trace (on the stalled trace only just); **more core-hours on every trace**. Why some targets are not met:

- **Core-hours below the original's (not met on any trace: ours uses 2.7–6.9 % more).** The original's
  core-hours are at, or even below, the oracle's because it runs *behind*: it sizes an instance for exactly
  the production rate and only grows once the lag has reached \`tolerableLag\` and then stayed there for the
  5-minute pending period. While an instance is behind, every core it has is busy, so nothing is wasted — the
  bill is low because the lag is high (it spends 0.5–15 % of the partition-minutes above \`tolerableLag\`).
  Keeping the lag within \`tolerableLag\` needs capacity a little above production at the right moments
  (rounding up to \`cpuIncrement\`, a 5 % scale-down margin against noise, the drain after every restart — a
  rollout costs about 30 s of consumption). Our policy already runs without production headroom and with a
  5 % (formerly 10 %) margin: measured on seeds 42 and 7, that saved 1–2 % of the core-hours at the same lag;
  shrinking sooner after a drain (skipping the pending period for a large drop) saved about 2 % more but
  raised restarts (a third more on the week, nearly twice as many on bursts), the p99 lag and OOM kills, so
  it was left out. The row *Original v1.2.2, tuned* shows the
  same rules configured for the SLO (reacting at 40 % of \`tolerableLag\`, 1 minute pending): it meets the SLO
  on 6 of the 8 traces (not *Stalled consumer*, nor *Gaps in metrics*) with 1–3 % fewer core-hours than ours
  (it uses the lag itself as its buffer), but its whole-core memory makes it dearer at the assumed price
  ratio, and a user has to find those settings. The original's bugs (absent metrics read as zeros, a SATURATED or PENDING_SCALE_DOWN instance that
  never grows) are not tunable away: see *Gaps in metrics*.
- **GiB-hours (met on every trace: 0.57–0.67× the original's).** Ours gives memory = \`ramPerCore\` × the CPU
  *request* (at least half a core's worth), the original \`ramPerCore\` × the CPU *limit* in whole cores, so a
  0.7-core instance gets 0.7 GiB instead of 1 GiB. No pod of ours was OOM-killed in any run. Without the
  half-core floor, the smallest instances ran out of memory in the simulator's model (0.2 GiB + 0.5 GiB per
  busy core) and the week fell to 91 % of partition-minutes within \`tolerableLag\`. How much a real consumer
  saves depends on how its memory really grows with throughput.
- **Combined cost (met on every trace at 8 GiB-hours per core-hour: 0.93–0.98× the original's; the stalled
  trace 0.997, a tie).** The saving in memory outweighs the extra core-hours unless a core-hour costs more
  than this many GiB-hours: 8.4 (stalled), 13.5 (bursts), 17.6 (step), 21–23 (diurnal, zipf, hot partition,
  gaps), 26 (week). At AWS Fargate's ratio (about 9) the stalled trace tips to the original.
- **Stalled consumer (99.41 % within \`tolerableLag\`).** While a consumer processes nothing, no amount of CPU
  helps: even the oracle spends the stall above \`tolerableLag\` (99.52 %). After the stall, draining 20 and 45
  minutes of backlog takes our operator a few minutes more than the oracle (it must see consumption restart,
  roll the pod, warm it up), which puts it just under 99.5 %.
- **Another seed.** With seed 7 the picture is the same, except that *Gaps in metrics* reaches 99.39 % within
  \`tolerableLag\` (with the previous settings too: the metrics vanish during the morning ramp, and no
  metrics-driven policy can grow an instance it cannot see), and that on *Stalled consumer* the combined cost
  is 1.003× the original's: a tie that tips the other way.`;

export async function writeReport(
  dir: string,
  run: SimBenchmarkRun | undefined,
  results: SimBenchmark,
  extraSections: readonly ReportSection[] = [],
): Promise<void> {
  mkdirSync(join(dir, 'img'), { recursive: true });
  if (run) {
    for (const trace of results.traces) {
      const series = (run.series.get(trace.name) ?? []).map((s) => ({
        policy: s.policy.id,
        label: s.policy.label,
        points: s.points,
      }));
      const plotted = series.filter((s) => s.policy !== 'ours-naive');
      const tolerable = results.params.tolerableLagMs / 1000;
      const labels = results.policies.map((p) => p.label);
      writeFileSync(
        join(dir, imagePath(trace.name, 'cpu')),
        await renderSvg(cpuChart(trace.title, plotted, labels)),
      );
      writeFileSync(
        join(dir, imagePath(trace.name, 'lag')),
        await renderSvg(lagChart(trace.title, plotted, tolerable, labels)),
      );
      const points = results.policies
        .filter((p) => trace.figures[p.id])
        .map((p) => ({
          label: p.label,
          costRatio: trace.figures[p.id]!.coreHoursRatio,
          withinSlo: trace.figures[p.id]!.withinSloPercent,
        }));
      writeFileSync(
        join(dir, imagePath(trace.name, 'cost-lag')),
        await renderSvg(costLagChart(trace.title, points)),
      );
    }
  }
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(dir, 'README.md'), renderReport(results, extraSections));
}

export type { PolicyFigures };
