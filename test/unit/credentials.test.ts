// Credentials of the metrics sources: Secret data → provider options (pure), the messages of every
// failure, the grant-secrets RBAC, and when MetricsSources reads the Secrets again.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import {
  buildCredentials,
  credentialsPlan,
  credentialsVersion,
  secretNames,
  secretUses,
  type SecretValue,
} from '../../src/metrics/credentials.js';
import {
  grantSecretsCommand,
  loadCredentials,
  SecretReadError,
  serviceAccountOf,
  type SecretReader,
} from '../../src/controller/credentials.js';
import { MetricsSources } from '../../src/controller/metrics-sources.js';
import { autoscaleConfig } from '../../src/autoscale/config.js';
import { grantSecretsObjects } from '../../src/cli/grant-secrets.js';
import { clusterRole } from '../../src/cli/manifests.js';
import type { ConsumerSpec, KafkaAutoscaler, PrometheusAutoscaler } from '../../src/api/schema.js';
import { noopObserver } from '../../src/metrics/index.js';
import { baseSpec, consumer } from '../support/consumers.js';
import { answerPartitionZero, listenLocally } from '../support/local-server.js';

const PEM = (what: string) => `-----BEGIN ${what}-----\nMIIB\n-----END ${what}-----\n`;

const estimation = {
  minSyncPeriod: '2s',
  ratePerCore: 100,
  ramPerCore: '100M',
  tolerableLag: '5s',
  criticalLag: '1h',
  recoveryTime: '10s',
};
const query = { query: 'vector(1)', partitionLabel: 'partition' };

function prometheusSpec(extra: Partial<PrometheusAutoscaler>, address = 'http://127.0.0.1:1'): ConsumerSpec {
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
        ...estimation,
        ...extra,
      },
    },
  });
}

function kafkaSpec(extra: Partial<KafkaAutoscaler>): ConsumerSpec {
  return baseSpec({
    namespace: 'shop',
    autoscaler: {
      mode: 'kafka',
      kafka: { brokers: ['kafka:9092'], topic: 'orders', groupId: 'g', ...estimation, ...extra },
    },
  });
}

let uidCounter = 0;
const secret = (name: string, data: Record<string, string>, resourceVersion = '1'): SecretValue => ({
  name,
  uid: `uid-${name}-${++uidCounter}`,
  resourceVersion,
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])),
});
const secretsOf = (...list: SecretValue[]) => new Map(list.map((s) => [s.name, s]));

