// spec.autoscaler.prometheus.headers: plain values and values from Secrets reach every query of
// the provider (a Prometheus stand-in that wants a tenant header and an API key), names that
// differ only in case are refused, and a value read from a Secret is never in the spec.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import {
  buildCredentials,
  credentialsPlan,
  secretNames,
  secretUses,
  type SecretValue,
} from '../../src/metrics/credentials.js';
import { SecretReadError, type SecretReader } from '../../src/controller/credentials.js';
import { MetricsSources } from '../../src/controller/metrics-sources.js';
import { autoscaleConfig } from '../../src/autoscale/config.js';
import { validateConsumer } from '../../src/api/validate.js';
import type { ConsumerSpec, PrometheusAutoscaler } from '../../src/api/schema.js';
import { noopObserver } from '../../src/metrics/index.js';
import { baseSpec, consumer } from '../support/consumers.js';
import { answerPartitionZero, listenLocally } from '../support/local-server.js';

const query = { query: 'vector(1)', partitionLabel: 'partition' };

function spec(headers: PrometheusAutoscaler['headers'], address = 'http://127.0.0.1:1'): ConsumerSpec {
  return baseSpec({
    namespace: 'shop',
    numPartitions: 1,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'prometheus',
      prometheus: {
        address: [address],
        offset: query,
        production: query,
        consumption: query,
        minSyncPeriod: '2s',
        ratePerCore: 0.5,
        ramPerCore: '100M',
        tolerableLag: '5s',
        criticalLag: '1h',
        recoveryTime: '10s',
        ...(headers ? { headers } : {}),
      },
    },
  });
}

const secret = (name: string, data: Record<string, string>): SecretValue => ({
  name,
  uid: `uid-${name}`,
  resourceVersion: '1',
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])),
});

const HEADERS: PrometheusAutoscaler['headers'] = [
  { name: 'X-Scope-OrgID', value: 'team-a' },
  { name: 'X-Api-Key', valueFrom: { secretKeyRef: { name: 'prom-key', key: 'api-key' } } },
];

describe('Prometheus headers', () => {
  test('plain values as given, Secret values read (trailing newline dropped), the Secret named', () => {
    const s = spec(HEADERS);
    assert.deepEqual(secretNames(secretUses(s.autoscaler, 'prometheus')), ['prom-key']);
    const { credentials, problems } = buildCredentials(
      'shop',
      credentialsPlan(s.autoscaler, 'prometheus'),
      new Map([['prom-key', secret('prom-key', { 'api-key': 'k3y\n' })]]),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(credentials.prometheus, { headers: { 'X-Scope-OrgID': 'team-a', 'X-Api-Key': 'k3y' } });
  });

  test('a missing key is reported with the field that names it', () => {
    const s = spec(HEADERS);
    const { problems } = buildCredentials(
      'shop',
      credentialsPlan(s.autoscaler, 'prometheus'),
      new Map([['prom-key', secret('prom-key', { other: 'x' })]]),
    );
    assert.equal(problems.length, 1);
    assert.match(JSON.stringify(problems[0]), /headers\[1\]\.valueFrom\.secretKeyRef/);
  });

  test('names that differ only in case are an error of the spec', () => {
    const s = spec([
      { name: 'X-Scope-OrgID', value: 'a' },
      { name: 'x-scope-orgid', value: 'b' },
    ]);
    const { errors } = validateConsumer(consumer(s, 'orders', 'shop'));
    assert.ok(
      errors.some((e) => /headers/.test(e.field) && /x-scope-orgid more than once/.test(e.message)),
      JSON.stringify(errors),
    );
    assert.deepEqual(validateConsumer(consumer(spec(HEADERS), 'orders', 'shop')).errors, []);
  });

  test('every query carries the headers, the Secret one included', async () => {
    const seen: Array<Record<string, string | string[] | undefined>> = [];
    const server = http.createServer((req, res) => {
      req.resume();
      seen.push(req.headers);
      if (req.headers['x-scope-orgid'] !== 'team-a' || req.headers['x-api-key'] !== 'k3y')
        return void res.writeHead(401).end('no tenant');
      answerPartitionZero(res);
    });
    const { url, close } = await listenLocally(server);
    const reader: SecretReader = {
      async read(_namespace, name) {
        if (name !== 'prom-key') throw new SecretReadError('NotFound', name, 'HTTP 404');
        return secret('prom-key', { 'api-key': 'k3y' });
      },
    };
    const sources = new MetricsSources(() => noopObserver, reader);
    const c = consumer(spec(HEADERS, url), 'orders', 'shop');
    try {
      const sync = await sources.sync(c, autoscaleConfig(c.spec)!, new Date('2030-01-01T00:00:00Z'));
      assert.equal(sync.error, undefined);
      assert.equal(sync.reading?.partitions.get(0)?.behind, 1);
      assert.equal(seen.length, 3, 'the three queries');
      for (const headers of seen) {
        assert.equal(headers['x-scope-orgid'], 'team-a');
        assert.equal(headers['x-api-key'], 'k3y');
      }
    } finally {
      await sources.closeAll();
      await close();
    }
  });
});
