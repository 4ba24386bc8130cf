// The control-plane section of the benchmark report renders the recorded results as they are,
// and says so where a per-object resident figure (a difference of two whole-process readings)
// came out below zero, instead of printing a negative size without a word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlPlaneResults } from '../../src/bench/control-plane.js';
import { renderControlPlaneSection } from '../../src/bench/control-plane-report.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';

const recorded = JSON.parse(
  readFileSync(join(REPO_ROOT, 'docs', 'benchmarks', 'control-plane.json'), 'utf8'),
) as ControlPlaneResults;

function withPodResident(kib: number): ControlPlaneResults {
  const split = recorded.memory.split!;
  return {
    ...recorded,
    memory: { ...recorded.memory, split: { ...split, perPodKiB: { ...split.perPodKiB, rss: kib } } },
  };
}

const podRow = (text: string) => text.split('\n').find((l) => l.startsWith('| … per cached Pod'))!;

test('a negative per-Pod resident figure is flagged as below the noise', () => {
  const row = podRow(renderControlPlaneSection(withPodResident(-0.3)));
  assert.match(row, /-0\.3 KiB resident \(below this measurement's noise\)/);
});

test('a positive one is printed as it is', () => {
  const row = podRow(renderControlPlaneSection(withPodResident(1.9)));
  assert.match(row, /\| 1\.9 KiB resident, /);
  assert.doesNotMatch(row, /noise/);
});