describe('Secret data → provider options', () => {
  test('Prometheus: bearer token (trailing newline dropped), CA from the default key, client certificate', () => {
    const spec = prometheusSpec({
      auth: { secretRef: { name: 'prom-auth' }, bearerTokenKey: 'token' },
      tls: {
        caSecretRef: { name: 'prom-ca' },
        certSecretRef: { name: 'prom-client' },
        serverName: 'prometheus.test',
      },
    });
    const uses = secretUses(spec.autoscaler, 'prometheus');
    assert.deepEqual(secretNames(uses), ['prom-auth', 'prom-ca', 'prom-client']);
    const { credentials, problems } = buildCredentials(
      'shop',
      credentialsPlan(spec.autoscaler, 'prometheus'),
      secretsOf(
        secret('prom-auth', { token: 's3cret\n' }),
        secret('prom-ca', { 'ca.crt': PEM('CERTIFICATE') }),
        secret('prom-client', { 'tls.crt': PEM('CERTIFICATE'), 'tls.key': PEM('PRIVATE KEY') }),
      ),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(credentials, {
      prometheus: {
        auth: { bearerToken: 's3cret' },
        tls: {
          ca: PEM('CERTIFICATE'),
          cert: PEM('CERTIFICATE'),
          key: PEM('PRIVATE KEY'),
          serverName: 'prometheus.test',
        },
      },
    });
  });

  test('Prometheus: basic auth from named keys, insecureSkipVerify without Secrets', () => {
    const spec = prometheusSpec({
      auth: { secretRef: { name: 'prom-auth' }, usernameKey: 'user', passwordKey: 'pass' },
      tls: { insecureSkipVerify: true },
    });
    const { credentials, problems } = buildCredentials(
      'shop',
      credentialsPlan(spec.autoscaler, 'prometheus'),
      secretsOf(secret('prom-auth', { user: 'reader', pass: 'pa ss ' })),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(credentials.prometheus, {
      auth: { username: 'reader', password: 'pa ss ' },
      tls: { insecureSkipVerify: true },
    });
    assert.deepEqual(secretNames(secretUses(prometheusSpec({}).autoscaler, 'prometheus')), []);
  });

  test('missing, empty and non-PEM keys are named with the Secret, the key and the field', () => {
    const spec = prometheusSpec({
      auth: { secretRef: { name: 'prom-auth' }, bearerTokenKey: 'token' },
      tls: { caSecretRef: { name: 'prom-ca' }, certSecretRef: { name: 'prom-client', keyKey: 'k' } },
    });
    const { problems } = buildCredentials(
      'shop',
      credentialsPlan(spec.autoscaler, 'prometheus'),
      secretsOf(
        secret('prom-auth', { tokn: 'x' }),
        secret('prom-ca', { 'ca.crt': 'not a certificate' }),
        secret('prom-client', { 'tls.crt': '\n', k: PEM('PRIVATE KEY') }),
      ),
    );
    assert.deepEqual(problems, [
      'Secret shop/prom-auth has no key "token" (spec.autoscaler.prometheus.auth.bearerTokenKey); it has key "tokn"',
      'key "ca.crt" of Secret shop/prom-ca does not hold PEM data (no "-----BEGIN" line; the default of spec.autoscaler.prometheus.tls.caSecretRef.key)',
      'key "tls.crt" of Secret shop/prom-client does not hold PEM data (no "-----BEGIN" line; the default of spec.autoscaler.prometheus.tls.certSecretRef.certKey)',
    ]);
    const empty = buildCredentials(
      'shop',
      credentialsPlan(spec.autoscaler, 'prometheus'),
      secretsOf(
        secret('prom-auth', { token: '\n' }),
        secret('prom-ca', {}),
        secret('prom-client', { 'tls.crt': PEM('CERTIFICATE'), k: PEM('PRIVATE KEY') }),
      ),
    );
    assert.deepEqual(empty.problems, [
      'key "token" of Secret shop/prom-auth is empty (spec.autoscaler.prometheus.auth.bearerTokenKey)',
      'Secret shop/prom-ca has no key "ca.crt" (the default of spec.autoscaler.prometheus.tls.caSecretRef.key); it has no data',
    ]);
  });

  test('Kafka: TLS with the system CAs, with a CA, without verification; SASL from the default keys', () => {
    const user = secret('kafka-user', { username: 'svc', password: 'pw\n' });
    const sasl = { mechanism: 'scram-sha-512' as const, secretRef: { name: 'kafka-user' } };
    const plain = buildCredentials(
      'shop',
      credentialsPlan(kafkaSpec({ tls: { enabled: true }, sasl }).autoscaler, 'kafka'),
      secretsOf(user),
    );
    assert.deepEqual(plain, {
      credentials: {
        kafka: { tls: true, sasl: { mechanism: 'scram-sha-512', username: 'svc', password: 'pw' } },
      },
      problems: [],
    });
    const withCa = kafkaSpec({ tls: { enabled: true, caSecretRef: { name: 'kafka-ca', key: 'ca.pem' } } });
    assert.deepEqual(secretNames(secretUses(withCa.autoscaler, 'kafka')), ['kafka-ca']);
    assert.deepEqual(
      buildCredentials(
        'shop',
        credentialsPlan(withCa.autoscaler, 'kafka'),
        secretsOf(secret('kafka-ca', { 'ca.pem': PEM('CERTIFICATE') })),
      ).credentials.kafka,
      { tls: { ca: PEM('CERTIFICATE'), rejectUnauthorized: true } },
    );
    const insecure = kafkaSpec({
      tls: { enabled: true, insecureSkipVerify: true, serverName: 'kafka.test' },
    });
    assert.deepEqual(
      buildCredentials('shop', credentialsPlan(insecure.autoscaler, 'kafka'), new Map()).credentials.kafka,
      {
        tls: { rejectUnauthorized: false, serverName: 'kafka.test' },
      },
    );
    const off = kafkaSpec({ tls: { enabled: false } });
    assert.deepEqual(secretUses(off.autoscaler, 'kafka'), []);
    assert.deepEqual(
      buildCredentials('shop', credentialsPlan(off.autoscaler, 'kafka'), new Map()).credentials.kafka,
      {},
    );
    const missing = buildCredentials(
      'shop',
      credentialsPlan(kafkaSpec({ sasl }).autoscaler, 'kafka'),
      secretsOf(secret('kafka-user', { user: 'x' })),
    );
    assert.deepEqual(missing.problems, [
      'Secret shop/kafka-user has no key "username" (the default of spec.autoscaler.kafka.sasl.usernameKey); it has key "user"',
      'Secret shop/kafka-user has no key "password" (the default of spec.autoscaler.kafka.sasl.passwordKey); it has key "user"',
    ]);
  });

  test('the credentials version follows uid and resourceVersion', () => {
    const a = secret('a', {}, '10');
    const b = secret('b', {}, '7');
    assert.equal(credentialsVersion([a, b]), credentialsVersion([b, a]));
    assert.notEqual(credentialsVersion([a, b]), credentialsVersion([{ ...a, resourceVersion: '11' }, b]));
    assert.notEqual(credentialsVersion([a]), credentialsVersion([{ ...a, uid: 'recreated' }]));
  });
});

/** Serves Secrets from memory; `failures` makes a name fail as the API server would. */
class MemorySecrets implements SecretReader {
  readonly secrets = new Map<string, SecretValue>();
  readonly failures = new Map<string, SecretReadError>();
  reads = 0;
  async read(_namespace: string, name: string): Promise<SecretValue> {
    this.reads++;
    const failure = this.failures.get(name);
    if (failure) throw failure;
    const found = this.secrets.get(name);
    if (!found) throw new SecretReadError('NotFound', name, `HTTP 404: secrets "${name}" not found`);
    return found;
  }
  put(value: SecretValue): void {
    this.secrets.set(value.name, value);
  }
}

const forbidden = (name: string, ns = 'shop') =>
  new SecretReadError(
    'Forbidden',
    name,
    `HTTP 403: secrets "${name}" is forbidden: User "system:serviceaccount:ops:konsumerator" cannot get resource "secrets" in API group "" in the namespace "${ns}"`,
  );

describe('loading the Secrets', () => {
  const spec = prometheusSpec({
    auth: { secretRef: { name: 'prom-auth' }, bearerTokenKey: 'token' },
    tls: { caSecretRef: { name: 'prom-ca' } },
  });

  test('a missing Secret and a forbidden one: one message, with the command that grants access', async () => {
    const reader = new MemorySecrets();
    reader.failures.set('prom-ca', forbidden('prom-ca'));
    await assert.rejects(loadCredentials(reader, 'shop', credentialsPlan(spec.autoscaler, 'prometheus')), {
      name: 'CredentialsError',
      transient: false,
      message:
        'Secret shop/prom-auth not found (wanted: key "token" for spec.autoscaler.prometheus.auth.secretRef); ' +
        'the operator may not read Secret shop/prom-ca (HTTP 403 Forbidden): its ClusterRole grants no access to ' +
        'Secrets; grant it get on exactly this Secret with a Role and RoleBinding in namespace shop: ' +
        '`konsumerator grant-secrets --namespace shop --secret prom-ca --operator-namespace ops | kubectl apply -f -` ' +
        '(see docs/credentials.md)',
    });
  });

  test('other API errors are transient; a complete set gives the options and a version', async () => {
    const reader = new MemorySecrets();
    reader.failures.set('prom-auth', new SecretReadError('Failed', 'prom-auth', 'HTTP 500: etcd timeout'));
    reader.put(secret('prom-ca', { 'ca.crt': PEM('CERTIFICATE') }));
    await assert.rejects(loadCredentials(reader, 'shop', credentialsPlan(spec.autoscaler, 'prometheus')), {
      transient: true,
      message:
        'cannot read Secret shop/prom-auth (wanted: key "token" for spec.autoscaler.prometheus.auth.secretRef): HTTP 500: etcd timeout',
    });
    reader.failures.clear();
    reader.put(secret('prom-auth', { token: 't' }, '5'));
    const loaded = await loadCredentials(reader, 'shop', credentialsPlan(spec.autoscaler, 'prometheus'));
    assert.deepEqual(loaded.credentials.prometheus, {
      auth: { bearerToken: 't' },
      tls: { ca: PEM('CERTIFICATE') },
    });
    assert.equal(loaded.version, credentialsVersion(reader.secrets.values()));
  });

  test('the grant command and the ServiceAccount in a 403 message', () => {
    assert.deepEqual(serviceAccountOf(forbidden('x').message), { namespace: 'ops', name: 'konsumerator' });
    assert.equal(serviceAccountOf('User "alice" cannot get resource "secrets"'), undefined);
    assert.equal(
      grantSecretsCommand('shop', ['a', 'b'], { namespace: 'ops', name: 'operator' }),
      'konsumerator grant-secrets --namespace shop --secret a --secret b --operator-namespace ops --service-account operator',
    );
    assert.equal(
      grantSecretsCommand('shop', ['a']),
      'konsumerator grant-secrets --namespace shop --secret a',
    );
  });
});

describe('konsumerator grant-secrets', () => {
  test('the shipped ClusterRole grants nothing on Secrets (and no wildcard)', () => {
    for (const rule of clusterRole().rules as Array<{ resources: string[]; verbs: string[] }>) {
      assert.ok(!rule.resources.includes('secrets') && !rule.resources.includes('*'), JSON.stringify(rule));
      assert.ok(!rule.verbs.includes('*'), JSON.stringify(rule));
    }
  });

  test('a Role with get on exactly the named Secrets, bound to the operator ServiceAccount', () => {
    const [role, binding] = grantSecretsObjects({
      namespace: 'shop',
      secrets: ['prom-auth', 'prom-ca', 'prom-auth'],
    });
    assert.deepEqual(role, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: {
        name: 'konsumerator-secrets',
        namespace: 'shop',
        labels: { 'app.kubernetes.io/name': 'konsumerator', 'app.kubernetes.io/component': 'secret-access' },
      },
      rules: [
        { apiGroups: [''], resources: ['secrets'], resourceNames: ['prom-auth', 'prom-ca'], verbs: ['get'] },
      ],
    });
    assert.deepEqual((binding as unknown as { subjects: unknown }).subjects, [
      { kind: 'ServiceAccount', name: 'konsumerator', namespace: 'konsumerator-system' },
    ]);
    assert.deepEqual((binding as unknown as { roleRef: unknown }).roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'konsumerator-secrets',
    });
    assert.throws(() => grantSecretsObjects({ namespace: 'shop', secrets: [] }), /at least one --secret/);
    assert.throws(
      () => grantSecretsObjects({ namespace: 'Shop', secrets: ['a_b'], operatorNamespace: 'ops' }),
      /invalid Secret name "a_b"; invalid --namespace "Shop"/,
    );
  });
});

