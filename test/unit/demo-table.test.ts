// The demo's instance table in human units, and its change lines: one per instance whose size or
// state changed since the last look.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import { instanceSize, renderInstances, sizeChanges, type InstanceSize } from '../../src/cli/table.js';

function deployment(
  name: string,
  cpu: string,
  memory: string,
  state: string,
  resized?: string,
): V1Deployment {
  return {
    metadata: {
      name,
      annotations: {
        'konsumerator.lwolf.org/partition': '0,1',
        'konsumerator.lwolf.org/scaling-status': state,
        ...(resized ? { 'konsumerator.lwolf.org/resources': resized } : {}),
      },
    },
    spec: {
      replicas: 1,
      selector: {},
      template: {
        spec: {
          containers: [
            { name: 'consumer', resources: { requests: { cpu, memory }, limits: { cpu: '1', memory } } },
          ],
        },
      },
    },
  };
}

test('memory in binary units, CPU in cores or millicores, the size after an in-place resize', () => {
  const d = deployment('demo-0', '100m', '614465536', 'RUNNING');
  assert.deepEqual(instanceSize(d), {
    name: 'demo-0',
    partitions: '0,1',
    cpuRequest: '100m',
    cpuLimit: '1',
    memory: '586Mi',
    state: 'RUNNING',
  });
  const resized = deployment(
    'demo-0',
    '100m',
    '614465536',
    'RUNNING',
    '{"container":"consumer","requests":{"cpu":"1500m","memory":"300M"},"limits":{"cpu":"2","memory":"300M"}}',
  );
  assert.equal(instanceSize(resized).cpuRequest, '1.5');
  assert.equal(instanceSize(resized).memory, '286Mi');
  const table = renderInstances([d], []);
  assert.match(table, /^demo-0\s+0,1\s+100m\s+1\s+586Mi\s+RUNNING\s+0\/1$/m);
  assert.doesNotMatch(table, /614465536/);
});

test('a line per changed instance: size, state, new and gone; nothing for an unchanged one', () => {
  const size = (name: string, cpu: string, state: string): InstanceSize => ({
    name,
    partitions: '0,1',
    cpuRequest: cpu,
    cpuLimit: '1',
    memory: '95.4Mi',
    state,
  });
  const before = new Map([
    ['demo-0', size('demo-0', '100m', 'PENDING_SCALE_UP')],
    ['demo-1', size('demo-1', '100m', 'RUNNING')],
    ['demo-2', size('demo-2', '100m', 'RUNNING')],
  ]);
  const now = new Map([
    ['demo-0', { ...size('demo-0', '1.5', 'RUNNING'), cpuLimit: '2', memory: '143Mi' }],
    ['demo-1', size('demo-1', '100m', 'RUNNING')],
    ['demo-3', size('demo-3', '100m', 'RUNNING')],
  ]);
  assert.deepEqual(sizeChanges(before, now), [
    'demo-0 (0,1): cpu 100m/1 → 1.5/2, memory 95.4Mi → 143Mi; PENDING_SCALE_UP → RUNNING',
    'demo-2: gone',
    'demo-3 (0,1): new, cpu 100m/1, memory 95.4Mi; RUNNING',
  ]);
  assert.deepEqual(sizeChanges(now, now), []);
});
