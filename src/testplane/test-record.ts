// The record of an `npm test` run, as scripts/test-record-reporter.mjs writes it next to the spec
// reporter on stdout (one JSON line per test event), read back: which tests were skipped or
// marked todo (and why), which selected files ran no test at all, and which tests were still
// running when the run was stopped.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './binaries.js';

/** The reporter's module, for `--test-reporter`. */
export const TEST_RECORD_REPORTER = join(REPO_ROOT, 'scripts', 'test-record-reporter.mjs');

export interface TestRecord {
  /** dequeue: the test began; complete: it ended (both as they happen); pass/fail: its outcome, in order. */
  event: 'dequeue' | 'complete' | 'pass' | 'fail';
  /** The absolute path of the test file the test belongs to. */
  file: string | undefined;
  /** The names of the enclosing suites and tests, outermost first, then the test's own (pass/fail only). */
  path: string[];
  nesting: number;
  /** The test node's runner makes of a whole file. */
  fileLevel?: true;
  suite?: true;
  /** The reason given to `skip` or `todo`, or true when none was given. */
  skip?: string | true;
  todo?: string | true;
}

export function readTestRecord(path: string): TestRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as TestRecord);
}

export interface RunSummary {
  skipped: TestRecord[];
  todo: TestRecord[];
  /**
   * Selected files in which no test passed or failed (node's runner reports a file that declares
   * none, or crashes before it declares any, as one test named after the file).
   */
  filesWithoutTests: string[];
  /** Tests that began and had not ended (the file-level entries left out). */
  running: TestRecord[];
}

export function summarize(records: readonly TestRecord[], files: readonly string[]): RunSummary {
  const outcomes = records.filter((r) => r.event === 'pass' || r.event === 'fail');
  const reported = new Set(outcomes.filter((r) => !r.fileLevel).map((r) => r.file));
  const key = (r: TestRecord) => JSON.stringify([r.file, r.nesting, r.path.at(-1)]);
  const running = new Map<string, TestRecord>();
  for (const r of records) {
    if (r.event === 'dequeue' && !r.fileLevel) running.set(key(r), r);
    else if (r.event === 'complete') running.delete(key(r));
  }
  return {
    skipped: outcomes.filter((r) => r.skip !== undefined),
    todo: outcomes.filter((r) => r.todo !== undefined),
    filesWithoutTests: files.filter((f) => !reported.has(f)),
    running: [...running.values()],
  };
}

/** `test/e2e/x.test.ts › suite › test`. */
export function testTitle(record: TestRecord, root: string): string {
  const file = record.file ? relative(root, record.file) : '(no file)';
  return [file, ...record.path].join(' › ');
}

const reasonOf = (marker: string | true | undefined) => (typeof marker === 'string' ? ` — ${marker}` : '');

/** The lines that explain the skipped and todo tests of a summary; none when there are none. */
export function describeSkips(summary: RunSummary, root: string): string[] {
  return [
    ...summary.skipped.map((r) => `  skipped  ${testTitle(r, root)}${reasonOf(r.skip)}`),
    ...summary.todo.map((r) => `  todo     ${testTitle(r, root)}${reasonOf(r.todo)}`),
  ];
}
