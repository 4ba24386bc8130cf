// Credentials from Secrets, end to end, with least privilege: the operator runs as its own
// ServiceAccount with the shipped ClusterRole (no access to Secrets) against a Prometheus behind an
// HTTPS reverse proxy that wants a bearer token. The Consumer names the token and the CA in
// Secrets; the operator says it may not read them and how to grant it; the namespace owner applies
// what `konsumerator grant-secrets` prints; metrics flow; a wrong token in the Secret is a 401.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { Condition, ConsumerSpec } from '../../src/api/schema.js';
import type { Operator } from '../../src/controller/operator.js';
import { describeApiError } from '../../src/controller/kube.js';
import { applyObjects } from '../../src/cli/install.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, metricsPlane, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient, startOperator } from '../support/operator.js';
import { baseSpec } from '../support/consumers.js';
import { OPERATOR_NAMESPACE, operatorServiceAccountConfig } from '../support/service-account.js';
import { FIXTURE_HOST } from '../support/endpoints.js';

const env = metricsPlane();
const TOKEN = 's3cret-token';

const tmp = mkdtempSync(join(tmpdir(), 'credentials-'));
const certFile = join(tmp, 'cert.pem');
const keyFile = join(tmp, 'key.pem');
let proxy: https.Server | undefined;
let proxyUrl = '';
let operator: Operator | undefined;
let operatorConfig: KubeConfig;
const admin = kubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const consumers = new ConsumerClient();

before(async () => {
  await installCrd(admin);
  operatorConfig = await operatorServiceAccountConfig();
  // A self-signed certificate for the fixtures' address, and an HTTPS proxy to the plane's Prometheus that
  // answers 401 without `Authorization: Bearer <TOKEN>`.
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
      ...['-subj', '/CN=prometheus.test', '-addext', `subjectAltName=DNS:prometheus.test,IP:${FIXTURE_HOST}`],
      ...['-keyout', keyFile, '-out', certFile],
    ],
    { stdio: 'ignore' },
  );
  proxy = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized');
        return;
      }
      fetch(`${env.prometheusUrl}${req.url}`, {
        method: req.method,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded' },
        ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
        signal: AbortSignal.timeout(10_000),
      })
        .then(async (r) =>
          res
            .writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' })
            .end(await r.text()),
        )
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((resolve) => proxy!.listen(0, FIXTURE_HOST, resolve));
  proxyUrl = `https://${FIXTURE_HOST}:${(proxy.address() as AddressInfo).port}`;
});

after(async () => {
  await operator?.stop();
  await deleteTestNamespaces();
  proxy?.closeAllConnections();
  await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
  rmSync(tmp, { recursive: true, force: true });
});

/** One series with partition="0" and value `v`, without any scrape target. */
const constant = (v: number) => ({
  query: `label_replace(vector(${v}), "partition", "0", "", "")`,
  partitionLabel: 'partition',
});

function spec(ns: string): ConsumerSpec {
  return baseSpec({
    namespace: ns,
    numPartitions: 1,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'prometheus',
      prometheus: {
        address: [proxyUrl],
        offset: constant(0),
        production: constant(5),
        consumption: constant(5),
        auth: { secretRef: { name: 'prom-auth' }, bearerTokenKey: 'token' },
        tls: { caSecretRef: { name: 'prom-ca' } },
        minSyncPeriod: '2s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '5s',
        criticalLag: '1h',
        recoveryTime: '10s',
      },
    },
  });
}

async function waitMetrics(
  ns: string,
  name: string,
  what: string,
  ok: (c: Condition) => boolean,
  timeoutMs = 30_000,
): Promise<Condition> {
  return waitFor(
    `Consumer ${ns}/${name} MetricsAvailable ${what}`,
    async () => {
      const c = (await consumers.get(ns, name)).status?.conditions?.find(
        (x) => x.type === 'MetricsAvailable',
      );
      return c && ok(c) ? c : undefined;
    },
    timeoutMs,
  );
}

const forbidden = (e: unknown) => describeApiError(e).code === 403;

