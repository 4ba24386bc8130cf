// The reconcile after a status write plans from the written status while the informer is behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OwnStatusWrites } from '../../src/controller/own-writes.js';
import { consumer } from '../support/consumers.js';

const version = (resourceVersion: string, uid = 'u1', lagging = 0) => {
  const c = consumer();
  c.metadata = { ...c.metadata, uid, resourceVersion };
  c.status = { lagging };
  return c;
};

test('while the cache holds an older version, the written object stands in for it', () => {
  const own = new OwnStatusWrites();
  own.remember('ns/orders', version('120', 'u1', 5));
  assert.equal(own.latest('ns/orders', version('110')).status?.lagging, 5, 'cache older: the write');
  assert.equal(own.latest('ns/orders', version('110')).metadata.resourceVersion, '120');
  // The cache has caught up (or moved past it): the cached object, and the write is forgotten.
  assert.equal(own.latest('ns/orders', version('130', 'u1', 7)).status?.lagging, 7);
  assert.equal(own.latest('ns/orders', version('110')).status?.lagging, 0, 'forgotten once caught up');
});

test('a Consumer made anew under the same name is never shown the old one', () => {
  const own = new OwnStatusWrites();
  own.remember('ns/orders', version('120', 'u1', 5));
  assert.equal(own.latest('ns/orders', version('90', 'u2')).metadata.uid, 'u2');
  own.remember('ns/orders', version('140', 'u2', 3));
  own.forget('ns/orders');
  assert.equal(own.latest('ns/orders', version('130', 'u2')).status?.lagging, 0, 'forgotten');
  assert.equal(own.latest('other/orders', version('1')).metadata.resourceVersion, '1');
});
