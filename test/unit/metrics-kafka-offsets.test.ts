import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { offsetMetrics, rateOf, type OffsetSnapshot } from '../../src/metrics/kafka-offsets.js';

const pts = (...list: Array<[number, number | undefined]>) => list.map(([time, value]) => ({ time, value }));

test('rate between the two newest points by default', () => {
  assert.deepEqual(rateOf(pts([0, 0], [10_000, 100], [20_000, 400])), { rate: 30 });
  assert.deepEqual(rateOf(pts([0, 5])), {}, 'one point: unknown');
  assert.deepEqual(rateOf([]), {});
  assert.deepEqual(rateOf(pts([0, 5], [1000, undefined])), {}, 'no current value: unknown');
});

test('a window reaches back to the newest point at least that old, or the oldest usable one', () => {
  const p = pts([0, 0], [10_000, 100], [20_000, 400], [30_000, 600]);
  assert.deepEqual(rateOf(p, 15_000), { rate: 25 }, '(600-100)/20s');
  assert.deepEqual(rateOf(p, 60_000), { rate: 20 }, 'history shorter than the window: the oldest point');
});

test('a decrease in the newest interval: unknown and reported; older decreases bound the window', () => {
  assert.deepEqual(rateOf(pts([0, 50], [10_000, 100], [20_000, 30])), { wentBack: { from: 100, to: 30 } });
  assert.deepEqual(rateOf(pts([0, 500], [10_000, 30], [20_000, 130]), 60_000), { rate: 10 });
});

test('gaps and clocks that do not advance are never used as the reference', () => {
  assert.deepEqual(rateOf(pts([0, 0], [10_000, undefined], [20_000, 100]), 60_000), {});
  assert.deepEqual(rateOf(pts([0, 0], [10_000, 100], [10_000, 100])), { rate: 10 });
  assert.deepEqual(rateOf(pts([20_000, 0], [10_000, 100])), {});
});

test('rates of steadily growing offsets equal the growth rate', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 120_000 }), { minLength: 2, maxLength: 10 }),
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 0, max: 300_000 }),
      (gaps, perSecond, windowMs) => {
        let time = 0;
        const points = gaps.map((gap) => {
          time += gap;
          return { time, value: (time * perSecond) / 1000 };
        });
        const { rate } = rateOf(points, windowMs);
        assert.ok(rate !== undefined && Math.abs(rate - perSecond) < 1e-6 * Math.max(1, perSecond));
      },
    ),
  );
});

const snap = (
  time: number,
  logEnd: Record<number, number> | undefined,
  committed: Record<number, number> | undefined,
  logStart: Record<number, number> = {},
): OffsetSnapshot => {
  const map = (r: Record<number, number>) => new Map(Object.entries(r).map(([k, v]) => [Number(k), v]));
  return {
    time,
    ...(logEnd
      ? {
          logEnd: map(logEnd),
          logStart: map({ ...Object.fromEntries(Object.keys(logEnd).map((k) => [k, 0])), ...logStart }),
        }
      : {}),
    ...(committed ? { committed: map(committed) } : {}),
  };
};

test('behind = log end − committed; first read has no rates', () => {
  const { partitions, warnings } = offsetMetrics([snap(0, { 0: 100, 1: 50, 2: 7 }, { 0: 40, 1: 50 })], 3);
  assert.deepEqual(partitions.get(0), { behind: 60 });
  assert.deepEqual(partitions.get(1), { behind: 0 });
  assert.deepEqual(partitions.get(2), {}, 'never committed: unknown by default');
  assert.deepEqual(warnings, [
    'kafka: first read: rates unknown until the next one',
    'kafka: no committed offset for partitions 2: behind and consumption unknown',
  ]);
});

test("uncommitted: 'earliest' counts a never-committed partition from the log start", () => {
  const { partitions, warnings } = offsetMetrics([snap(0, { 0: 100 }, {}, { 0: 30 })], 1, {
    uncommitted: 'earliest',
  });
  assert.deepEqual(partitions.get(0), { behind: 70 });
  assert.match(
    warnings.join('\n'),
    /no committed offset for partitions 0: behind counted from the log start/,
  );
});

test('rates from successive reads; a rewind makes consumption unknown for that interval', () => {
  const history = [
    snap(0, { 0: 100, 1: 0 }, { 0: 50, 1: 0 }),
    snap(10_000, { 0: 300, 1: 10 }, { 0: 150, 1: 10 }),
  ];
  let r = offsetMetrics(history, 2);
  assert.deepEqual(r.partitions.get(0), { behind: 150, production: 20, consumption: 10 });
  assert.deepEqual(r.partitions.get(1), { behind: 0, production: 1, consumption: 1 });
  assert.deepEqual(r.warnings, []);

  history.push(snap(20_000, { 0: 400, 1: 20 }, { 0: 20, 1: 20 }));
  r = offsetMetrics(history, 2);
  assert.deepEqual(r.partitions.get(0), { behind: 380, production: 10 });
  assert.deepEqual(r.warnings, [
    'kafka: committed offset went back (reset or rewind): consumption unknown for 0 (150 → 20)',
  ]);

  history.push(snap(30_000, { 0: 500, 1: 30 }, { 0: 120, 1: 30 }));
  r = offsetMetrics(history, 2, { rateWindowMs: 60_000 });
  assert.deepEqual(
    r.partitions.get(0),
    { behind: 380, production: 400 / 30, consumption: 10 },
    'the window stops at the rewind',
  );
  assert.deepEqual(r.warnings, []);
});

test('failed fetches, committed beyond the log end, topic smaller or larger than numPartitions', () => {
  let r = offsetMetrics([snap(0, undefined, { 0: 5 }), snap(1000, undefined, { 0: 15 })], 1);
  assert.deepEqual(r.partitions.get(0), { consumption: 10 }, 'no log end: behind and production unknown');
  r = offsetMetrics([snap(0, { 0: 10 }, undefined)], 1);
  assert.deepEqual(r.partitions.get(0), {}, 'no committed offsets (fetch failed): behind unknown');
  r = offsetMetrics([snap(0, { 0: 10, 1: 5 }, { 0: 12, 1: 5 })], 3);
  assert.deepEqual(r.partitions.get(0), {});
  assert.deepEqual(r.partitions.get(2), {});
  const w = r.warnings.join('\n');
  assert.match(
    w,
    /committed offset beyond the log end .*: behind unknown for 0 \(committed 12 > log end 10\)/,
  );
  assert.match(w, /the topic has 2 partitions, fewer than numPartitions 3: partitions 2 unknown/);
  r = offsetMetrics([snap(0, { 0: 1, 1: 1, 2: 1 }, { 0: 1 })], 1);
  assert.match(
    r.warnings.join('\n'),
    /the topic has 3 partitions, more than numPartitions 1: partitions 1-2 ignored/,
  );
  assert.deepEqual([...r.partitions.keys()], [0]);
});

test('a log end going back (topic re-created) makes production unknown, with a warning', () => {
  const r = offsetMetrics([snap(0, { 0: 100 }, { 0: 100 }), snap(1000, { 0: 3 }, { 0: 3 })], 1);
  assert.deepEqual(r.partitions.get(0), { behind: 0 });
  assert.match(r.warnings.join('\n'), /log-end offset went back .*production unknown for 0 \(100 → 3\)/);
});
