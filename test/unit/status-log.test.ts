// The bench's description of a status write: what it changed, from two consecutive statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumerStatus } from '../../src/api/schema.js';
import { describeStatusChange } from '../../src/bench/status-log.js';

const condition = (type: string, status: 'True' | 'False', reason: string, message = 'm') => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-03-01T10:00:00Z',
});

test('a status write is described by the conditions, counters and fields it changed', () => {
  const before: ConsumerStatus = {
    expected: 3,
    running: 3,
    lastSyncTime: '2026-03-01T10:00:00Z',
    conditions: [condition('Ready', 'False', 'Progressing'), condition('Degraded', 'False', 'AsExpected')],
  };
  const after: ConsumerStatus = {
    ...before,
    lagging: 1,
    lastSyncTime: '2026-03-01T10:00:05Z',
    conditions: [
      condition('Ready', 'True', 'AllInstancesReady'),
      condition('Degraded', 'False', 'AsExpected', 'other words'),
    ],
  };
  assert.equal(
    describeStatusChange(before, after),
    'Ready=True/AllInstancesReady, Degraded message, lagging 1, lastSyncTime',
  );
  assert.equal(describeStatusChange(after, after), 'nothing visible');
  assert.equal(describeStatusChange(undefined, { observedGeneration: 2 }), 'observedGeneration');
});