test('Prometheus credentials from Secrets the operator is granted one by one', async () => {
  const ns = await newNamespace('credentials');
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'prom-auth' }, stringData: { token: `${TOKEN}\n` } },
  });
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'prom-ca' }, stringData: { 'ca.crt': readFileSync(certFile, 'utf8') } },
  });
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'unrelated' }, stringData: { password: 'hunter2' } },
  });
  operator = await startOperator(operatorConfig);
  await consumers.create(ns, 'orders', spec(ns));
  // A Consumer without credentials in the same namespace is not affected.
  await consumers.create(
    ns,
    'inline',
    baseSpec({
      namespace: ns,
      name: 'inline',
      numPartitions: 1,
      autoscaler: {
        mode: 'static',
        static: {
          partitions: { '0': { production: 1, consumption: 1, behind: 0 } },
          minSyncPeriod: '2s',
          ratePerCore: 100,
          ramPerCore: '100M',
          tolerableLag: '5s',
          criticalLag: '1h',
          recoveryTime: '10s',
        },
      },
    }),
  );

  // 1. The shipped RBAC: the Secrets cannot be read; the message says which and how to grant it.
  const refused = await waitMetrics(ns, 'orders', 'False (forbidden Secrets)', (c) => c.status === 'False');
  assert.equal(refused.reason, 'ReadFailed');
  assert.match(
    refused.message,
    new RegExp(`the operator may not read Secrets ${ns}/prom-auth, ${ns}/prom-ca \\(HTTP 403 Forbidden\\)`),
  );
  const command = /`konsumerator (grant-secrets [^`|]+?) \| kubectl apply -f -`/.exec(refused.message)?.[1];
  assert.equal(
    command,
    `grant-secrets --namespace ${ns} --secret prom-auth --secret prom-ca --operator-namespace ${OPERATOR_NAMESPACE}`,
  );
  await waitMetrics(ns, 'inline', 'True', (c) => c.status === 'True');

  // 2. The namespace owner applies what grant-secrets prints (the command from the message).
  const yaml = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...command!.split(' ')],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  const objects = parseAllDocuments(yaml).map((d) => d.toJSON() as KubernetesObject);
  assert.deepEqual(
    objects.map((o) => `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`),
    [`Role ${ns}/konsumerator-secrets`, `RoleBinding ${ns}/konsumerator-secrets`],
  );
  await applyObjects(admin, objects, 'namespace-owner');
  const granted = await waitMetrics(ns, 'orders', 'True', (c) => c.status === 'True');
  assert.ok(['Read', 'PartialData'].includes(granted.reason), granted.reason);
  const read = await consumers.get(ns, 'orders');
  assert.deepEqual(read.status?.lastSyncState?.['0'], {
    productionRate: 5,
    consumptionRate: 5,
    messageBehind: 0,
  });

  // Exactly these Secrets: no other one, no list, no watch.
  const asOperator = operatorConfig.makeApiClient(CoreV1Api);
  await asOperator.readNamespacedSecret({ namespace: ns, name: 'prom-auth' });
  await assert.rejects(asOperator.readNamespacedSecret({ namespace: ns, name: 'unrelated' }), forbidden);
  await assert.rejects(asOperator.listNamespacedSecret({ namespace: ns }), forbidden);
  await assert.rejects(asOperator.listNamespacedSecret({ namespace: ns, watch: true }), forbidden);
  await assert.rejects(asOperator.listSecretForAllNamespaces(), forbidden);

  // 3. A wrong token in the Secret: the next due read uses it and gets a 401.
  await core.replaceNamespacedSecret({
    namespace: ns,
    name: 'prom-auth',
    body: { metadata: { name: 'prom-auth' }, stringData: { token: 'wrong' } },
  });
  const rejected = await waitMetrics(ns, 'orders', 'False (401)', (c) => c.status === 'False');
  assert.match(rejected.message, new RegExp(`${proxyUrl}: HTTP 401`));

  // 4. The key gone: the message names the Secret and the key.
  await core.replaceNamespacedSecret({
    namespace: ns,
    name: 'prom-auth',
    body: { metadata: { name: 'prom-auth' }, stringData: { bearer: TOKEN } },
  });
  const missing = await waitMetrics(ns, 'orders', 'False (missing key)', (c) =>
    c.message.includes('has no key'),
  );
  assert.match(
    missing.message,
    new RegExp(
      `Secret ${ns}/prom-auth has no key "token" \\(spec.autoscaler.prometheus.auth.bearerTokenKey\\)`,
    ),
  );

  // 5. Fixed: metrics again.
  await core.replaceNamespacedSecret({
    namespace: ns,
    name: 'prom-auth',
    body: { metadata: { name: 'prom-auth' }, stringData: { token: TOKEN } },
  });
  await waitMetrics(ns, 'orders', 'True again', (c) => c.status === 'True');
  await waitMetrics(ns, 'inline', 'still True', (c) => c.status === 'True');
});
