// What the operator loads and what the image ships: `konsumerator run` reaches none of the tools'
// code (simulator, benchmarks, test plane, load generator), and `npm run build` (what the image
// runs) compiles the operator and the user-facing verbs only.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from '../../src/testplane/binaries.js';

const TOOLS = [
  /^src\/sim\//,
  /^src\/bench\//,
  /^src\/testplane\//,
  /^src\/loadgen\//,
  /^src\/cli\/(demo|loadgen)\.ts$/,
];
const isTool = (file: string) => TOOLS.some((re) => re.test(file));

/** The modules a file imports: static imports and re-exports, and `import()` calls if asked (never type-only ones). */
function importsOf(file: string, withDynamic: boolean): string[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(join(REPO_ROOT, file), 'utf8'),
    ts.ScriptTarget.ES2022,
  );
  const specifiers: string[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isImportDeclaration(node) &&
      !node.importClause?.isTypeOnly &&
      ts.isStringLiteral(node.moduleSpecifier)
    )
      specifiers.push(node.moduleSpecifier.text);
    else if (
      ts.isExportDeclaration(node) &&
      !node.isTypeOnly &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    )
      specifiers.push(node.moduleSpecifier.text);
    else if (
      withDynamic &&
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    )
      specifiers.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), s.replace(/\.js$/, '.ts'))))
    .filter((f) => existsSync(join(REPO_ROOT, f)));
}

/** Every module reachable from `entry`. */
function reachable(entry: string, withDynamic: boolean): Set<string> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    queue.push(...importsOf(file, withDynamic));
  }
  return seen;
}

test('`konsumerator run` loads the operator and none of the tools', () => {
  // main.ts loads each verb's module only when the verb runs (the operator's limits it shows as
  // defaults are constants in a module without imports).
  const atStart = [...reachable('src/cli/main.ts', false)];
  assert.deepEqual(atStart.sort(), [
    'src/cli/main.ts',
    'src/cli/simulate-names.ts',
    'src/cli/version.ts',
    'src/controller/tenant-defaults.ts',
  ]);
  const run = reachable('src/cli/run.ts', true);
  assert.ok(
    run.has('src/controller/operator.ts') && run.has('src/kafka/client.ts'),
    'the walk follows imports',
  );
  assert.deepEqual([...run].filter(isTool), []);
});

test('the build holds the operator and the user-facing verbs, not the tools', () => {
  const tsc = spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(REPO_ROOT, 'tsconfig.build.json'),
      '--listFilesOnly',
    ],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  assert.equal(tsc.status, 0, tsc.stderr || tsc.stdout);
  const files = tsc.stdout
    .split('\n')
    .map((f) => relative(REPO_ROOT, f.trim()))
    .filter((f) => f.startsWith('src/'));
  for (const verb of ['run', 'manifests', 'grant-secrets', 'simulate'])
    assert.ok(files.includes(`src/cli/${verb}.ts`), `src/cli/${verb}.ts is built`);
  assert.deepEqual(
    files.filter(isTool).filter((f) => !f.startsWith('src/sim/')),
    [],
  );
  // The simulator is in, for `konsumerator simulate`; its benchmark and report are not.
  assert.deepEqual(
    files.filter((f) => /^src\/sim\/(benchmark|report|charts|traces|bench-consumer)\.ts$/.test(f)),
    [],
  );
});
