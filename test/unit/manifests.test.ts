// deploy/ is generated from the code (src/api for the CRD, src/cli/manifests.ts for the rest):
// this fails when a change of the schema or of the manifests was not followed by `npm run gen`.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deployFiles } from '../../src/cli/manifests.js';
import { DEFAULT_IMAGE, DEFAULT_NAMESPACE } from '../../src/cli/version.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';

const DEPLOY_DIR = join(REPO_ROOT, 'deploy');
const expected = deployFiles({ namespace: DEFAULT_NAMESPACE, image: DEFAULT_IMAGE });

/** The first differing line, to say where the committed file went stale. */
function firstDifference(actual: string, wanted: string): string {
  const a = actual.split('\n');
  const w = wanted.split('\n');
  const line = a.findIndex((text, i) => text !== w[i]);
  const at = line === -1 ? a.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(a[at] ?? '<end of file>')}, generated ${JSON.stringify(w[at] ?? '<end of file>')}`;
}

describe('deploy/ manifests', () => {
  for (const [name, content] of Object.entries(expected)) {
    it(`deploy/${name} is what \`konsumerator manifests\` generates`, () => {
      const path = join(DEPLOY_DIR, name);
      assert.ok(existsSync(path), `deploy/${name} is missing: run \`npm run gen\` and commit deploy/`);
      const committed = readFileSync(path, 'utf8');
      assert.ok(
        committed === content,
        `deploy/${name} is stale (${firstDifference(committed, content)}): run \`npm run gen\` and commit deploy/`,
      );
    });
  }
});
