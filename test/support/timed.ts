// node:test's test, describe and hooks for the e2e tests, each with a timeout: a test or hook that
// hangs (a request nobody answers, a process that never exits) fails after it instead of
// blocking the run. A test that needs longer sets its own `timeout`; an infinite one is refused.
// eslint.config.js forbids importing these functions from node:test under test/e2e and
// test/support, so no e2e test can be declared without one.
//
// Per test and not node's --test-timeout: on Node 20 that flag bounds a whole file, not each test.
// Node takes the place a test is declared from its caller, so a failure's "test at" line names
// this file; the failure's stack names the test file and line.
import {
  after as nodeAfter,
  afterEach as nodeAfterEach,
  before as nodeBefore,
  beforeEach as nodeBeforeEach,
  test as nodeTest,
  type HookFn,
  type HookOptions,
  type TestFn,
  type TestOptions,
} from 'node:test';

export type { TestContext } from 'node:test';
/**
 * A suite's timeout would bound the sum of its tests, so it gets none by default: its tests and
 * hooks carry theirs.
 */
export { describe } from 'node:test';

/**
 * For every e2e test and hook without its own timeout. The slowest of them took 20–29 s in runs on
 * the shared 2-core machine (their waitFor calls give up after 60–120 s); an after hook that
 * deletes the namespaces of its file waits up to 120 s for them.
 */
export const E2E_TIMEOUT_MS = 180_000;

/** The options with a finite timeout: the default when they have none. */
export function withTimeout<T extends { timeout?: number }>(options: T | undefined, what: string): T {
  const timeout = options?.timeout;
  if (timeout === undefined) return { ...options, timeout: E2E_TIMEOUT_MS } as T;
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new Error(`${what}: an e2e test needs a finite timeout, not ${timeout}`);
  return options as T;
}

type Declare<F> = {
  (name: string, fn: F): Promise<void>;
  (name: string, options: TestOptions, fn: F): Promise<void>;
};

function timed<F>(declare: (name: string, options: TestOptions, fn: F) => Promise<void>): Declare<F> {
  return ((name: string, optionsOrFn: TestOptions | F, maybeFn?: F) => {
    const [options, fn] =
      maybeFn === undefined ? [undefined, optionsOrFn as F] : [optionsOrFn as TestOptions, maybeFn];
    return declare(name, withTimeout(options, name), fn);
  }) as Declare<F>;
}

export const test = timed<TestFn>(nodeTest);
export const it = test;

const hook =
  (declare: (fn: HookFn, options: HookOptions) => void, kind: string) =>
  (fn: HookFn, options?: HookOptions): void =>
    declare(fn, withTimeout(options, `${kind} hook`));

export const before = hook(nodeBefore, 'before');
export const after = hook(nodeAfter, 'after');
export const beforeEach = hook(nodeBeforeEach, 'beforeEach');
export const afterEach = hook(nodeAfterEach, 'afterEach');
