import { test } from 'node:test';
import assert from 'node:assert/strict';
import { driftPaths } from '../../src/plan/compare.js';

test('fields the server added are not drift', () => {
  assert.deepEqual(driftPaths({ a: 1 }, { a: 1, b: 2 }), []);
  assert.deepEqual(
    driftPaths(
      { containers: [{ name: 'c', image: 'x' }] },
      { containers: [{ name: 'c', image: 'x', imagePullPolicy: 'Always' }] },
    ),
    [],
  );
});

test('values the server drops or canonicalises are not drift', () => {
  assert.deepEqual(driftPaths({ env: [{ name: 'A', value: '' }] }, { env: [{ name: 'A' }] }), []);
  assert.deepEqual(
    driftPaths(
      { resources: { limits: { cpu: '1000m', memory: '1Gi' } } },
      { resources: { limits: { cpu: '1', memory: '1073741824' } } },
    ),
    [],
  );
  assert.deepEqual(driftPaths({ labels: {} }, {}), []);
});

test('changed values, missing items and quantities are drift', () => {
  assert.deepEqual(driftPaths({ a: { b: 1 } }, { a: { b: 2 } }), ['a.b']);
  assert.deepEqual(driftPaths({ env: [{ name: 'A', value: '1' }] }, { env: [{ name: 'B', value: '1' }] }), [
    'env[name=A]',
  ]);
  assert.deepEqual(
    driftPaths({ resources: { limits: { cpu: '1' } } }, { resources: { limits: { cpu: '2' } } }),
    ['resources.limits.cpu'],
  );
  assert.deepEqual(driftPaths({ args: ['a', 'b'] }, { args: ['a'] }), ['args']);
  assert.deepEqual(driftPaths({ replicas: 2 }, {}), ['replicas']);
});

test('items other managers added to keyed lists are theirs, not drift', () => {
  assert.deepEqual(
    driftPaths(
      { refs: [{ uid: 'a', name: 'x' }] },
      {
        refs: [
          { uid: 'b', name: 'y' },
          { uid: 'a', name: 'x' },
        ],
      },
    ),
    [],
  );
});
