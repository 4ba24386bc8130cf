// A reporter for node's test runner (`--test-reporter`) that writes one JSON line per test event
// `npm test` judges a run by (the TestRecord of src/testplane/test-record.ts, which reads the
// file back). Plain JavaScript: node's runner loads reporters before tsx can compile TypeScript.
//
// Which file a test belongs to: node's runner reports each test file as a test of its own
// (nesting 0, named after the file), and `npm test` runs one file at a time, so every event
// between that test's dequeue and the next file's belongs to it. The events' own `file` is where
// test() was called, which for the e2e tests is test/support/timed.ts.
// pass/fail events arrive in declaration order, each after the test:start events of its parents,
// so a stack of started names gives every outcome its full path; dequeue and complete arrive as
// tests begin and end, which tells the tests still running when a run is stopped.
import { resolve } from 'node:path';

/** @param {string | boolean | undefined} value */
const marker = (value) => (value === undefined || value === false ? undefined : value);

/**
 * Whether a test event is of the test node's runner makes of a whole file. Node 20 names it by the
 * file's absolute path, Node 24 by its path from the working directory.
 * @param {{ name?: string, nesting?: number, file?: string }} data
 */
const isFileTest = (data) =>
  data.nesting === 0 &&
  typeof data.name === 'string' &&
  data.file !== undefined &&
  resolve(data.name) === data.file;

/** @param {AsyncIterable<{ type: string, data: any }>} source */
export default async function* testRecordReporter(source) {
  /** @type {string | undefined} */
  let file;
  /** @type {string[]} */
  let started = [];
  for await (const { type, data } of source) {
    if (type === 'test:dequeue' && isFileTest(data) && data.file !== file) {
      file = data.file;
      started = [];
    }
    if (type === 'test:start') {
      started.length = data.nesting;
      started.push(data.name);
    } else if (type === 'test:dequeue' || type === 'test:complete') {
      const record = {
        event: type === 'test:dequeue' ? 'dequeue' : 'complete',
        file,
        path: [data.name],
        nesting: data.nesting,
        fileLevel: isFileTest(data) || undefined,
      };
      yield `${JSON.stringify(record)}\n`;
    } else if (type === 'test:pass' || type === 'test:fail') {
      const record = {
        event: type === 'test:pass' ? 'pass' : 'fail',
        file,
        path: [...started.slice(0, data.nesting), data.name],
        nesting: data.nesting,
        fileLevel: isFileTest(data) || undefined,
        suite: data.details?.type === 'suite' ? true : undefined,
        skip: marker(data.skip),
        todo: marker(data.todo),
      };
      yield `${JSON.stringify(record)}\n`;
    }
  }
}
