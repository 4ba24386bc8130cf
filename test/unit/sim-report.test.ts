// The benchmark report's notes carry no fixed figure: each comes from the results they explain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PolicyFigures, SimBenchmark, TraceResults } from '../../src/sim/benchmark.js';
import { defaultParams } from '../../src/sim/params.js';
import { renderReport, targetNotes } from '../../src/sim/report.js';
import { renderRobustness, type RobustnessRow } from '../../src/sim/robustness.js';

const figures = (f: Partial<PolicyFigures>): PolicyFigures => ({
  coreHours: 10,
  gibHours: 10,
  sloViolationShare: 0,
  p99LagSeconds: 0,
  maxLagSeconds: 0,
  restartsPerPartitionDay: 0,
  restartsByCause: { rollout: 0, fallback: 0, oom: 0, rebalance: 0 },
  scaleActions: 0,
  oomKills: 0,
  coreHoursRatio: 1,
  gibHoursRatio: 1,
  costRatio: 1,
  withinSloPercent: 100,
  ...f,
});

const trace = (name: string, f: Record<string, Partial<PolicyFigures>>): TraceResults => ({
  name,
  title: name.toUpperCase(),
  description: '',
  partitions: 1,
  hours: 1,
  figures: Object.fromEntries(Object.entries(f).map(([id, v]) => [id, figures(v)])),
});

