import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../src/util/hash.js';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import {
  buildStatus,
  ROLLOUT_SYNC_CHECKPOINT_MS,
  withPersistedSync,
  type Outcome,
} from '../../src/plan/status.js';
import { consumer } from '../support/consumers.js';
import { applied } from '../support/applied.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const CHECKPOINT_MS = 300_000;
const sync = (seconds: number, behind: number): Outcome => ({
  autoscaling: true,
  syncCheckpointMs: CHECKPOINT_MS,
  autoscaleStatus: {
    lastSyncTime: at(seconds)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z'),
    lastSyncState: { '0': { productionRate: 5, consumptionRate: 5, messageBehind: behind } },
    lagging: 0,
  },
});

/**
 * A Consumer whose stored status is what buildStatus gave at `seconds`: with its instances rolled
 * out (converged), or `rolling` (created, not yet rolled out: Progressing).
 */
function persisted(seconds: number, behind: number, rolling = false) {
  const c = consumer();
  const created = planConsumer({ consumer: c, deployments: [], now: at(seconds) });
  const deployments = applied(created.actions);
  if (rolling) for (const d of deployments) d.status = { observedGeneration: 0 };
  const plan = planConsumer({ consumer: c, deployments, now: at(seconds) });
  c.status = buildStatus(c, plan, sync(seconds, behind), at(seconds));
  return { c, plan };
}

const progressing = (s: { conditions?: { type: string; status: string }[] } | undefined) =>
  s?.conditions?.find((x) => x.type === 'Progressing')?.status;

/** What the reconciler writes: the held status when it equals the stored one, else the fresh one. */
function toWrite(seconds: number, outcome: Outcome, c = persisted(0, 0)) {
  const fresh = buildStatus(c.c, c.plan, outcome, at(seconds));
  const held = withPersistedSync(c.c.status!, fresh, outcome.syncCheckpointMs, at(seconds));
  const unchanged = (s: object) => canonicalJson(s) === canonicalJson(c.c.status);
  if (held && unchanged(held)) return undefined;
  return unchanged(fresh) ? undefined : fresh;
}

test('a read that changes only lastSyncTime/lastSyncState is not written before the checkpoint', () => {
  assert.equal(toWrite(60, sync(60, 3)), undefined);
  assert.equal(toWrite(299, sync(299, 3)), undefined);
});

test('the sync fields are written once the persisted ones are as old as the checkpoint', () => {
  const written = toWrite(300, sync(300, 3))!;
  assert.equal(written.lastSyncTime, '2026-01-01T00:05:00Z');
  assert.equal(written.lastSyncState!['0']!.messageBehind, 3);
});

test('any other status change carries the fresh sync fields along', () => {
  const outcome = sync(60, 3);
  outcome.autoscaleStatus!.lagging = 1;
  const written = toWrite(60, outcome)!;
  assert.equal(written.lagging, 1);
  assert.equal(written.lastSyncTime, '2026-01-01T00:01:00Z');
  assert.equal(written.lastSyncState!['0']!.messageBehind, 3);
});

test('without a checkpoint every read is written', () => {
  const outcome = sync(60, 3);
  delete outcome.syncCheckpointMs;
  assert.equal(toWrite(60, outcome)!.lastSyncTime, '2026-01-01T00:01:00Z');
});

test('the persisted status used here is converged, or rolling out', () => {
  assert.equal(progressing(persisted(0, 0).c.status), 'False');
  assert.equal(progressing(persisted(0, 0, true).c.status), 'True');
});

test('during a roll the sync fields wait for the roll to end, up to the rollout checkpoint', () => {
  const rolling = persisted(0, 0, true);
  assert.equal(toWrite(300, sync(300, 3), rolling), undefined, 'no checkpoint write at 5 min of a roll');
  const last = ROLLOUT_SYNC_CHECKPOINT_MS / 1000 - 1;
  assert.equal(toWrite(last, sync(last, 3), rolling), undefined);
  const stuck = ROLLOUT_SYNC_CHECKPOINT_MS / 1000;
  assert.equal(toWrite(stuck, sync(stuck, 3), rolling)?.lastSyncTime, '2026-01-01T00:30:00Z');
});

test('the end of a roll carries the fresh sync fields', () => {
  const rolling = persisted(0, 0, true);
  const done = persisted(0, 0);
  const ended = buildStatus(rolling.c, done.plan, sync(400, 3), at(400));
  assert.equal(progressing(ended), 'False');
  const held = withPersistedSync(rolling.c.status!, ended, CHECKPOINT_MS, at(400));
  assert.notEqual(canonicalJson(held), canonicalJson(rolling.c.status), 'the end is written');
  assert.equal(ended.lastSyncTime, '2026-01-01T00:06:40Z');
});
