import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applySizing, decideSizing, isSized, runningFallback } from '../../src/plan/resources.js';
import { clampToPolicy, policyFallback } from '../../src/autoscale/sizing.js';
import type { V1Deployment } from '@kubernetes/client-node';

const policy = {
  containerName: 'consumer',
  minAllowed: { cpu: '100m', memory: '100M' },
  maxAllowed: { cpu: '2', memory: '1G' },
};

test('fallback strategy min gives the policy minimum, max the maximum', () => {
  assert.deepEqual(policyFallback(policy, 'min'), {
    cpuRequest: 100,
    cpuLimit: 100,
    memoryRequest: 1e8,
    memoryLimit: 1e8,
  });
  assert.deepEqual(policyFallback(policy, 'max'), {
    cpuRequest: 2000,
    cpuLimit: 2000,
    memoryRequest: 1e9,
    memoryLimit: 1e9,
  });
  assert.deepEqual(policyFallback({ containerName: 'c' }, 'min'), {}, 'no bounds, nothing to set');
});

test('a resource missing from maxAllowed is unbounded (the original clamped it to 0)', () => {
  const onlyCpuMax = { containerName: 'c', maxAllowed: { cpu: '1' } };
  assert.deepEqual(
    clampToPolicy({ cpuRequest: 5000, cpuLimit: 5000, memoryRequest: 5e9, memoryLimit: 5e9 }, onlyCpuMax),
    {
      cpuLimit: 1000,
      cpuRequest: 1000,
      memoryLimit: 5e9,
      memoryRequest: 5e9,
    },
  );
});

test('clamping keeps min <= request <= limit <= max for any input', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 0, max: 5000 }),
      (request, limit, min, extra) => {
        const max = min + extra;
        const result = clampToPolicy(
          { cpuRequest: request, cpuLimit: limit },
          { containerName: 'c', minAllowed: { cpu: `${min}m` }, maxAllowed: { cpu: `${max}m` } },
        );
        assert.ok(result.cpuLimit! >= min && result.cpuLimit! <= max);
        assert.ok(result.cpuRequest! >= min && result.cpuRequest! <= result.cpuLimit!);
      },
    ),
  );
});

test('an existing instance keeps its resources, clamped into a changed policy', () => {
  const current = {
    name: 'consumer',
    resources: { requests: { cpu: '50m', memory: '2G' }, limits: { cpu: '3', memory: '2G' } },
  };
  const sizing = decideSizing({
    policy,
    current,
    strategy: 'min',
    fallbackFromRunning: undefined,
  });
  assert.deepEqual(sizing, { cpuLimit: 2000, cpuRequest: 100, memoryLimit: 1e9, memoryRequest: 1e9 });
});

test('applying a sizing keeps other resources and the existing text of equal amounts', () => {
  const result = applySizing(
    { requests: { 'ephemeral-storage': '1Gi' }, limits: { 'nvidia.com/gpu': '1' } },
    { cpuRequest: 500, cpuLimit: 1000, memoryRequest: 1024 ** 3, memoryLimit: 1024 ** 3 },
    { requests: { memory: '1Gi' } },
  );
  assert.deepEqual(result, {
    requests: { 'ephemeral-storage': '1Gi', cpu: '500m', memory: '1Gi' },
    limits: { 'nvidia.com/gpu': '1', cpu: '1', memory: '1073741824' },
  });
});

test('only containers with an Auto policy (own or *) are sized', () => {
  assert.equal(isSized([policy], 'consumer'), true);
  assert.equal(isSized([policy], 'sidecar'), false);
  assert.equal(isSized([{ containerName: '*' }], 'sidecar'), true);
  assert.equal(
    isSized([{ containerName: '*' }, { containerName: 'sidecar', mode: 'Off' }], 'sidecar'),
    false,
  );
});

test("large Consumers give new instances what running ones have (the original's fallback)", () => {
  const running = (cpu: string): V1Deployment => ({
    spec: {
      selector: {},
      template: { spec: { containers: [{ name: 'c', resources: { requests: { cpu } } }] } },
    },
  });
  const fleet = ['300m', '100m', '700m', '200m', '500m', '600m'].map(running);
  assert.equal(runningFallback('c', 10, fleet, 'min'), undefined, 'at most 10 instances: policy fallback');
  assert.equal(runningFallback('c', 12, fleet.slice(0, 6), 'min'), undefined, 'not more than half running');
  assert.deepEqual(runningFallback('c', 11, fleet, 'min'), { cpuRequest: 100 });
  assert.deepEqual(runningFallback('c', 11, fleet, 'max'), { cpuRequest: 700 });
});
