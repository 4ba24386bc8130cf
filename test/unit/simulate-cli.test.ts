// `konsumerator simulate` end to end on small files: the same traffic gives the same figures under
// any file name, the Consumer is refused as the API server refuses it, output paths are checked
// before the run, and the table, notes, series and charts carry the same short policy names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runSimulate, type SimulateOptions } from '../../src/cli/simulate.js';
import { renderNotes, renderTable, shortDuration } from '../../src/cli/simulate-output.js';
import { benchmarkConsumer } from '../../src/sim/bench-consumer.js';
import type { SimResult } from '../../src/sim/run.js';

const dir = mkdtempSync(join(tmpdir(), 'simulate-cli-'));
const PARTITIONS = 3;

/** Two hours of traffic: partition 0 doubles after an hour. */
function trafficCsv(): string {
  const rows = ['time,0,1,2'];
  for (let minute = 0; minute < 120; minute++)
    rows.push(`${minute * 60},${minute < 60 ? 800 : 1600},${300 + (minute % 7) * 10},0`);
  return rows.join('\n') + '\n';
}

const trafficA = join(dir, 'a.csv');
const trafficB = join(dir, 'copy-with-another-name.csv');
writeFileSync(trafficA, trafficCsv());
writeFileSync(trafficB, trafficCsv());
const consumerFile = join(dir, 'consumer.yaml');
writeFileSync(consumerFile, stringify({ kind: 'Consumer', spec: benchmarkConsumer(PARTITIONS) }));

async function simulate(options: Partial<SimulateOptions>): Promise<string> {
  const printed: string[] = [];
  await runSimulate(
    { consumer: consumerFile, traffic: trafficA, compare: 'oracle', seed: '1', ...options },
    (text) => printed.push(text),
  );
  return printed.join('');
}

/** The printed table without its first line (which names the traffic file). */
const body = (output: string) => output.split('\n').slice(1).join('\n');

test('the same traffic under another file name gives the same figures; seed 0 is a seed', async () => {
  const a = await simulate({ traffic: trafficA });
  const b = await simulate({ traffic: trafficB });
  assert.match(a, /from a\.csv/);
  assert.match(b, /from copy-with-another-name\.csv/);
  assert.equal(body(a), body(b));
  const zero = await simulate({ seed: '0' });
  assert.match(zero, /, seed 0,/);
  assert.notEqual(body(zero), body(a), 'seed 0 draws other noise than seed 1');
  await assert.rejects(simulate({ seed: '-1' }), /--seed must be an integer ≥ 0, got "-1"/);
  await assert.rejects(simulate({ seed: '1.5' }), /--seed must be an integer ≥ 0/);
});

test('the Consumer file is refused with the messages of the CRD schema and its CEL rules', async () => {
  const spec = benchmarkConsumer(PARTITIONS);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    stringify({
      kind: 'Consumer',
      spec: {
        ...spec,
        autoscaler: {
          ...spec.autoscaler,
          prometheus: { ...spec.autoscaler.prometheus!, tolerableLag: '2h' },
        },
      },
    }),
  );
  await assert.rejects(
    simulate({ consumer: bad }),
    /bad\.yaml: spec\.autoscaler\.prometheus\.tolerableLag: tolerableLag must not be greater than criticalLag/,
  );
});

test('output paths are checked before the run', async () => {
  const missing = join(dir, 'no-such-consumer.yaml');
  await assert.rejects(
    simulate({ consumer: missing, series: join(dir, 'no-such-dir', 's.csv') }),
    /--series .*s\.csv: cannot write there \(ENOENT\)/,
  );
  await assert.rejects(
    simulate({ consumer: missing, plot: dir }),
    /--plot .*: cannot write there \(is a directory\)/,
  );
  await assert.rejects(simulate({ seriesPerPartition: true }), /--series-per-partition needs --series/);
});

