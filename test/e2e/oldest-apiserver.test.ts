// The CRD on the oldest Kubernetes release konsumerator supports (README: "Supported Kubernetes
// versions"): a kube-apiserver of that release, built from Go modules by
// scripts/build-oldest-apiserver.sh, on an etcd of its own. The CRD must be accepted (its CEL
// rules compile there and fit that release's cost budget), the valid Consumers stored as they
// are, and every invalid Consumer of the test plane's table refused with 422 naming the field,
// exactly as on the current release (test/e2e/crd-validation.test.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from '../support/timed.js';
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import { startApiServer, type ApiServer } from '../../src/testplane/apiserver.js';
import { startEtcd, type Etcd } from '../../src/testplane/etcd.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { installCrd } from '../support/crd.js';
import { originalExampleConsumers } from '../fixtures/original/consumers.js';
import {
  baseSpec,
  clone,
  consumerObject,
  INVALID,
  kafkaSection,
  P,
  setPath,
  withPortProtocol,
  type JsonObject,
} from '../support/crd-cases.js';

/** The oldest supported minor release: the one scripts/build-oldest-apiserver.sh builds. */
const OLDEST_MINOR = '34';
const NAMESPACE = 'oldest';

function binDirs(): { plane: string; oldest: string } {
  const plane = process.env.KONSUMERATOR_TESTPLANE_BIN;
  const oldest = process.env.KONSUMERATOR_OLDEST_APISERVER_BIN;
  if (!plane || !oldest)
    throw new Error(
      'KONSUMERATOR_TESTPLANE_BIN and KONSUMERATOR_OLDEST_APISERVER_BIN are not set: run this file via npm test, which builds the oldest API server',
    );
  return { plane, oldest };
}

let dir = '';
let etcd: Etcd | undefined;
let api: ApiServer | undefined;
let kc: KubeConfig;

before(async () => {
  const bins = binDirs();
  dir = mkdtempSync(join(REPO_ROOT, '.testplane', 'oldest-apiserver-'));
  etcd = await startEtcd(bins.plane, dir);
  api = await startApiServer(bins.oldest, dir, etcd.url);
  kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
});

after(async () => {
  await api?.process.stop();
  await etcd?.process.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function create(
  body: JsonObject,
): Promise<{ stored?: JsonObject; refusal?: { code: number; message: string } }> {
  try {
    const stored = (await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: NAMESPACE,
      body,
      fieldValidation: 'Strict',
    })) as JsonObject;
    return { stored };
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = typeof err.body === 'string' ? (JSON.parse(err.body) as { message?: string }) : err.body;
    return {
      refusal: { code: err.code, message: (body as { message?: string })?.message ?? String(err.body) },
    };
  }
}

describe(`Consumer CRD on kube-apiserver 1.${OLDEST_MINOR}`, () => {
  it(`is that release`, async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    assert.equal(version.major, '1');
    assert.equal(version.minor, OLDEST_MINOR);
  });

  it('is installed and established (its CEL rules compile on that release)', async () => {
    await installCrd(kc);
  });

  it("stores the original's sample Consumers and the base spec unchanged", async () => {
    for (const [i, { title, consumer }] of originalExampleConsumers().entries()) {
      const spec = { ...consumer.spec, namespace: NAMESPACE } as unknown as JsonObject;
      const { stored, refusal } = await create(consumerObject(`original-${i}`, spec));
      assert.equal(refusal, undefined, `${title} refused: ${refusal?.message}`);
      assert.deepEqual(stored?.spec, spec, `${title}: the stored spec differs from the applied one`);
    }
    const { stored, refusal } = await create(consumerObject('base', baseSpec(NAMESPACE)));
    assert.equal(refusal, undefined, `base spec refused: ${refusal?.message}`);
    assert.deepEqual(stored?.spec, withPortProtocol(baseSpec(NAMESPACE)));
  });

  it('accepts a fractional ratePerCore, Prometheus headers and kafka.uncommitted', async () => {
    const spec = baseSpec(NAMESPACE);
    setPath(spec, `${P}.ratePerCore`, 0.5);
    setPath(spec, `${P}.headers`, [
      { name: 'X-Scope-OrgID', value: 'team-a' },
      { name: 'X-Api-Key', valueFrom: { secretKeyRef: { name: 'prom-key', key: 'api-key' } } },
    ]);
    setPath(spec, 'autoscaler.kafka', kafkaSection({ uncommitted: 'earliest' }));
    const { stored, refusal } = await create(consumerObject('new-options', clone(spec)));
    assert.equal(refusal, undefined, `refused: ${refusal?.message}`);
    assert.deepEqual(stored?.spec, withPortProtocol(spec));
  });

  for (const [index, invalid] of INVALID.entries()) {
    it(`refuses ${invalid.title} (422 naming ${invalid.field})`, async () => {
      const spec = baseSpec(NAMESPACE);
      for (const [path, value] of invalid.change) setPath(spec, path, value);
      const { refusal } = await create(consumerObject(`invalid-${index}`, spec));
      assert.ok(refusal, 'the API server accepted it');
      assert.equal(refusal.code, 422, `expected HTTP 422, got ${refusal.code}: ${refusal.message}`);
      assert.ok(
        refusal.message.includes(`${invalid.field}:`) || refusal.message.includes(`${invalid.field} `),
        `the message does not name ${invalid.field}: ${refusal.message}`,
      );
    });
  }
});
