import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import { buildStatus, type Outcome } from '../../src/plan/status.js';
import { consumer } from '../support/consumers.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const sync = (seconds: number, behind: number): Outcome => ({
  autoscaling: true,
  syncCheckpointMs: 300_000,
  autoscaleStatus: {
    lastSyncTime: at(seconds)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z'),
    lastSyncState: { '0': { productionRate: 5, consumptionRate: 5, messageBehind: behind } },
    lagging: 0,
  },
});

/** A Consumer whose status is what buildStatus returned at `seconds`. */
function persisted(seconds: number, behind: number) {
  const c = consumer();
  const plan = planConsumer({ consumer: c, deployments: [], now: at(seconds) });
  c.status = buildStatus(c, plan, sync(seconds, behind), at(seconds));
  return { c, plan };
}

test('a read that changes only lastSyncTime/lastSyncState is not written before the checkpoint', () => {
  const { c, plan } = persisted(0, 0);
  const next = buildStatus(c, plan, sync(60, 3), at(60));
  assert.equal(next, c.status, 'the persisted status stands: nothing to write');
});

test('the sync fields are written once the persisted ones are as old as the checkpoint', () => {
  const { c, plan } = persisted(0, 0);
  const next = buildStatus(c, plan, sync(300, 3), at(300));
  assert.equal(next.lastSyncTime, '2026-01-01T00:05:00Z');
  assert.equal(next.lastSyncState!['0']!.messageBehind, 3);
});

test('any other status change carries the fresh sync fields along', () => {
  const { c, plan } = persisted(0, 0);
  const outcome = sync(60, 3);
  outcome.autoscaleStatus!.lagging = 1;
  const next = buildStatus(c, plan, outcome, at(60));
  assert.equal(next.lagging, 1);
  assert.equal(next.lastSyncTime, '2026-01-01T00:01:00Z');
  assert.equal(next.lastSyncState!['0']!.messageBehind, 3);
});

test('without a checkpoint every read is written', () => {
  const { c, plan } = persisted(0, 0);
  const outcome = sync(60, 3);
  delete outcome.syncCheckpointMs;
  assert.equal(buildStatus(c, plan, outcome, at(60)).lastSyncTime, '2026-01-01T00:01:00Z');
});
