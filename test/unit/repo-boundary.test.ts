// A clone of the repository alone must pass its own tests: no code under src/, test/, scripts/,
// bin/ or .ci/ may read or name a path outside the repository. The checker evaluates path
// expressions statically (test/support/repo-boundary.ts); the planted cases below prove that it
// catches each way a path can leave the repository, and lets the repository's own patterns pass.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { RepoBoundary, type Escape } from '../support/repo-boundary.js';

// The planted texts spell the development machine's workspace and the reference folder beside
// the repository at run time, so that this file itself passes the scan.
const WORKSPACE = ['', 'work'].join('/');
const BESIDE = ['..', 'shared', 'reference'].join('/');
const spell = (text: string) => text.replaceAll('<workspace>', WORKSPACE).replaceAll('<beside>', BESIDE);

/** What the checker finds in one planted file of the repository. */
function plant(relativePath: string, text: string): Escape[] {
  const file = join(REPO_ROOT, relativePath);
  return new RepoBoundary(REPO_ROOT, new Map([[file, spell(text)]])).scanFile(file);
}

const TS_ESCAPES: Array<[string, string]> = [
  [
    'a join of REPO_ROOT (imported from another module) with ".." and the folder beside it',
    `import { join } from 'node:path';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
const ORIGINAL = join(REPO_ROOT, '..', 'shared', 'reference', 'original-manifests');`,
  ],
  [
    'the same with path.resolve and a renamed import',
    `import path from 'node:path';
import { REPO_ROOT as root } from '../../src/testplane/binaries.js';
export const f = path.resolve(root, '../elsewhere/file.yaml');`,
  ],
  [
    'a file URL that climbs above the repository',
    `import { readFileSync } from 'node:fs';
readFileSync(new URL('../../../outside.json', import.meta.url), 'utf8');`,
  ],
  [
    'a template literal on import.meta.dirname',
    `import { readFileSync } from 'node:fs';
readFileSync(\`\${import.meta.dirname}/../../../notes.md\`, 'utf8');`,
  ],
  [
    'string concatenation on a local constant',
    `import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const HERE = fileURLToPath(new URL('.', import.meta.url));
existsSync(HERE + '../../../x');`,
  ],
  [
    'a relative literal given to fs (resolved from the repository root, where npm runs)',
    `import { readFileSync } from 'node:fs';
readFileSync('../sibling/data.csv', 'utf8');`,
  ],
  ['an absolute path of the development machine', `const dir = '<workspace>/notes';`],
  [
    'the parent of the repository root',
    `import { dirname } from 'node:path';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
export const parent = dirname(REPO_ROOT);`,
  ],
  [
    'a ".." on a base that cannot be evaluated',
    `import { join } from 'node:path';
export const up = (dir: string) => join(dir, '..', '..', 'shared');`,
  ],
  ['an import from outside the repository', `import x from '../../../outside/module.js';\nvoid x;`],
  [
    'process.cwd() joined upwards',
    `import { join } from 'node:path';\nexport const p = join(process.cwd(), '..');`,
  ],
];

const TS_ALLOWED: Array<[string, string]> = [
  [
    "the repository's own root, folders and files",
    `import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
readFileSync(join(REPO_ROOT, 'deploy', 'crd.yaml'), 'utf8');
readFileSync(join(ROOT, 'test', '..', 'docs', 'api.md'), 'utf8');
export const relativeToCwd = join('docs', 'api.md');`,
  ],
  [
    'paths built from values only known at run time, without ".."',
    `import { join } from 'node:path';
import { tmpdir } from 'node:os';
export const f = (dir: string) => join(tmpdir(), dir, 'env.json');`,
  ],
  [
    'URL paths and API paths',
    `export const p = '/apis/apps/v1/deployments'; export const u = new URL('/metrics', 'http://x');`,
  ],
];

describe('code stays inside the repository', () => {
  it('no file under src/, test/, scripts/, bin/ or .ci/ reads or names a path outside it', () => {
    const escapes = new RepoBoundary(REPO_ROOT).scanRepository();
    assert.deepEqual(
      escapes.map((e) => `${e.file}:${e.line}: ${e.reason}`),
      [],
      'a clone has only the repository: keep fixtures in the repository (test/fixtures/)',
    );
  });

  for (const [title, text] of TS_ESCAPES) {
    it(`catches ${title}`, () => {
      const found = plant('test/unit/planted-escape.test.ts', text);
      assert.ok(found.length > 0, `not caught:\n${text}`);
    });
  }

  for (const [title, text] of TS_ALLOWED) {
    it(`allows ${title}`, () => {
      assert.deepEqual(plant('test/unit/planted-allowed.test.ts', text), []);
    });
  }

  it('catches a shell script that climbs out of the repository, and allows its own folder', () => {
    const escaping = plant(
      'scripts/planted.sh',
      '#!/usr/bin/env bash\ncd "$(dirname "$0")/../.."\ncat <beside>/x.md\nls <workspace>/main\n',
    );
    assert.deepEqual(
      escaping.map((e) => e.line),
      [2, 3, 3, 4],
    );
    assert.deepEqual(plant('scripts/planted.sh', '#!/bin/sh\nhere=$(cd "$(dirname "$0")/.." && pwd)\n'), []);
  });

  it('finds a planted file in the scan of the whole repository, at its line', () => {
    const file = join(REPO_ROOT, 'src', 'planted.ts');
    const text =
      "// nothing here\nimport { join } from 'node:path';\nexport const x = join(import.meta.dirname, '..', '..', '..');\n";
    const found = new RepoBoundary(REPO_ROOT, new Map([[file, text]]))
      .scanRepository()
      .filter((e) => e.file === 'src/planted.ts');
    assert.equal(found.length, 1);
    assert.equal(found[0]!.line, 3);
    assert.match(found[0]!.reason, /outside the repository/);
  });

  it('allows system paths and the test-plane cache, which are not the repository', () => {
    const text = `import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';
readdirSync('/proc');
readdirSync(resolve('/usr', 'bin'));
export const cache = join(homedir(), '.cache', 'konsumerator');`;
    assert.deepEqual(plant('src/planted-system.ts', text), []);
  });
});
