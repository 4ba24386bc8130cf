// docs/architecture.md's folder table is the map of the code: every folder of src/ has its row.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/testplane/binaries.js';

test('the folder table of docs/architecture.md lists every folder of src/', () => {
  const folders = readdirSync(join(REPO_ROOT, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `src/${e.name}`)
    .sort();
  const text = readFileSync(join(REPO_ROOT, 'docs', 'architecture.md'), 'utf8');
  const rows = [...text.matchAll(/^\| `(src\/[a-z-]+)` +\| *(.*?) *\| *(.*?) *\|$/gm)];
  const listed = rows.map((r) => r[1]!).sort();
  assert.deepEqual(listed, folders);
  for (const [, folder, job, io] of rows) {
    assert.ok(job!.length > 20, `${folder} says what it does`);
    assert.ok(io!.length > 0, `${folder} says its I/O`);
  }
});
