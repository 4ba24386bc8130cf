import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goMaxProcs, goMemLimit, legacyGoMemLimit, renderEnv } from '../../src/plan/env.js';

const instance = {
  partitionEnvKey: 'KONSUMERATOR_PARTITION',
  partitions: [3, 4],
  instanceId: 1,
  numPartitions: 6,
  numInstances: 3,
  goMemLimitRatio: 0.8,
};

test('injects the original env vars in the original order after the template ones', () => {
  const env = renderEnv(
    [{ name: 'TEST_KEY', value: 'x' }],
    instance,
    { cpuLimit: 1300, memoryLimit: 100_000_000 },
    undefined,
  );
  assert.deepEqual(
    env.map((e) => `${e.name}=${e.value}`),
    [
      'TEST_KEY=x',
      'KONSUMERATOR_PARTITION=3,4',
      'GOMAXPROCS=2',
      'GOMEMLIMIT=76MiB',
      'KONSUMERATOR_INSTANCE=1',
      'KONSUMERATOR_NUM_PARTITIONS=6',
      'KONSUMERATOR_NUM_INSTANCES=3',
    ],
  );
});

test('a template entry of the same name is replaced in place, valueFrom included', () => {
  const env = renderEnv(
    [
      { name: 'GOMAXPROCS', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
      { name: 'A', value: 'a' },
    ],
    { ...instance, partitionEnvKey: 'PARTITION' },
    {},
    undefined,
  );
  assert.deepEqual(env[0], { name: 'GOMAXPROCS', value: '1' });
  assert.equal(env[1]!.name, 'A');
  assert.equal(env.find((e) => e.name === 'PARTITION')?.value, '3,4');
  assert.equal(
    env.find((e) => e.name === 'GOMEMLIMIT'),
    undefined,
    'no memory limit, no GOMEMLIMIT',
  );
});

test('GOMAXPROCS is the CPU limit rounded up to whole cores, at least 1', () => {
  assert.equal(goMaxProcs(undefined), '1');
  assert.equal(goMaxProcs(0), '1');
  assert.equal(goMaxProcs(100), '1');
  assert.equal(goMaxProcs(1000), '1');
  assert.equal(goMaxProcs(1300), '2');
});

test('GOMEMLIMIT uses real mebibytes; the original mixed MB and MiB', () => {
  assert.equal(goMemLimit(1024 ** 3, 0.8), '819MiB');
  assert.equal(goMemLimit(100_000_000, 0.8), '76MiB');
  assert.equal(goMemLimit(1024 ** 3, 0.5), '512MiB');
  assert.equal(legacyGoMemLimit(100_000_000), '80MiB');
  assert.equal(legacyGoMemLimit(111_000_000), '89MiB');
  assert.equal(legacyGoMemLimit(1e9), '800MiB');
  assert.equal(legacyGoMemLimit(20e9), '16000MiB');
});

test('an adopted Deployment keeps the original GOMEMLIMIT while its memory limit stays', () => {
  const current = [{ name: 'GOMEMLIMIT', value: '80MiB' }];
  const env = renderEnv([], instance, { memoryLimit: 100_000_000 }, current);
  assert.equal(env.find((e) => e.name === 'GOMEMLIMIT')?.value, '80MiB');
  const resized = renderEnv([], instance, { memoryLimit: 200_000_000 }, current);
  assert.equal(resized.find((e) => e.name === 'GOMEMLIMIT')?.value, '152MiB');
});

test('the GOMEMLIMIT share is configurable, and 0 leaves it out', () => {
  const half = renderEnv([], { ...instance, goMemLimitRatio: 0.5 }, { memoryLimit: 1024 ** 3 }, undefined);
  assert.equal(half.find((e) => e.name === 'GOMEMLIMIT')?.value, '512MiB');
  const none = renderEnv([], { ...instance, goMemLimitRatio: 0 }, { memoryLimit: 1024 ** 3 }, undefined);
  assert.equal(
    none.find((e) => e.name === 'GOMEMLIMIT'),
    undefined,
  );
});
