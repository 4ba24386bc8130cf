// ratePerCore below 1 (slow consumers): the predictor sizes from it, and the simulator's closed
// loop (the operator's real decision code) keeps such a consumer within its lag objective at a
// cost close to the oracle's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoscaleConfig } from '../../src/autoscale/config.js';
import { sizeForRate } from '../../src/autoscale/predictor.js';
import { benchmarkConsumer } from '../../src/sim/bench-consumer.js';
import { parseTraceCsv } from '../../src/sim/csv.js';
import { defaultParams } from '../../src/sim/params.js';
import { oraclePolicy, oursDefault } from '../../src/sim/policies/index.js';
import { simulate } from '../../src/sim/run.js';
import { simSetup } from '../../src/sim/setup.js';

test('the predictor sizes 1 msg/s at 0.5 msg/s per core as 2 cores, 0.25 msg/s as half a core', () => {
  const settings = autoscaleConfig(benchmarkConsumer(2, 0.5))!.settings;
  assert.equal(settings.ratePerCore, 0.5);
  assert.equal(sizeForRate(1, settings).cpuRequest, 2000);
  assert.equal(sizeForRate(1, settings).cpuLimit, 2000);
  assert.equal(sizeForRate(0.25, settings).cpuRequest, 500);
});

test('a slow consumer (0.5 msg/s per core) in the closed loop: within its lag objective, near the oracle', () => {
  // Two hours, one row a minute: partition 0 at 1 msg/s then 3 msg/s, partition 1 at 0.2 msg/s.
  const rows = Array.from({ length: 120 }, (_, minute) => `${minute * 60},${minute < 60 ? 1 : 3},0.2`);
  const trace = parseTraceCsv(['time,0,1', ...rows].join('\n'), 'slow.csv');
  const setup = simSetup(benchmarkConsumer(2, 0.5));
  const params = defaultParams({ ratePerCore: 0.5 });
  const oracle = simulate(trace, oraclePolicy, setup, params);
  const ours = simulate(trace, oursDefault, setup, params);
  for (const figures of [oracle.figures, ours.figures])
    for (const [key, value] of Object.entries(figures))
      if (typeof value === 'number') assert.ok(Number.isFinite(value), `${key} is a number: ${value}`);
  assert.ok(
    ours.figures.sloViolationShare < 0.05,
    `within tolerableLag: ${1 - ours.figures.sloViolationShare}`,
  );
  const ratio = ours.figures.coreHours / oracle.figures.coreHours;
  assert.ok(ratio > 0.9 && ratio < 2, `core-hours ${ratio.toFixed(2)}× the oracle's`);
});
