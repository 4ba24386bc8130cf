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
