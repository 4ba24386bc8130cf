// `npm run gen`: writes every generated file (scripts/generated-files.ts) and says which changed.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../src/testplane/binaries.js';
import { generatedFiles } from './generated-files.js';

for (const [path, content] of Object.entries(await generatedFiles())) {
  const file = join(REPO_ROOT, path);
  if (existsSync(file) && readFileSync(file, 'utf8') === content) continue;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  console.log(`wrote ${path}`);
}
