// Safe for shared clusters, on the real plane: a Consumer's author aims the operator at what is not
// theirs — the plane's API server and etcd, the operator's own metrics and health ports, a stand-in
// for a cloud metadata service holding a secret, a redirect into it, names that resolve to
// loopback, a Kafka bootstrap that advertises a denied broker — and gets a condition and an event
// naming the rule, while nothing connects there and the secret reaches no status or event. Servers
// the operator may reach answer with the secret in every place a Prometheus answer has text; none
// of it reaches status or events, all of it the operator's log. Beside them a healthy Consumer
// keeps scaling. Then the limits: a ResourceQuota on Deployments, too many instances, too many
// Consumers in a namespace.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { Operator } from '../../src/controller/operator.js';
import type { Consumer, ConsumerSpec } from '../../src/api/schema.js';
import { cpuMillis } from '../../src/util/units.js';
import { freePort } from '../../src/testplane/ports.js';
import {
  deleteTestNamespaces,
  kubeConfig,
  metricsPlane,
  newNamespace,
  testEnv,
  waitFor,
} from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient } from '../support/operator.js';
import { ClusterView, currentResources } from '../support/cluster.js';
import { baseSpec } from '../support/consumers.js';
import { FakeExporter } from '../support/faker.js';
import { FakeKafkaBroker } from '../support/fake-kafka-broker.js';
import { FIXTURE_HOST, TEST_READ_LIMITS, testEndpointPolicy } from '../support/endpoints.js';
import { operatorServiceAccountConfig } from '../support/service-account.js';

const env = metricsPlane();
const SECRET = 'AKIA-SECRET-7f3a9c-instance-role-token';
const consumers = new ConsumerClient();
const cluster = new ClusterView();
const core = kubeConfig().makeApiClient(CoreV1Api);
const LIMITS = { maxInstancesPerConsumer: 6, maxConsumersPerNamespace: 16 };

/** Every line the operator logged. */
const logLines: string[] = [];
let operator: Operator | undefined;
let healthPort = 0;
let faker: FakeExporter | undefined;
const closers: Array<() => Promise<unknown>> = [];

/** A server that counts connections and requests, and answers like a metadata service. */
async function metadataStandIn() {
  let connections = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ Code: 'Success', AccessKeyId: 'ASIA', SecretAccessKey: SECRET }));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { port: (server.address() as AddressInfo).port, seen: () => ({ connections, requests }) };
}

