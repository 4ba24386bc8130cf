import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePartitionList, partitionsLabel, splitIntoBuckets } from '../../src/plan/partitions.js';
import { instanceCount } from '../../src/api/resolve.js';
import { instanceIdFromName, instanceName } from '../../src/plan/render.js';

test('splits partitions exactly as the original: contiguous buckets, the first ones one larger', () => {
  assert.deepEqual(splitIntoBuckets(10, 3), [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7],
    [8, 9],
  ]);
  assert.deepEqual(splitIntoBuckets(12, 3), [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
    [9, 10, 11],
  ]);
  assert.deepEqual(splitIntoBuckets(3, 5), [[0, 1, 2]]);
  assert.deepEqual(splitIntoBuckets(5, 1), [[0], [1], [2], [3], [4]]);
  assert.deepEqual(splitIntoBuckets(0, 3), []);
  assert.deepEqual(splitIntoBuckets(4, 0), [[0], [1], [2], [3]], 'a bucket size of 0 means 1');
});

test('buckets cover every partition once, in order, with sizes at most one apart', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 300 }), (size, desired) => {
      const buckets = splitIntoBuckets(size, desired);
      assert.deepEqual(
        buckets.flat(),
        Array.from({ length: size }, (_, i) => i),
      );
      assert.equal(buckets.length, Math.ceil(size / desired));
      const lengths = buckets.map((b) => b.length);
      assert.ok(Math.max(...lengths) - Math.min(...lengths) <= 1);
      assert.ok(Math.max(...lengths) <= desired);
    }),
  );
});

test('partitions label is the original range form, at most 63 characters', () => {
  assert.equal(partitionsLabel([5]), '5');
  assert.equal(partitionsLabel([4, 5]), '4-5');
  assert.equal(partitionsLabel([0, 1, 2, 3, 4, 5, 6]), '0-6');
  assert.equal(partitionsLabel([]), '');
});

test('partition annotation parsing rejects anything but a list of numbers', () => {
  assert.deepEqual(parsePartitionList('0,1,2'), [0, 1, 2]);
  assert.equal(parsePartitionList(''), undefined);
  assert.equal(parsePartitionList('0,x'), undefined);
  assert.equal(parsePartitionList(undefined), undefined);
});

test('one instance-count rule: the spec check and the split agree', () => {
  fc.assert(
    fc.property(fc.integer({ min: -3, max: 3000 }), fc.integer({ min: -2, max: 400 }), (size, desired) => {
      assert.equal(instanceCount(size, desired), splitIntoBuckets(size, desired).length);
    }),
  );
});

test('one instance-name rule: a name is read back to its id, anything else is no instance', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 999_999_999 }), (id) => {
      assert.equal(instanceIdFromName(instanceName('orders', id), 'orders'), id);
      assert.equal(instanceIdFromName(instanceName('my-orders', id), 'my-orders'), id);
    }),
  );
  for (const name of [
    'orders-007',
    'orders--1',
    'orders-1a',
    'orders-',
    'orders-1-2',
    'other-1',
    'orders-1234567890',
  ])
    assert.equal(instanceIdFromName(name, 'orders'), undefined, name);
  // A longer prefix that shares the start is not this Consumer's instance.
  assert.equal(instanceIdFromName('orders-eu-3', 'orders'), undefined);
});
