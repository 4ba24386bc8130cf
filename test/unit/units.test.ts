import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpuMillis,
  formatCpu,
  formatDuration,
  formatMemory,
  memoryBytes,
  parseDuration,
  parseQuantity,
} from '../../src/util/units.js';

test('parses Go durations', () => {
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('250ms'), 250);
  assert.throws(() => parseDuration('5 minutes'), /invalid duration "5 minutes"/);
  assert.throws(() => parseDuration(''), /invalid duration/);
  assert.throws(() => parseDuration('-1s'), /invalid duration/);
});

test('formats durations like Go', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_000), '1h0m0s');
});

test('parses Kubernetes quantities', () => {
  assert.equal(cpuMillis('100m'), 100);
  assert.equal(cpuMillis('1'), 1000);
  assert.equal(cpuMillis('1.5'), 1500);
  assert.equal(cpuMillis(2), 2000);
  assert.equal(cpuMillis('1200'), 1_200_000);
  assert.equal(memoryBytes('300M'), 300_000_000);
  assert.equal(memoryBytes('1Gi'), 1024 ** 3);
  assert.equal(memoryBytes('1.2T'), 1.2e12);
  assert.equal(memoryBytes('1e3'), 1000);
  assert.equal(parseQuantity('0.5'), 0.5);
  assert.throws(() => parseQuantity('1 GB'), /invalid quantity "1 GB"/);
  assert.throws(() => parseQuantity('abc'), /invalid quantity/);
});

test('a quantity parsed again gives the same value; an invalid one is refused every time', () => {
  for (let i = 0; i < 3; i++) {
    assert.equal(parseQuantity('250m'), 0.25);
    assert.equal(parseQuantity(' 1Gi '), 1024 ** 3);
    assert.throws(() => parseQuantity('1 GB'), /invalid quantity "1 GB"/);
  }
  // More distinct texts than are remembered: every one still parses right.
  for (let i = 0; i < 10_000; i++) assert.equal(cpuMillis(`${i}m`), i);
  assert.equal(parseQuantity('250m'), 0.25);
});

test('formats quantities canonically', () => {
  assert.equal(formatCpu(1500), '1500m');
  assert.equal(formatCpu(2000), '2');
  assert.equal(formatMemory(300_000_000), '300M');
  assert.equal(formatMemory(1_200_000_000_000), '1200G');
  assert.equal(formatMemory(1536), '1536');
  assert.equal(formatMemory(0), '0');
});
