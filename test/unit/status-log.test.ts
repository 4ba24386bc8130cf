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

test('a change of status.instances says how many entries changed and which of their fields', () => {
  const entry = { id: 0, partitions: '0', cpu: '500m', action: 'none' as const };
  const before: ConsumerStatus = { instances: [entry, { ...entry, id: 1, partitions: '1' }] };
  const after: ConsumerStatus = {
    instances: [
      { ...entry, cpu: '1', action: 'scale-up' },
      { ...entry, id: 1, partitions: '1' },
      { ...entry, id: 2, partitions: '2' },
    ],
  };
  assert.equal(describeStatusChange(before, after), 'instances (2: action, added, cpu)');
  assert.equal(describeStatusChange(undefined, after), 'instances');
});
