// `konsumerator export-traffic`: Prometheus series → the simulator's CSV, pure parts. The whole
// path (a real Prometheus, then `simulate` on the CSV) is in test/e2e/tuning-doc.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { productionQuery, toCsv, toTable } from '../../src/cli/export-traffic.js';
import { parseTraceCsv } from '../../src/sim/csv.js';

const series = (partition: string, values: Array<[number, string]>) => ({ metric: { partition }, values });

describe('export-traffic', () => {
  test("the default query is kafka_exporter's production rate of the topic", () => {
    assert.equal(
      productionQuery('orders', 120_000),
      'sum by (partition) (rate(kafka_topic_partition_current_offset{topic="orders"}[120s]))',
    );
    assert.throws(() => productionQuery('orders"} or vector(1) #', 60_000), /not a Kafka topic name/);
  });

  test('one row per step; a missing value repeats the previous one, 0 at the start; bad series skipped', () => {
    const table = toTable(
      [
        series('0', [
          [60, '10'],
          [120, '12.5'],
          [180, '11'],
        ]),
        series('2', [
          [120, '3'],
          [180, 'NaN'],
        ]),
        { metric: { topic: 'orders' }, values: [[60, '1']] },
      ],
      'partition',
      [60, 120, 180],
    );
    assert.deepEqual(table.rates, [
      [10, 12.5, 11],
      [0, 0, 0],
      [0, 3, 3],
    ]);
    assert.equal(table.filled, 3 + 2);
    assert.deepEqual(table.warnings, ['a series without a partition number in label partition was skipped']);
    const csv = toCsv(table);
    assert.match(csv, /^# .*\ntime,0,1,2\n1970-01-01T00:01:00.000Z,10,0,0\n/);
    const trace = parseTraceCsv(csv, 'exported.csv');
    assert.equal(trace.rates.length, 3);
    assert.equal(trace.rates[0]![0], 10);
  });

  test('--partitions fixes the columns; partitions beyond it are left out with a warning', () => {
    const table = toTable([series('5', [[0, '1']]), series('0', [[0, '2']])], 'partition', [0], 3);
    assert.deepEqual(table.rates, [[2], [0], [0]]);
    assert.deepEqual(table.warnings, ['partition 5 is beyond --partitions 3 and was left out']);
    assert.throws(() => toTable([], 'partition', [0]), /no series with a partition label/);
  });
});
