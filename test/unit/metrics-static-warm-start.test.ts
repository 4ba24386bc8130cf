import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StaticProvider } from '../../src/metrics/static.js';
import { fromLastSyncState, toLastSyncState } from '../../src/metrics/warm-start.js';

const at = new Date('2025-01-02T03:04:05Z');

test('static provider: inline values, unlisted partitions unknown, extra ones ignored', async () => {
  const provider = new StaticProvider({
    partitions: {
      '0': { production: 100, consumption: 90, behind: 500 },
      '2': { behind: 0 },
      '7': { production: 1 },
    },
    clock: () => at,
  });
  const r = await provider.read(3);
  assert.equal(r.time, at);
  assert.deepEqual(
    [...r.partitions],
    [
      [0, { production: 100, consumption: 90, behind: 500 }],
      [1, {}],
      [2, { behind: 0 }],
    ],
  );
  assert.deepEqual(r.warnings, [
    'static: no values for partitions 1: unknown',
    'static: values for partitions 7 ignored: beyond numPartitions 3',
  ]);
  provider.set({ '0': { behind: 1 } });
  assert.deepEqual((await provider.read(1)).partitions.get(0), { behind: 1 });
  await assert.rejects(provider.read(-1), /numPartitions must be a non-negative integer/);
});

test('static provider rejects invalid values at construction, listing every problem', () => {
  assert.throws(
    () =>
      new StaticProvider({
        partitions: {
          x: {},
          '1': { production: -1, behind: Number.NaN },
          '2': { lag: 3 } as never,
        },
      }),
    new Error(
      'static metrics: partition 1: production must be a finite number >= 0, got -1; ' +
        'partition 1: behind must be a finite number >= 0, got NaN; partition 2: unknown field(s) lag; ' +
        'key "x" is not a partition number',
    ),
  );
});

test('lastSyncState: rounded int64 values, unknown fields omitted, every partition keyed', () => {
  const partitions = new Map([
    [0, { production: 10.6, consumption: 0.4, behind: 1234 }],
    [1, {}],
    [2, { behind: Number.NaN, production: -1 }],
  ]);
  assert.deepEqual(toLastSyncState({ partitions }), {
    '0': { productionRate: 11, consumptionRate: 0, messageBehind: 1234 },
    '1': {},
    '2': {},
  });
});

test('warm start: a reading rebuilt from status, unknown where status has nothing', () => {
  const r = fromLastSyncState(
    {
      '0': { productionRate: 5, consumptionRate: 4, messageBehind: 10 },
      '1': { messageBehind: 3 },
      '9': {},
      x: {},
    },
    '2025-01-02T03:04:05Z',
    3,
  );
  assert.ok(r);
  assert.equal(r.time.toISOString(), '2025-01-02T03:04:05.000Z');
  assert.deepEqual(
    [...r.partitions],
    [
      [0, { production: 5, consumption: 4, behind: 10 }],
      [1, { behind: 3 }],
      [2, {}],
    ],
  );
  assert.deepEqual(r.warnings, [
    'status: lastSyncState key "x" is not a partition number: ignored',
    'status: no lastSyncState for partitions 2: unknown',
  ]);
  const bad = fromLastSyncState({ '0': { messageBehind: -2 } }, '2025-01-02T03:04:05Z', 1);
  assert.deepEqual(bad?.partitions.get(0), {});
  assert.match(bad!.warnings[0]!, /messageBehind = -2 is invalid/);
  assert.equal(fromLastSyncState(undefined, '2025-01-02T03:04:05Z', 1), undefined);
  assert.equal(fromLastSyncState({}, undefined, 1), undefined);
  assert.equal(fromLastSyncState({}, 'not a time', 1), undefined);
});

test('round trip: status → reading → status is the identity on valid states', () => {
  const state = { '0': { productionRate: 5, messageBehind: 0 }, '1': { consumptionRate: 7 } };
  const reading = fromLastSyncState(state, '2025-01-02T03:04:05Z', 2)!;
  assert.deepEqual(toLastSyncState(reading), state);
});
