// The simulator-speed section says whether this engine's runs agree with each other, and, where
// the previous engine's results differ, by how much and why, instead of a bare "NO".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimSpeedResults } from '../../src/sim/speed-bench.js';
import { renderSimSpeedSection } from '../../src/sim/speed-report.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';

const recorded = JSON.parse(
  readFileSync(join(REPO_ROOT, 'docs', 'benchmarks', 'sim-speed.json'), 'utf8'),
) as SimSpeedResults;

function withComparison(patch: Partial<SimSpeedResults['comparison']>): SimSpeedResults {
  return {
    ...recorded,
    policies: ['ours', 'oracle', 'original'],
    comparison: { ...recorded.comparison, ...patch },
  };
}

test('previous engine different, this one consistent: both said, with the core-hours of each', () => {
  const text = renderSimSpeedSection(
    withComparison({
      identical: false,
      identicalAcrossThreads: true,
      coreHours: { previous: [2542.37, 2536.18, 2530.68], current: [2540.14, 2523.24, 2515.36] },
    }),
  );
  assert.match(text, /the same in every run \(one thread and worker threads, every round\): \*\*yes\*\*/);
  assert.match(text, /ours 2542\.4 → 2540\.1, oracle 2536\.2 → 2523\.2, original 2530\.7 → 2515\.4/);
  assert.doesNotMatch(text, /\*\*NO\*\*/);
});

test("this engine's runs disagreeing is a NO", () => {
  const text = renderSimSpeedSection(withComparison({ identical: false, identicalAcrossThreads: false }));
  assert.match(text, /every round\): \*\*NO\*\*/);
});

test('results recorded before the thread check render as they did', () => {
  const { identicalAcrossThreads: _, coreHours: __, ...old } = recorded.comparison;
  const text = renderSimSpeedSection({ ...recorded, comparison: { ...old, identical: true } });
  assert.match(text, /the same in every run of both engines: \*\*yes\*\*/);
});
