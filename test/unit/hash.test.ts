// canonicalJson feeds the render-hash and generation annotations stored on every Deployment: its
// text must stay what JSON.stringify with a key-sorting replacer gave (the former implementation,
// kept here as the reference), or an upgrade would rewrite every instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, stableHash } from '../../src/util/hash.js';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import { baseSpec, consumer } from '../support/consumers.js';

const reference = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

test('canonical JSON is the text of JSON.stringify with sorted keys, for every kind of value', () => {
  const values: unknown[] = [
    null,
    0,
    -0,
    1.5,
    1e21,
    1e-7,
    NaN,
    Infinity,
    -Infinity,
    true,
    false,
    '',
    'quote " backslash \\ newline \n tab \t control \u0001 unicode é 😀 \u2028',
    [],
    {},
    [undefined, () => 1, Symbol('s'), null, 1, 'a', [[]], {}],
    { b: 1, a: 2, c: undefined, d: () => 1, e: Symbol('s'), 10: 'ten', 2: 'two', Z: 'upper', é: 'accent' },
    { nested: { z: [{ y: 1, x: { w: null } }], a: new Date('2026-01-02T03:04:05.678Z') } },
    { toJSON: () => ({ b: 1, a: 2 }) },
    new Map([['a', 1]]),
  ];
  for (const value of values) assert.equal(canonicalJson(value), reference(value), String(reference(value)));
  assert.equal(canonicalJson(undefined), reference(undefined));
  assert.throws(() => canonicalJson({ big: 1n }), TypeError);
});

test('canonical JSON equals the reference on arbitrary JSON-like values, keys of any shape', () => {
  fc.assert(
    fc.property(fc.anything({ withDate: true, withNullPrototype: true, withSparseArray: true }), (value) => {
      assert.equal(canonicalJson(value), reference(value));
    }),
    { numRuns: 2000 },
  );
});

test('a rendered Deployment has the same canonical JSON and hash as before', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const { actions } = planConsumer({
    consumer: consumer(baseSpec({ numPartitions: 3 })),
    deployments: [],
    now,
  });
  assert.ok(actions.length > 0);
  for (const action of actions) {
    assert.ok(action.type === 'create');
    assert.equal(canonicalJson(action.deployment), reference(action.deployment));
  }
  // Pinned: the text of a small object and its hash (63 bits of SHA-256, decimal).
  assert.equal(
    canonicalJson({ b: [1, { d: 'x', c: null }], a: true }),
    '{"a":true,"b":[1,{"c":null,"d":"x"}]}',
  );
  assert.equal(stableHash({ b: [1, { d: 'x', c: null }], a: true }), '1218806282568913821');
});