test('table, notes, per-partition series and charts use the same short policy names', async () => {
  const series = join(dir, 'series.csv');
  const plot = join(dir, 'charts.svg');
  const output = await simulate({
    compare: 'oracle,keda,in-place,original-tuned',
    series,
    seriesPerPartition: true,
    plot,
  });
  const tableLines = output.split('\n\n')[1]!.split('\n');
  assert.deepEqual(
    tableLines.map((line) => line.split(/\s+/)[0]),
    ['POLICY', 'ours', 'oracle', 'keda', 'in-place', 'original-tuned'],
  );
  for (const line of output.split('\n').filter((l) => !l.includes(' written to ')))
    assert.ok(line.length <= 80, `fits an 80-column terminal: ${line}`);
  assert.match(output, /^Policies:\n {2}ours {12}this Consumer/m);
  assert.match(output, /, seed 1, learnRatePerCore on\n/, 'learning is on by default');
  assert.match(output, /^ {2}COST× +\(core-hours × 8 \+ GiB-hours\)/m);
  // One replica group: every replica change stops every partition.
  assert.match(output, /^ {2}keda: [\d.]+ restarts\/partition-day = [\d.]+ rebalances/m);
  assert.match(output, /^oracle +[\d.]+ +1\.00× +1\.00× +1\.00×/m);

  const rows = readFileSync(series, 'utf8').trim().split('\n');
  assert.equal(rows[0], 'policy,time_s,partition,production_msg_s,pod_cpu_cores,pod_memory_gib,lag_s');
  assert.equal(rows.length - 1, 5 * 120 * PARTITIONS, 'a row per policy, minute and partition');
  assert.deepEqual(
    [...new Set(rows.slice(1).map((r) => r.split(',')[0]))],
    ['ours', 'oracle', 'keda', 'in-place', 'original-tuned'],
  );
  const at = (policy: string, time: number, partition: number) =>
    rows
      .find((r) => r.startsWith(`${policy},${time},${partition},`))!
      .split(',')
      .map(Number);
  assert.equal(at('ours', 60, 0)[3], 800, 'production of partition 0 in the first minute');
  assert.equal(at('ours', 7200, 0)[3], 1600, 'and in the last');
  assert.ok(at('oracle', 7200, 0)[4]! > at('oracle', 60, 0)[4]!, 'its pod grew with it');

  const svg = readFileSync(plot, 'utf8');
  assert.match(svg, /^<svg/);
  for (const chart of ['allocated CPU', 'worst partition lag', 'cost vs lag'])
    assert.ok(svg.includes(`a.csv: ${chart}`), chart);
  assert.ok(svg.includes('original-tuned'), 'the legend names the policies as the table does');
});

test('notes explain restarts by cause and the worst lag; durations stay short', () => {
  const lagByMinute = [Float32Array.from([0, 10, 20]), Float32Array.from([0, 900, 30])];
  const result = (figures: Partial<SimResult['figures']>): SimResult => ({
    trace: 't',
    policy: 'p',
    figures: {
      coreHours: 10,
      gibHours: 10,
      sloViolationShare: 0,
      p99LagSeconds: 0,
      maxLagSeconds: 900,
      restartsPerPartitionDay: 3,
      restartsByCause: { rollout: 1, fallback: 0, oom: 2, rebalance: 0 },
      scaleActions: 1,
      oomKills: 4,
      ...figures,
    },
    series: [],
    totals: { produced: 0, consumed: 0, backlog: 0 },
    lagByMinute,
    cpuByMinute: [],
    memoryByMinute: [],
  });
  const notes = renderNotes(
    [
      { name: 'vpa', legend: '', result: result({}) },
      {
        name: 'calm',
        legend: '',
        result: result({
          maxLagSeconds: 10,
          restartsPerPartitionDay: 0,
          restartsByCause: { rollout: 0, fallback: 0, oom: 0, rebalance: 0 },
        }),
      },
    ],
    300,
  );
  assert.equal(
    notes,
    [
      'Notes:',
      '  vpa: 3.0 restarts/partition-day = 1.0 restarts to apply a new size (rollout',
      '    or eviction) + 2.0 from 4 OOM kills (memory in use above the limit); worst',
      '    lag 15m on partition 1 at 0.0 h',
    ].join('\n'),
  );
  assert.match(renderTable([{ name: 'calm', legend: 'x', result: result({}) }]), /no oracle in --compare/);
  assert.deepEqual([45, 720, 12_240, Infinity].map(shortDuration), ['45s', '12m', '3.4h', '-']);
});

test('--compare balanced runs the same Consumer as one group of replicas; a Balanced file is refused', async () => {
  const output = await simulate({ compare: 'balanced' });
  assert.match(output, /balanced/);
  const balancedFile = join(dir, 'balanced.yaml');
  writeFileSync(
    balancedFile,
    stringify({ kind: 'Consumer', spec: { ...benchmarkConsumer(PARTITIONS), assignment: 'Balanced' } }),
  );
  await assert.rejects(
    simulate({ consumer: balancedFile }),
    /spec\.assignment: Balanced is not simulated from the file.*--compare balanced/,
  );
});
