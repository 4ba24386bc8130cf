// The folders of src/ are layers, and imports point one way: down. A folder may import from a
// lower layer and from itself, never from a higher one or from another folder of its own layer.
// The order is written out in docs/architecture.md ("Layers"); change both together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** Lowest first. */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['net'],
  ['kube'],
  ['kafka', 'notify'],
  ['metrics'],
  ['api'],
  ['autoscale'],
  ['plan'],
  ['actuate'],
  ['controller'],
  ['sim', 'loadgen', 'testplane'],
  ['cli'],
  ['bench'],
];

const rankOf = new Map(LAYERS.flatMap((folders, rank) => folders.map((f) => [f, rank] as const)));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** The folder of src/ a path is in ('' for a file directly under src/, undefined outside src/). */
function folderOf(path: string): string | undefined {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return undefined;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0] : '';
}

interface Import {
  from: string;
  to: string;
  file: string;
  specifier: string;
}

/** Every relative import (static, type-only, re-export or dynamic) between two folders of src/. */
function crossFolderImports(): Import[] {
  const imports: Import[] = [];
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of info.importedFiles) {
      if (!specifier.startsWith('.')) continue;
      const from = folderOf(file)!;
      const to = folderOf(resolve(dirname(file), specifier));
      if (to !== undefined && to !== from) imports.push({ from, to, file: relative(SRC, file), specifier });
    }
  }
  return imports;
}

test('every folder of src/ has a place in the layer order', () => {
  const folders = readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  const unplaced = folders.filter((f) => !rankOf.has(f));
  assert.deepEqual(unplaced, [], 'add new folders to LAYERS (and to docs/architecture.md)');
  const loose = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isFile());
  assert.deepEqual(
    loose.map((e) => e.name),
    [],
    'files belong in a folder of src/',
  );
});

test('imports between the folders of src/ point down the layers', () => {
  const imports = crossFolderImports();
  assert.ok(imports.length > 50, `the parser found only ${imports.length} cross-folder imports`);
  const upward = imports.filter(({ from, to }) => !(rankOf.get(to)! < rankOf.get(from)!));
  assert.deepEqual(
    upward.map((i) => `${i.file} imports ${i.specifier} (${i.from} → ${i.to})`),
    [],
    'an import points up (or sideways) the layers',
  );
});

test('the check sees type-only, re-export and dynamic imports', () => {
  const text = [
    "import type { A } from '../plan/a.js';",
    "export { B } from '../controller/b.js';",
    "const c = await import('../cli/c.js');",
  ].join('\n');
  const found = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
  assert.deepEqual(found, ['../plan/a.js', '../controller/b.js', '../cli/c.js']);
});
