// The CRD against the real kube-apiserver: the original operator's sample Consumers apply
// unchanged, and what crashed the original (or can never work) is refused at create time with
// HTTP 422 and a message that names the offending field.
import assert from 'node:assert/strict';
import { before, describe, it } from '../support/timed.js';
import { ApiException, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import { installCrd } from '../support/crd.js';
import { kubeConfig, newNamespace, waitFor } from '../support/env.js';
import { originalExampleConsumers } from '../fixtures/original/consumers.js';
import {
  baseSpec,
  clone,
  consumerObject,
  CONTAINER,
  INVALID,
  kafkaSection,
  P,
  setPath,
  withPortProtocol,
  type JsonObject,
} from '../support/crd-cases.js';

const kc = kubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const core = kc.makeApiClient(CoreV1Api);
const resource = { group: GROUP, version: VERSION, plural: PLURAL };

interface Refusal {
  code: number;
  message: string;
}

/** Creates the Consumer; resolves to the stored object, or to the API server's refusal. */
async function create(
  namespace: string,
  body: JsonObject,
  fieldValidation: 'Strict' | 'Ignore' = 'Strict',
): Promise<{ stored?: JsonObject; refusal?: Refusal }> {
  try {
    const stored = (await custom.createNamespacedCustomObject({
      ...resource,
      namespace,
      body,
      fieldValidation,
    })) as JsonObject;
    return { stored };
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const apiError = err as ApiException<unknown>;
    const status = parseStatus(apiError.body);
    return { refusal: { code: apiError.code, message: status?.message ?? String(apiError.body) } };
  }
}

function parseStatus(body: unknown): { message?: string } | undefined {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as { message?: string };
    } catch {
      return { message: body };
    }
  }
  return body as { message?: string } | undefined;
}

async function remove(namespace: string, name: string): Promise<void> {
  await custom.deleteNamespacedCustomObject({ ...resource, namespace, name }).catch((err: unknown) => {
    if (!(err instanceof ApiException && err.code === 404)) throw err;
  });
  await waitFor(`consumer ${namespace}/${name} deleted`, async () => {
    try {
      await custom.getNamespacedCustomObject({ ...resource, namespace, name });
      return false;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return true;
      throw err;
    }
  });
}

async function ensureNamespace(name: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } }).catch((err: unknown) => {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
  });
}

let namespace = '';

before(async () => {
  await installCrd(kc);
  namespace = await newNamespace('crd-validation');
});