/** A TCP server on 127.0.0.1 that counts connections (a broker the bootstrap advertises). */
async function tcpStandIn() {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

/**
 * An allowed server (on the fixtures' address) whose answers carry the secret everywhere a
 * Prometheus answer has text: an HTML page, an API error, Prometheus warnings, label values, a
 * malformed sample value; and one that redirects to the metadata stand-in.
 */
async function leakyServer(redirectTo: string) {
  let requests = 0;
  const series = (metric: Record<string, string>, value: string) => ({
    metric,
    value: [Date.now() / 1000, value],
  });
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    const path = req.url ?? '';
    if (path.startsWith('/redirect/')) return void res.writeHead(302, { location: redirectTo }).end();
    if (path.startsWith('/html/'))
      return void res.writeHead(500, { 'content-type': 'text/html' }).end(`<h1>${SECRET}</h1>`);
    if (path.startsWith('/error/'))
      return void res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'error', errorType: SECRET, error: SECRET }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        status: 'success',
        warnings: [`warning: ${SECRET}`],
        data: {
          resultType: 'vector',
          result: [
            series({ partition: '0', leak: SECRET }, '5'),
            series({ job: SECRET }, '1'),
            series({ partition: SECRET }, '1'),
            series({ partition: '1' }, SECRET),
          ],
        },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, FIXTURE_HOST, resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return {
    url: `http://${FIXTURE_HOST}:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
  };
}

/** The port etcd serves clients on, from its command line. */
function etcdPort(): number {
  const pid = testEnv().pids.etcd;
  assert.ok(pid, 'the plane runs etcd');
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const url = args
    .find((a) => a.startsWith('--listen-client-urls='))!
    .split('=')[1]!
    .split(',')[0]!;
  return Number(new URL(url).port);
}

before(async () => {
  await installCrd(kubeConfig());
  healthPort = await freePort();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  operator = new Operator({
    kubeConfig: await operatorServiceAccountConfig(),
    log: pino({ level: 'debug' }, sink),
    version: 'test',
    resyncMs: 5000,
    workers: 4,
    // On the fixtures' address, which the policy allows: only the own-ports rule keeps them out.
    metricsAddress: `${FIXTURE_HOST}:0`,
    healthAddress: `${FIXTURE_HOST}:${healthPort}`,
    endpointPolicy: testEndpointPolicy(),
    readLimits: TEST_READ_LIMITS,
    limits: LIMITS,
  });
  await operator.start();
});
after(async () => {
  await faker?.stop();
  await deleteTestNamespaces();
  await operator?.stop();
  for (const close of closers) await close();
});

const estimation = {
  minSyncPeriod: '1s',
  ratePerCore: 100,
  ramPerCore: '100M',
  tolerableLag: '5s',
  criticalLag: '1h',
  recoveryTime: '10s',
};
const query = { query: 'up', partitionLabel: 'partition' };

function prometheusSpec(ns: string, name: string, address: string): ConsumerSpec {
  return baseSpec({
    namespace: ns,
    name,
    numPartitions: 2,
    numPartitionsPerInstance: 2,
    autoscaler: {
      mode: 'prometheus',
      prometheus: { address: [address], offset: query, production: query, consumption: query, ...estimation },
    },
  });
}

function kafkaSpec(ns: string, name: string, broker: string): ConsumerSpec {
  return baseSpec({
    namespace: ns,
    name,
    numPartitions: 1,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'kafka',
      kafka: { brokers: [broker], topic: 'orders', groupId: 'orders', ...estimation },
    },
  });
}

const metricsCondition = async (ns: string, name: string) =>
  (await consumers.get(ns, name)).status?.conditions?.find((c) => c.type === 'MetricsAvailable');

async function eventsOf(ns: string): Promise<CoreV1Event[]> {
  return (await core.listNamespacedEvent({ namespace: ns })).items;
}

interface Hostile {
  name: string;
  spec: ConsumerSpec;
  reason: string;
  message: RegExp;
  /** The condition reason also comes as an event with the same reason. */
  event?: string;
}

test(
  'hostile endpoints: refused before any connection, named by rule, nothing reflected; a healthy Consumer keeps scaling',
  { timeout: 300_000 },
  async (t) => {
    const ns = await newNamespace('hostile-endpoints');
    const metadata = await metadataStandIn();
    const advertised = await tcpStandIn();
    const metadataUrl = `http://127.0.0.1:${metadata.port}/latest/meta-data/iam/security-credentials/node`;
    const leaky = await leakyServer(metadataUrl);
    const broker = new FakeKafkaBroker(FIXTURE_HOST, { host: '127.0.0.1', port: advertised.port });
    await broker.start();
    closers.push(() => broker.stop());
    const apiServer = new URL(testEnv().apiServerUrl);
    const metricsPort = operator!.metricsPort!;
    const builtIn = (range: string) =>
      new RegExp(
        `is denied by the operator's endpoint policy \\(the built-in rule ${range.replace(/[./]/g, '\\$&')} `,
      );
    const ownPort = (port: number) =>
      new RegExp(
        `endpoint ${FIXTURE_HOST.replace(/\./g, '\\.')} is denied .*it is the operator's own port ${port}\\)`,
      );
    const hostile: Hostile[] = [
      {
        name: 'api-server',
        spec: prometheusSpec(ns, 'api-server', `https://${apiServer.host}`),
        reason: 'EndpointDenied',
        message: /it is the Kubernetes API server the operator uses/,
      },
      {
        name: 'etcd',
        spec: prometheusSpec(ns, 'etcd', `http://127.0.0.1:${etcdPort()}`),
        reason: 'EndpointDenied',
        message: builtIn('127.0.0.0/8'),
      },
      {
        name: 'own-metrics',
        spec: prometheusSpec(ns, 'own-metrics', `http://${FIXTURE_HOST}:${metricsPort}`),
        reason: 'EndpointDenied',
        message: ownPort(metricsPort),
      },
      {
        name: 'own-health',
        spec: prometheusSpec(ns, 'own-health', `http://${FIXTURE_HOST}:${healthPort}/healthz`),
        reason: 'EndpointDenied',
        message: ownPort(healthPort),
      },
      {
        name: 'metadata',
        spec: prometheusSpec(ns, 'metadata', metadataUrl),
        reason: 'EndpointDenied',
        message: builtIn('127.0.0.0/8'),
      },
      {
        name: 'localhost',
        spec: prometheusSpec(ns, 'localhost', `http://localhost:${metadata.port}`),
        reason: 'EndpointDenied',
        message: /endpoint localhost is denied .*the built-in rule 127\.0\.0\.0\/8/,
      },
      {
        name: 'this-host',
        spec: prometheusSpec(ns, 'this-host', `http://0.0.0.0:${metadata.port}`),
        reason: 'EndpointDenied',
        message: builtIn('0.0.0.0/8'),
      },
      {
        name: 'mapped-ipv6',
        spec: prometheusSpec(ns, 'mapped-ipv6', `http://[::ffff:127.0.0.1]:${metadata.port}`),
        reason: 'EndpointDenied',
        message: builtIn('127.0.0.0/8'),
      },
      {
        name: 'outside-allow-list',
        spec: prometheusSpec(ns, 'outside-allow-list', 'http://10.255.255.1:9090'),
        reason: 'EndpointDenied',
        message: /endpoint 10\.255\.255\.1 is denied .*it matches no rule of --allow-endpoints/,
      },
      {
        name: 'redirect',
        spec: prometheusSpec(ns, 'redirect', `${leaky.url}/redirect`),
        reason: 'ReadFailed',
        message: /HTTP 302: a redirect, which is not followed/,
      },
      {
        name: 'kafka-localhost',
        spec: kafkaSpec(ns, 'kafka-localhost', `localhost:${advertised.port}`),
        reason: 'EndpointDenied',
        message:
          /cannot connect to localhost:\d+: endpoint localhost is denied .*built-in rule 127\.0\.0\.0\/8/,
      },
      {
        name: 'kafka-advertised',
        spec: kafkaSpec(ns, 'kafka-advertised', broker.address),
        reason: 'EndpointDenied',
        // The advertised host is the broker's text: the rule is named, the address is not.
        message:
          /cannot read (the topic's offsets \(|offsets: )an endpoint is denied by .*built-in rule 127\.0\.0\.0\/8/,
      },
    ];
    const leaks: Hostile[] = ['html', 'error', 'warnings'].map((path) => ({
      name: `leak-${path}`,
      spec: prometheusSpec(ns, `leak-${path}`, `${leaky.url}/${path}`),
      reason: path === 'warnings' ? 'PartialData' : 'ReadFailed',
      message:
        path === 'html'
          ? /HTTP 500: not a Prometheus API answer \(text\/html, \d+ bytes\)/
          : path === 'error'
            ? /HTTP 400: Prometheus API error \(its message is in the operator's log\)/
            : /Prometheus answered with 1 warning.*1 series without label "partition" skipped.*1 series with a non-integer "partition" label skipped.*malformed value for partitions 1: unknown/,
    }));
    const all = [...hostile, ...leaks];
    assert.ok(all.length + 1 <= LIMITS.maxConsumersPerNamespace);
    for (const h of all) await consumers.create(ns, h.name, h.spec);

    // A healthy Consumer beside them: partition 0 consumes half of what is produced and falls
    // behind, so its instance must grow.
    faker = new FakeExporter([{ production: 100, consumption: 50 }]);
    await faker.start();
    const healthy = baseSpec({
      namespace: ns,
      name: 'healthy',
      numPartitions: 1,
      numPartitionsPerInstance: 1,
      autoscaler: {
        mode: 'prometheus',
        pendingScaleUpDuration: '0s',
        prometheus: {
          address: [env.prometheusUrl],
          ...faker.queries(),
          ...estimation,
        },
      },
    });
    const started = Date.now();
    await consumers.create(ns, 'healthy', healthy);
    const cpu = async () =>
      (await cluster.deployments(ns))
        .filter((d) => d.metadata!.name === 'healthy-0')
        .map((d) => cpuMillis(currentResources(d).requests!.cpu!))[0];
    const first = await waitFor('the healthy Consumer created', cpu, 60_000);
    t.diagnostic(
      `healthy Consumer: created at ${first}m ${((Date.now() - started) / 1000).toFixed(1)} s after its creation`,
    );

    for (const h of all) {
      const condition = await waitFor(
        `${h.name}: MetricsAvailable ${h.reason} ${h.message}`,
        async () => {
          const c = await metricsCondition(ns, h.name);
          return c?.reason === h.reason && h.message.test(c.message) ? c : undefined;
        },
        60_000,
      ).catch(async (e: Error) => {
        throw new Error(`${e.message}; last: ${JSON.stringify(await metricsCondition(ns, h.name))}`);
      });
      t.diagnostic(`${h.name}: ${condition.reason}: ${condition.message}`);
    }
    // Each refusal is also a Warning event with the same words.
    const events = await eventsOf(ns);
    for (const h of hostile.filter((x) => x.reason === 'EndpointDenied')) {
      assert.ok(
        events.some(
          (e) =>
            e.involvedObject.name === h.name &&
            e.type === 'Warning' &&
            e.reason === 'EndpointDenied' &&
            h.message.test(e.message ?? ''),
        ),
        `${h.name}: an EndpointDenied event`,
      );
    }
    // The advertised broker's address is the broker's text: not in what the tenant reads.
    const advertisedCondition = (await metricsCondition(ns, 'kafka-advertised'))!.message;
    assert.doesNotMatch(advertisedCondition, new RegExp(`:${advertised.port}\\b`));

    // Nothing reached what the policy denies; the allowed servers were asked.
    assert.deepEqual(metadata.seen(), { connections: 0, requests: 0 }, 'the metadata stand-in saw nothing');
    assert.equal(advertised.connections(), 0, 'the advertised broker saw nothing');
    assert.ok(leaky.requests() >= 4, 'the allowed servers were asked');
    assert.ok(
      broker.requests.some((r) => r.startsWith('3/')),
      'the bootstrap was asked for metadata',
    );

    // The secret is in no status and no event, but in the operator's log.
    const statuses = await Promise.all(
      [...all.map((h) => h.name), 'healthy'].map((n) => consumers.get(ns, n)),
    );
    const told = JSON.stringify([
      statuses.map((c: Consumer) => c.status),
      (await eventsOf(ns)).map((e) => e.message),
    ]);
    assert.doesNotMatch(told, new RegExp(SECRET));
    assert.ok(
      logLines.some((l) => l.includes(SECRET) && l.includes('metrics source detail')),
      "what the servers said is in the operator's log",
    );
    // Meanwhile the healthy Consumer's backlog grew (it consumes half of what is produced): it is
    // scaled up while the hostile ones keep failing beside it.
    const grown = await waitFor(
      'the healthy Consumer scales up',
      async () => {
        const now = await cpu();
        return now !== undefined && now > first ? now : undefined;
      },
      90_000,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}; status: ${JSON.stringify((await consumers.get(ns, 'healthy')).status)}`);
    });
    t.diagnostic(
      `healthy Consumer: scaled up from ${first}m to ${grown}m ${((Date.now() - started) / 1000).toFixed(1)} s after its creation`,
    );
    assert.ok(operator!.ready, 'the operator stays ready');
  },
);

test(
  'a ResourceQuota on Deployments: the Consumer says which quota and how far over, retries, and recovers; others unaffected',
  { timeout: 180_000 },
  async (t) => {
    assert.ok(testEnv().withControllers, 'ResourceQuota usage is computed by the controller-manager');
    const ns = await newNamespace('quota');
    const other = await newNamespace('quota-other');
    await core.createNamespacedResourceQuota({
      namespace: ns,
      body: { metadata: { name: 'deployments' }, spec: { hard: { 'count/deployments.apps': '2' } } },
    });
    await waitFor('the quota controller has computed usage', async () => {
      const q = await core.readNamespacedResourceQuota({ namespace: ns, name: 'deployments' });
      return q.status?.hard?.['count/deployments.apps'] === '2' && q.status.used !== undefined;
    });
    await consumers.create(
      ns,
      'orders',
      baseSpec({ namespace: ns, numPartitions: 4, numPartitionsPerInstance: 1 }),
    );
    await consumers.create(
      other,
      'orders',
      baseSpec({ namespace: other, numPartitions: 2, numPartitionsPerInstance: 1 }),
    );
    const degraded = await consumers.waitCondition(ns, 'orders', 'Degraded', 'QuotaExceeded', 60_000);
    const message = degraded.status!.conditions!.find((c) => c.type === 'Degraded')!.message;
    assert.match(
      message,
      new RegExp(
        `create of Deployment orders-\\d refused by ResourceQuota ${ns}/deployments: count/deployments\\.apps 2 of 2 used, 1 more asked \\(1 over\\)`,
      ),
    );
    assert.equal(degraded.status!.conditions!.find((c) => c.type === 'Ready')!.reason, 'QuotaExceeded');
    assert.equal((await cluster.deployments(ns)).length, 2, 'what the quota allows is created');
    const events = await eventsOf(ns);
    assert.ok(
      events.some(
        (e) => e.reason === 'QuotaExceeded' && /ResourceQuota .*\/deployments/.test(e.message ?? ''),
      ),
    );
    // The other namespace is not held up, and the operator stays ready.
    await consumers.waitReady(other, 'orders', 60_000);
    assert.ok(operator!.ready);

    // Room again: the retries (with backoff) create the rest.
    const raisedAt = Date.now();
    await core.patchNamespacedResourceQuota({
      namespace: ns,
      name: 'deployments',
      body: [{ op: 'replace', path: '/spec/hard/count~1deployments.apps', value: '4' }],
    });
    await consumers.waitReady(ns, 'orders', 120_000);
    assert.equal((await cluster.deployments(ns)).length, 4);
    t.diagnostic(
      `quota raised: all 4 instances ready ${((Date.now() - raisedAt) / 1000).toFixed(1)} s later`,
    );
  },
);

test(
  'too many instances: refused with nothing written; an existing Consumer over a lowered limit keeps its Deployments untouched',
  { timeout: 120_000 },
  async () => {
    const ns = await newNamespace('instance-limit');
    await consumers.create(
      ns,
      'wide',
      baseSpec({ namespace: ns, name: 'wide', numPartitions: 7, numPartitionsPerInstance: 1 }),
    );
    const refused = await consumers.waitCondition(ns, 'wide', 'Ready', 'InstanceLimitExceeded');
    assert.match(
      refused.status!.conditions!.find((c) => c.type === 'Ready')!.message,
      /asks for 7 instances .* at most 6 per Consumer \(--max-instances-per-consumer\)/,
    );
    assert.ok(
      (await eventsOf(ns)).some(
        (e) => e.involvedObject.name === 'wide' && e.reason === 'InstanceLimitExceeded',
      ),
    );

    await consumers.create(
      ns,
      'grows',
      baseSpec({ namespace: ns, name: 'grows', numPartitions: 4, numPartitionsPerInstance: 1 }),
    );
    await consumers.waitReady(ns, 'grows', 60_000);
    const ownedBy = async (prefix: string) =>
      (await cluster.deployments(ns))
        .filter((d) => d.metadata!.name!.startsWith(`${prefix}-`))
        .map((d) => `${d.metadata!.name}@${d.metadata!.resourceVersion}`);
    const before4 = await ownedBy('grows');
    assert.equal(before4.length, 4);
    assert.deepEqual(await ownedBy('wide'), [], 'nothing written for the refused Consumer');
    // The spec grows beyond the limit (as if the limit had been lowered below it).
    const spec = (await consumers.get(ns, 'grows')).spec;
    await consumers.setSpec(ns, 'grows', { ...spec, numPartitions: 8 });
    await consumers.waitCondition(ns, 'grows', 'Ready', 'InstanceLimitExceeded');
    // Two resyncs later: the four Deployments are still there, unchanged.
    await new Promise((r) => setTimeout(r, 11_000));
    assert.deepEqual(await ownedBy('grows'), before4);
  },
);

test(
  'too many Consumers in a namespace: the newest is refused until an older one goes',
  { timeout: 180_000 },
  async () => {
    const ns = await newNamespace('consumer-limit');
    const names = Array.from(
      { length: LIMITS.maxConsumersPerNamespace + 1 },
      (_, i) => `c${String(i).padStart(2, '0')}`,
    );
    for (const name of names)
      await consumers.create(
        ns,
        name,
        baseSpec({ namespace: ns, name, numPartitions: 1, numPartitionsPerInstance: 1 }),
      );
    const newest = names.at(-1)!;
    const refused = await consumers.waitCondition(ns, newest, 'Ready', 'ConsumerLimitExceeded', 60_000);
    assert.match(
      refused.status!.conditions!.find((c) => c.type === 'Ready')!.message,
      new RegExp(`namespace ${ns} has 17 Consumers; the operator reconciles the 16 oldest`),
    );
    for (const name of names.slice(0, -1)) await consumers.waitReady(ns, name, 90_000);
    assert.ok(!(await cluster.deployments(ns)).some((d) => d.metadata!.name === `${newest}-0`));
    await consumers.delete(ns, names[0]!);
    // Admitted at the next resync (5 s here) at the latest.
    await consumers.waitReady(ns, newest, 60_000);
  },
);
