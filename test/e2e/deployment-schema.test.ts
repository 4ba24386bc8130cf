// src/api/deployment-template.schema.json is derived from the API server's OpenAPI document by
// scripts/gen-deployment-schema.ts: this regenerates it from the test plane's kube-apiserver and
// fails when the committed file is stale (e.g. after the plane moved to a newer Kubernetes).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from '../support/timed.js';
import { deploymentSchemaFrom, renderSchemaFile, SCHEMA_FILE } from '../../scripts/gen-deployment-schema.js';
import { kubeConfig } from '../support/env.js';

const REGENERATE = 'run `npx tsx scripts/gen-deployment-schema.ts` then `npm run gen`, and commit both';

describe('deploymentTemplate schema', () => {
  it('is what the live API server OpenAPI document gives', async () => {
    const { schema, stats } = await deploymentSchemaFrom(kubeConfig());
    const committed: unknown = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
    assert.deepEqual(committed, schema, `src/api/deployment-template.schema.json is stale: ${REGENERATE}`);
    assert.equal(
      readFileSync(SCHEMA_FILE, 'utf8'),
      await renderSchemaFile(schema),
      `formatting: ${REGENERATE}`,
    );
    // apps/v1 has no recursive type today; if one appears it becomes preserve-unknown-fields.
    assert.deepEqual(stats.recursive, []);
  });
});