test('the notes under the targets are computed from the results', () => {
  const results: SimBenchmark = {
    seed: 1,
    params: defaultParams(),
    policies: [],
    elapsedSeconds: 1,
    traces: [
      // Ours: 10 % more core-hours, 20 GiB-hours fewer: the same cost at 20 GiB-hours per core-hour.
      trace('a', {
        ours: { coreHours: 11, gibHours: 10, withinSloPercent: 99.9, restartsPerPartitionDay: 0.5 },
        'ours-rollout': { coreHours: 10.5, withinSloPercent: 100, restartsPerPartitionDay: 12 },
        original: { coreHours: 10, gibHours: 30, withinSloPercent: 95 },
      }),
      trace('b', {
        ours: { coreHours: 9, gibHours: 5, withinSloPercent: 99, oomKills: 2 },
        'ours-rollout': { coreHours: 9, withinSloPercent: 99, restartsPerPartitionDay: 4 },
        original: { coreHours: 10, gibHours: 10, withinSloPercent: 90 },
        oracle: { withinSloPercent: 99.25 },
      }),
    ],
  };
  const notes = targetNotes(results);
  assert.match(
    notes,
    /Core-hours below the original's: met on 1 of 2 traces\*\* \(ours against the original: -10\.0 % to \+10\.0 %\)/,
  );
  assert.match(notes, /it spends 5\.0 % to 10\.0 % of the partition-minutes above/);
  assert.match(notes, /GiB-hours: ours \/ original 0\.33 to 0\.50\.\*\*/);
  assert.match(notes, /OOM kills of ours: 2 over all traces/);
  assert.match(notes, /Combined cost below the original's: met on 2 of 2 traces/);
  assert.match(notes, /more than this many GiB-hours: A 20\.0\./);
  assert.match(notes, /\*\*B: 99\.00 % within `tolerableLag`\*\* \(the oracle: 99\.25 %\)/);
  assert.doesNotMatch(notes, /\*\*A: 99\.90 %/, 'a trace that meets the SLO needs no note');
  assert.match(notes, /restarts per partition-day 0\.00 to 0\.50 instead of 4\.0 to 12\.0/);
  assert.match(notes, /worse than with rollouts on 1 of 2 traces \(A\)/);
  assert.match(
    notes,
    /\*\*OOM kills\*\* \(each a restart, counted in restarts per partition-day\): ours 2 on B\./,
  );
});

test('the report gives every trace with and without node headroom, and in place against Rollout for both', () => {
  const withHeadroom = trace('week', {
    ours: { coreHours: 9, withinSloPercent: 99.9, p99LagSeconds: 10 },
    'ours-rollout': { coreHours: 10, withinSloPercent: 99.8, p99LagSeconds: 20 },
  });
  const without = trace('week', {
    ours: { coreHours: 10.5, withinSloPercent: 99.7, p99LagSeconds: 30, coreHoursRatio: 1.234 },
    'ours-rollout': { coreHours: 10, withinSloPercent: 99.8, p99LagSeconds: 20 },
  });
  const results: SimBenchmark = {
    seed: 1,
    params: defaultParams(),
    policies: [
      { id: 'ours', label: 'Ours', description: '' },
      { id: 'ours-rollout', label: 'Rollout', description: '' },
    ],
    elapsedSeconds: 1,
    traces: [withHeadroom],
    tracesWithoutHeadroom: [without],
  };
  const report = renderReport(results);
  assert.match(report, /The same week with no node headroom[^|]*\n\n\| policy[^]*\| Ours \| 1\.23 \|/);
  assert.match(report, /<details><summary>With no node headroom<\/summary>/);
  assert.match(report, /\| WEEK \| 25 % \| 0\.9000 \| 99\.900 vs 99\.800 \| 10 vs 20 \| [^|]* \| yes \|/);
  assert.match(
    report,
    /\| WEEK \| off \| 1\.0500 \| 99\.700 vs 99\.800 \| 30 vs 20 \| [^|]* \| \*\*no\*\* \|/,
  );
  assert.match(report, /a pod may use 25 % of its CPU request on top of it/);
});

test('the robustness table shows the oracle’s own share, within maxAllowed too, and the cost with the setting right; the summary names them', () => {
  const row = (
    trace: string,
    factor: number,
    learning: boolean,
    within: number,
    oracle: number,
    cappedOracle = oracle,
  ) => ({
    trace,
    factor,
    learning,
    withinSloPercent: within,
    oracleWithinSloPercent: oracle,
    maxAllowedOracleWithinSloPercent: cappedOracle,
    coreHoursRatio: learning ? (trace === 'diurnal' ? 1.22 : 1.1) : 1.5,
    setRightCoreHoursRatio: trace === 'diurnal' ? 1.23 : 1.12,
    costRatio: 1,
    restartsPerPartitionDay: 0,
    oomKills: 0,
  });
  /** The table and notes for these rows. */
  const render = (rows: RobustnessRow[]) =>
    renderRobustness({ seed: 1, configuredRatePerCore: 1000, elapsedSeconds: 1, rows });
  const md = render([
    row('diurnal', 0.5, false, 99.8, 100),
    row('diurnal', 0.5, true, 100, 100),
    row('stalled', 0.5, false, 99.18, 99.52, 99.48),
    row('stalled', 0.5, true, 99.41, 99.52, 99.48),
    row('stalled', 1, false, 99.42, 99.52, 99.505),
    row('stalled', 1, true, 99.42, 99.52, 99.505),
  ]);
  assert.match(
    md,
    /\| trace \| real ÷ set \| within tolerableLag \| oracle \| oracle within maxAllowed \| core-hours vs oracle \|/,
  );
  assert.match(
    md,
    /\| stalled \| 0\.5× \| 99\.18 % → 99\.41 % \| 99\.52 % \| 99\.48 % \| 1\.50× → 1\.10× \| 1\.12× \|/,
  );
  assert.match(
    md,
    /\| diurnal \| 0\.5× \| 99\.80 % → 100\.00 % \| 100\.00 % \| 100\.00 % \| 1\.50× → 1\.22× \| 1\.23× \|/,
  );
  // Learning on below 99.5 % (stalled at 0.5× and 1×), set beside the ceiling within maxAllowed;
  // the gaps as the table shows the shares (99.505 shows as 99.50: 0.08 below, not 0.09).
  assert.match(
    md,
    /Where learning on keeps less than 99\.5 % within tolerableLag \(2 of 3 cells: stalled\), the oracle within maxAllowed reaches 99\.48–99\.50 %, and learning on is 0\.07–0\.08 percentage points below it\./,
  );
  assert.match(
    md,
    /highest core-hours 1\.22× the oracle's \(diurnal, 0\.5×, where the setting right costs 1\.23×\)/,
  );
  // stalled 1.10× against 1.12× set right, diurnal 1.22× against 1.23×: neither dearer.
  assert.match(
    md,
    /costs more core-hours than the setting right in 0 of 2 cells with ratePerCore set wrong\./,
  );
  const dearer = render([
    row('zipf', 0.7, false, 100, 100),
    { ...row('zipf', 0.7, true, 100, 100), coreHoursRatio: 1.15, setRightCoreHoursRatio: 1.12 },
  ]);
  assert.match(
    dearer,
    /in 1 of 1 cells with ratePerCore set wrong \(by at most 0\.03× the oracle's core-hours\)\./,
  );
  assert.match(
    md,
    /lowest share within tolerableLag is 99\.41 % \(stalled, 0\.5×, where the oracle reaches 99\.52 %, 99\.48 % within maxAllowed\)/,
  );
  // A file written before the oracle within maxAllowed was recorded: no column figure, no note.
  const unrecorded = (r: RobustnessRow) => ({ ...r, maxAllowedOracleWithinSloPercent: undefined });
  const before = render([
    unrecorded(row('stalled', 0.5, false, 99.18, 99.52)),
    unrecorded(row('stalled', 0.5, true, 99.41, 99.52)),
  ]);
  assert.match(before, /\| stalled \| 0\.5× \| 99\.18 % → 99\.41 % \| 99\.52 % \| — \| 1\.50× → 1\.10× \|/);
  assert.match(before, /\(stalled, 0\.5×, where the oracle reaches 99\.52 %\) and the highest/);
  assert.doesNotMatch(before, /Where learning on keeps less/);
  // A file written before the oracle's share was recorded still renders.
  const old = render([
    {
      ...row('step', 2, false, 100, 100),
      oracleWithinSloPercent: undefined,
      maxAllowedOracleWithinSloPercent: undefined,
      setRightCoreHoursRatio: undefined,
    },
    {
      ...row('step', 2, true, 100, 100),
      oracleWithinSloPercent: undefined,
      maxAllowedOracleWithinSloPercent: undefined,
      setRightCoreHoursRatio: undefined,
    },
  ]);
  assert.match(old, /\| step \| 2× \| 100\.00 % → 100\.00 % \| — \| — \| 1\.50× → 1\.10× \| — \|/);
});
