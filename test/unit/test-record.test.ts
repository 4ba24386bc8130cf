// The record npm test judges a run by: node's test runner with scripts/test-record-reporter.mjs
// on small test files, and what the summary makes of it. Also the e2e timeout defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  describeSkips,
  readTestRecord,
  summarize,
  TEST_RECORD_REPORTER,
  testTitle,
} from '../../src/testplane/test-record.js';
import { E2E_TIMEOUT_MS, withTimeout } from '../support/timed.js';

const FILES = {
  'mixed.test.mjs': `
import { describe, test } from 'node:test';
test('runs', (t) => {
  t.diagnostic('a diagnostic line');
  console.log('output of a test');
});
test('skipped by option', { skip: 'no broker' }, () => {});
describe('a suite', () => {
  test('skips itself', (t) => t.skip('a component is missing'));
  test('not written yet', { todo: true }, () => {});
  test('runs too', () => {});
});
describe('a skipped suite', { skip: true }, () => {
  test('never declared', () => {});
});
`,
  // Declared through a helper module, as the e2e tests declare theirs through test/support/timed.ts.
  'declare.mjs': `
import { test as nodeTest } from 'node:test';
export const test = (name, options, fn) => nodeTest(name, { timeout: 60_000, ...options }, fn);
`,
  'helped.test.mjs': `
import { describe } from 'node:test';
import { test } from './declare.mjs';
test('helped', {}, () => {});
describe('helped suite', () => {
  test('skipped through the helper', { skip: 'no Prometheus' }, () => {});
});
`,
  'empty.test.mjs': `import { test } from 'node:test';\nfor (const name of []) test(name, () => {});\n`,
  'hangs.test.mjs': `
import { test } from 'node:test';
test('quick', () => {});
test('hangs', () => new Promise((resolve) => setTimeout(resolve, 600_000)));
`,
};

/**
 * Runs node's test runner over `files` of a fresh directory with the record reporter: a runner of
 * its own, not a child of the one running this test (which it would take NODE_TEST_CONTEXT for).
 */
function runner(dir: string, files: string[], record: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));
  const child = spawn(
    process.execPath,
    [
      '--test',
      `--test-reporter=${TEST_RECORD_REPORTER}`,
      `--test-reporter-destination=${record}`,
      ...files.map((f) => join(dir, f)),
    ],
    { cwd: dir, env, stdio: 'ignore', detached: true },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

function withFixtures(run: (dir: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'test-record-'));
    try {
      for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'skipped and todo tests are listed with their path and reason; a file that declares none is named',
  withFixtures(async (dir) => {
    const record = join(dir, 'record.jsonl');
    // node's runner runs them in the order of their names.
    const names = ['empty.test.mjs', 'helped.test.mjs', 'mixed.test.mjs'];
    const { exited } = runner(dir, names, record);
    assert.equal(await exited, 0);
    const files = names.map((name) => join(dir, name));
    const summary = summarize(readTestRecord(record), files);
    assert.deepEqual(
      summary.skipped.map((r) => testTitle(r, dir)),
      [
        'helped.test.mjs › helped suite › skipped through the helper',
        'mixed.test.mjs › skipped by option',
        'mixed.test.mjs › a suite › skips itself',
        'mixed.test.mjs › a skipped suite',
      ],
    );
    assert.deepEqual(
      summary.todo.map((r) => testTitle(r, dir)),
      ['mixed.test.mjs › a suite › not written yet'],
    );
    assert.deepEqual(summary.filesWithoutTests, [join(dir, 'empty.test.mjs')]);
    assert.deepEqual(summary.running, []);
    assert.deepEqual(describeSkips(summary, dir), [
      '  skipped  helped.test.mjs › helped suite › skipped through the helper — no Prometheus',
      '  skipped  mixed.test.mjs › skipped by option — no broker',
      '  skipped  mixed.test.mjs › a suite › skips itself — a component is missing',
      '  skipped  mixed.test.mjs › a skipped suite',
      '  todo     mixed.test.mjs › a suite › not written yet',
    ]);
  }),
);

test(
  'a run stopped midway: the record names the test still running',
  withFixtures(async (dir) => {
    const record = join(dir, 'record.jsonl');
    const { child, exited } = runner(dir, ['hangs.test.mjs'], record);
    try {
      const begun = () =>
        readTestRecord(record).some((r) => r.event === 'dequeue' && r.path.at(-1) === 'hangs');
      const deadline = Date.now() + 20_000;
      while (!begun()) {
        assert.ok(Date.now() < deadline, 'the hanging test never began');
        await sleep(50);
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
    const summary = summarize(readTestRecord(record), [join(dir, 'hangs.test.mjs')]);
    assert.deepEqual(
      summary.running.map((r) => testTitle(r, dir)),
      ['hangs.test.mjs › hangs'],
    );
  }),
);

test('e2e tests and hooks get the default timeout; their own must be finite', () => {
  assert.deepEqual(withTimeout(undefined, 'x'), { timeout: E2E_TIMEOUT_MS });
  assert.deepEqual(withTimeout<{ concurrency?: number; timeout?: number }>({ concurrency: 1 }, 'x'), {
    concurrency: 1,
    timeout: E2E_TIMEOUT_MS,
  });
  assert.deepEqual(withTimeout({ timeout: 5000 }, 'x'), { timeout: 5000 });
  for (const timeout of [Infinity, 0, -1, NaN])
    assert.throws(() => withTimeout({ timeout }, 'a test'), /a test: an e2e test needs a finite timeout/);
});
