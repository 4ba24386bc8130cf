import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** node:test's functions that declare tests and hooks; e2e code takes them from test/support/timed.ts. */
const TEST_DECLARATIONS = [
  'default',
  'test',
  'it',
  'describe',
  'suite',
  'before',
  'after',
  'beforeEach',
  'afterEach',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'deploy/**', 'docs/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // A promise nobody awaits loses its errors and its ordering (a test once read the output of an
    // async command before it was written).
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's declarations return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: TEST_DECLARATIONS },
            { from: 'file', path: 'test/support/timed.ts', name: TEST_DECLARATIONS },
          ],
        },
      ],
    },
  },
  {
    // Every e2e test and hook has a timeout, so a hang fails instead of blocking the run.
    files: ['test/e2e/**', 'test/support/**'],
    ignores: ['test/support/timed.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:test',
              importNames: TEST_DECLARATIONS,
              message: 'import it from test/support/timed.ts, which gives every e2e test and hook a timeout',
            },
          ],
        },
      ],
    },
  },
);