describe('MetricsSources and the Secrets', () => {
  /** A Prometheus stand-in that wants `Bearer <token>` and answers every query with partition 0 = 1. */
  async function fakePrometheus(token: () => string): Promise<{ url: string; close: () => Promise<void> }> {
    const server = http.createServer((req, res) => {
      req.resume();
      if (req.headers.authorization !== `Bearer ${token()}`)
        return void res.writeHead(401).end('unauthorized');
      answerPartitionZero(res);
    });
    return listenLocally(server);
  }

  test('read when a read is due, at most once per minSyncPeriod; a new resourceVersion re-creates the provider', async () => {
    let expected = 'one';
    const prom = await fakePrometheus(() => expected);
    const reader = new MemorySecrets();
    let created = 0;
    const sources = new MetricsSources(() => {
      created++;
      return noopObserver;
    }, reader);
    const c = consumer(
      prometheusSpec({ auth: { secretRef: { name: 'prom-auth' }, bearerTokenKey: 'token' } }, prom.url),
    );
    c.metadata.namespace = 'shop';
    const config = autoscaleConfig(c.spec)!;
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    const at = (ms: number) => new Date(t0 + ms);
    try {
      // Forbidden: reported, and not asked again before minSyncPeriod (2 s).
      reader.failures.set('prom-auth', forbidden('prom-auth'));
      let sync = await sources.sync(c, config, at(0));
      assert.match(
        sync.error!,
        /may not read Secret shop\/prom-auth \(HTTP 403 Forbidden\).*grant-secrets --namespace shop --secret prom-auth/,
      );
      assert.equal(sources.nextReadInMs(c, config, at(500)), 1500);
      sync = await sources.sync(c, config, at(1000));
      assert.equal(reader.reads, 1);
      assert.equal(created, 0);

      // Granted and present: read, provider built once.
      reader.failures.clear();
      reader.put(secret('prom-auth', { token: 'one' }, '1'));
      sync = await sources.sync(c, config, at(2000));
      assert.equal(sync.error, undefined);
      assert.equal(sync.fresh, true);
      assert.deepEqual(sync.reading!.partitions.get(0), { production: 1, consumption: 1, behind: 1 });
      assert.equal(reader.reads, 2);
      assert.equal(created, 1);
      // Not due: neither a read nor a GET.
      sync = await sources.sync(c, config, at(3000));
      assert.equal(sync.fresh, false);
      assert.equal(reader.reads, 2);
      // Due, Secret unchanged: one GET, the same provider.
      sync = await sources.sync(c, config, at(4000));
      assert.equal(sync.fresh, true);
      assert.equal(reader.reads, 3);
      assert.equal(created, 1);

      // The token changes on the server, not yet in the Secret: 401, and the failing reads are
      // retried without a GET of the Secret until minSyncPeriod has passed.
      expected = 'two';
      sync = await sources.sync(c, config, at(6000));
      assert.match(sync.error!, /HTTP 401/);
      assert.equal(reader.reads, 4);
      sync = await sources.sync(c, config, at(6500));
      assert.match(sync.error!, /HTTP 401/);
      assert.equal(reader.reads, 4);
      // The Secret follows: a new resourceVersion, a new provider, a good read.
      reader.put(secret('prom-auth', { token: 'two' }, '2'));
      sync = await sources.sync(c, config, at(8000));
      assert.equal(sync.error, undefined);
      assert.equal(reader.reads, 5);
      assert.equal(created, 2);

      // An API hiccup: the credentials read before are used, with a warning.
      reader.failures.set('prom-auth', new SecretReadError('Failed', 'prom-auth', 'HTTP 500: etcd timeout'));
      sync = await sources.sync(c, config, at(10_000));
      assert.equal(sync.error, undefined);
      assert.match(
        sync.reading!.warnings.at(-1)!,
        /HTTP 500: etcd timeout; using the credentials read before/,
      );
      // A key gone is an error again.
      reader.failures.clear();
      reader.put(secret('prom-auth', { tokn: 'two' }, '3'));
      sync = await sources.sync(c, config, at(12_000));
      assert.match(sync.error!, /Secret shop\/prom-auth has no key "token"/);
    } finally {
      await sources.closeAll();
      await prom.close();
    }
  });
});