describe('Consumer CRD on the real API server', () => {
  it('accepts the base spec of the invalid-spec table', async () => {
    const body = consumerObject('base', baseSpec(namespace));
    const { stored, refusal } = await create(namespace, body);
    assert.equal(refusal, undefined, `base spec refused: ${refusal?.message}`);
    assert.deepEqual(stored?.spec, withPortProtocol(baseSpec(namespace)));
  });

  for (const { title, consumer } of originalExampleConsumers()) {
    it(`applies the original's ${title} unchanged`, async () => {
      const sample = consumer as unknown as JsonObject;
      const spec = sample.spec as JsonObject;
      const ns = spec.namespace as string;
      const name = (sample.metadata as JsonObject).name as string;
      await ensureNamespace(ns);
      // Another test file may have left the same sample behind: start from nothing.
      await remove(ns, name);
      // Strict: a field our schema did not know would be an error rather than dropped.
      const { stored, refusal } = await create(ns, sample, 'Strict');
      assert.equal(refusal, undefined, `${title} refused: ${refusal?.message}`);
      try {
        assert.deepEqual(stored?.spec, spec, 'stored spec differs from the applied one');
      } finally {
        await remove(ns, name);
      }
    });
  }

  it('accepts a "*" default container policy with mode Off', async () => {
    const spec = baseSpec(namespace);
    spec.resourcePolicy = {
      containerPolicies: [
        { containerName: '*', mode: 'Off' },
        { containerName: 'consumer', minAllowed: { cpu: '250m' }, maxAllowed: { cpu: '4', memory: '8Gi' } },
      ],
    };
    const { refusal } = await create(namespace, consumerObject('default-policy-off', spec));
    assert.equal(refusal, undefined, `refused: ${refusal?.message}`);
  });

  it('accepts mode none without a prometheus section, and an empty resourcePolicy', async () => {
    const spec = baseSpec(namespace);
    spec.autoscaler = { mode: 'none' };
    spec.resourcePolicy = {};
    const { refusal } = await create(namespace, consumerObject('mode-none', spec));
    assert.equal(refusal, undefined, `refused: ${refusal?.message}`);
  });

  it('accepts credentials from Secrets: Prometheus bearer or basic auth and TLS, Kafka TLS and SASL', async () => {
    const spec = baseSpec(namespace);
    setPath(spec, `${P}.auth`, { secretRef: { name: 'prom-auth' }, bearerTokenKey: 'token' });
    setPath(spec, `${P}.tls`, {
      caSecretRef: { name: 'prom-ca' },
      certSecretRef: { name: 'prom-client', certKey: 'client.crt', keyKey: 'client.key' },
      serverName: 'prometheus.monitoring.svc',
    });
    setPath(
      spec,
      'autoscaler.kafka',
      kafkaSection({
        tls: { enabled: true, caSecretRef: { name: 'kafka-ca', key: 'ca.pem' }, insecureSkipVerify: false },
        sasl: { mechanism: 'scram-sha-512', secretRef: { name: 'kafka-user' }, passwordKey: 'pw' },
      }),
    );
    const bearer = await create(namespace, consumerObject('credentials-bearer', clone(spec)));
    assert.equal(bearer.refusal, undefined, `refused: ${bearer.refusal?.message}`);
    assert.deepEqual(bearer.stored?.spec, withPortProtocol(spec));
    setPath(spec, `${P}.auth`, {
      secretRef: { name: 'prom-auth' },
      usernameKey: 'user',
      passwordKey: 'pass',
    });
    setPath(spec, 'autoscaler.kafka.tls', { enabled: true });
    const basic = await create(namespace, consumerObject('credentials-basic', spec));
    assert.equal(basic.refusal, undefined, `refused: ${basic.refusal?.message}`);
  });

  it('accepts a fractional ratePerCore, Prometheus headers (plain and from a Secret) and kafka.uncommitted', async () => {
    const spec = baseSpec(namespace);
    setPath(spec, `${P}.ratePerCore`, 0.5);
    setPath(spec, `${P}.headers`, [
      { name: 'X-Scope-OrgID', value: 'team-a' },
      { name: 'X-Api-Key', valueFrom: { secretKeyRef: { name: 'prom-key', key: 'api-key' } } },
    ]);
    setPath(spec, 'autoscaler.kafka', kafkaSection({ uncommitted: 'earliest' }));
    const { stored, refusal } = await create(namespace, consumerObject('new-options', clone(spec)));
    assert.equal(refusal, undefined, `refused: ${refusal?.message}`);
    assert.deepEqual(stored?.spec, withPortProtocol(spec));
  });

  it('refuses an unknown field of the pod template under strict field validation, prunes it otherwise', async () => {
    const spec = baseSpec(namespace);
    setPath(spec, `${CONTAINER}.imagePullPolicyy`, 'Always');
    const strict = await create(namespace, consumerObject('typo-strict', clone(spec)), 'Strict');
    assert.equal(strict.refusal?.code, 400, `expected 400, got ${JSON.stringify(strict)}`);
    assert.match(strict.refusal.message, /unknown field ".*containers\[0\]\.imagePullPolicyy"/);

    const lax = await create(namespace, consumerObject('typo-ignored', spec), 'Ignore');
    assert.equal(lax.refusal, undefined, `refused: ${lax.refusal?.message}`);
    const containers = (
      ((lax.stored?.spec as JsonObject).deploymentTemplate as JsonObject).template as JsonObject
    ).spec as JsonObject;
    const first = (containers.containers as JsonObject[])[0]!;
    assert.equal('imagePullPolicyy' in first, false, 'the unknown field is pruned');
  });

  it(`has a table of ${INVALID.length} invalid specs (at least 25)`, () => {
    assert.ok(INVALID.length >= 25);
    assert.equal(new Set(INVALID.map((c) => c.title)).size, INVALID.length, 'titles are unique');
  });

  for (const [index, invalid] of INVALID.entries()) {
    it(`refuses ${invalid.title} (422 naming ${invalid.field})`, async () => {
      const spec = baseSpec(namespace);
      for (const [path, value] of invalid.change) setPath(spec, path, value);
      const name = `invalid-${index}`;
      const { refusal } = await create(namespace, consumerObject(name, spec));
      if (!refusal) await remove(namespace, name);
      assert.ok(refusal, 'the API server accepted it');
      assert.equal(refusal.code, 422, `expected HTTP 422, got ${refusal.code}: ${refusal.message}`);
      assert.ok(
        refusal.message.includes(`${invalid.field}:`) || refusal.message.includes(`${invalid.field} `),
        `the message does not name ${invalid.field}: ${refusal.message}`,
      );
    });
  }
});
