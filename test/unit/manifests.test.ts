// deploy/ is generated from the code (src/api for the CRD, src/cli/manifests.ts for the rest):
// this fails when a change of the schema or of the manifests was not followed by `npm run gen`.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { clusterRole, deployFiles } from '../../src/cli/manifests.js';
import { crdSpecHash, expectedCrdHash } from '../../src/api/crd.js';
import { CRD_NAME, CRD_SCHEMA_HASH_ANNOTATION } from '../../src/api/constants.js';
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

describe("the CRD's schema hash", () => {
  it('deploy/crd.yaml carries the hash of its own spec, the one the operator expects', () => {
    const crd = parse(readFileSync(join(DEPLOY_DIR, 'crd.yaml'), 'utf8')) as {
      metadata: { annotations?: Record<string, string> };
      spec: unknown;
    };
    const stamped = crd.metadata.annotations?.[CRD_SCHEMA_HASH_ANNOTATION];
    assert.match(stamped ?? '', /^[0-9a-f]{16}$/);
    assert.equal(stamped, crdSpecHash(crd.spec), 'the annotation is computed from the spec in the file');
    assert.equal(stamped, expectedCrdHash(), 'the operator built from this code expects that CRD');
  });

  it('changes with any change of the schema', () => {
    const crd = parse(readFileSync(join(DEPLOY_DIR, 'crd.yaml'), 'utf8')) as {
      spec: { versions: Array<{ schema: { openAPIV3Schema: { description: string } } }> };
    };
    crd.spec.versions[0]!.schema.openAPIV3Schema.description += '.';
    assert.notEqual(crdSpecHash(crd.spec), expectedCrdHash());
  });

  it('the operator may get that one CRD and nothing else of apiextensions', () => {
    const rules = (
      clusterRole().rules as Array<{ apiGroups: string[]; resourceNames?: string[]; verbs: string[] }>
    ).filter((r) => r.apiGroups.includes('apiextensions.k8s.io'));
    assert.deepEqual(rules, [
      {
        apiGroups: ['apiextensions.k8s.io'],
        resources: ['customresourcedefinitions'],
        resourceNames: [CRD_NAME],
        verbs: ['get'],
      },
    ]);
  });
});
