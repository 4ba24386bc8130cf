// Webhook notifications against real HTTP receivers: a Consumer scales up (past its maxAllowed,
// so it is also saturated) and back down while five targets listen: one that answers 200, one
// that answers 500 once, one that always answers 503, one that is too slow, and one that is down.
// The good receiver gets valid CloudEvents in order; the 500-once one gets the event on the retry;
// the others' deliveries are dropped and counted; and the Consumer converges all the same. A sixth
// receiver answers 401 unless it gets `Authorization: Bearer <token>`, the token read from a file
// as from a mounted Secret (`--notify-header`).
import { test, before, after } from '../support/timed.js';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsumerSpec } from '../../src/api/schema.js';
import type { Operator } from '../../src/controller/operator.js';
import type { CloudEvent } from '../../src/notify/cloudevent.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient, startOperator } from '../support/operator.js';
import { ClusterView, currentResources } from '../support/cluster.js';
import { baseSpec, consumerPolicy } from '../support/consumers.js';

const consumers = new ConsumerClient();
const cluster = new ClusterView();

interface Received {
  event: CloudEvent;
  contentType: string;
  answered: number;
}

/** A receiver on 127.0.0.1 that records every request and answers `answer(n)` to the n-th (from 1). */
function receiver(answer: (n: number, req: IncomingMessage) => number | 'hang') {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answer(received.length + 1, req);
      received.push({
        event: JSON.parse(Buffer.concat(chunks).toString('utf8')) as CloudEvent,
        contentType: String(req.headers['content-type']),
        answered: status === 'hang' ? 0 : status,
      });
      if (status === 'hang') setTimeout(() => res.end(), 3000).unref();
      else res.writeHead(status, { 'retry-after': '0' }).end('receiver body the operator must not read');
    });
  });
  return {
    received,
    server,
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
  };
}

const listen = (server: Server) => new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const close = (server: Server) =>
  new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });

const good = receiver(() => 200);
const flaky = receiver((n) => (n === 1 ? 500 : 200));
const failing = receiver(() => 503);
const slow = receiver(() => 'hang');
const TOKEN = 'e2e-notify-token';
const authed = receiver((_n, req) => (req.headers.authorization === `Bearer ${TOKEN}` ? 200 : 401));
const secretDir = mkdtempSync(join(tmpdir(), 'notify-secret-'));
let downUrl = '';
let operator: Operator;

before(async () => {
  await installCrd(kubeConfig());
  await Promise.all([good, flaky, failing, slow, authed].map((r) => listen(r.server)));
  // A port nothing listens on: bound, then closed.
  const gone = createServer();
  await listen(gone);
  downUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}/hook`;
  await close(gone);
  // As the kubelet writes a Secret's key into a mounted volume.
  const tokenFile = join(secretDir, 'token');
  writeFileSync(tokenFile, `Bearer ${TOKEN}`);
  operator = await startOperator(undefined, 60_000, {
    notifyUrls: [good.url(), flaky.url(), failing.url(), slow.url(), downUrl, authed.url()],
    notifyHeaders: [`6=Authorization:${tokenFile}`],
    notifyOptions: { timeoutMs: 500, retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 400 } },
  });
});

after(async () => {
  await deleteTestNamespaces();
  await operator?.stop();
  await Promise.all([good, flaky, failing, slow, authed].map((r) => close(r.server)));
  rmSync(secretDir, { recursive: true, force: true });
});

const calm = { production: 10, consumption: 10, behind: 0 };
const lagging = { production: 150, consumption: 100, behind: 150 * 600 };

function spec(ns: string, partition1: typeof calm): ConsumerSpec {
  return baseSpec({
    namespace: ns,
    numPartitions: 2,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'static',
      predictor: 'naive',
      actuation: 'Rollout',
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      scaleDownAfterLagFreeSyncs: 1,
      static: {
        partitions: { '0': calm, '1': partition1 },
        minSyncPeriod: '1s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '1m',
        criticalLag: '1h',
        recoveryTime: '10m',
      },
    },
    // The prediction for partition 1 is 3 cores: 2 is as far as it goes (saturated).
    resourcePolicy: consumerPolicy('2'),
  });
}

const cpuOf = async (ns: string) =>
  (await cluster.deployments(ns)).map((d) => String(currentResources(d).requests?.cpu)).join();

const types = (r: { received: Received[] }) =>
  r.received.map((x) => x.event.type.replace('org.lwolf.konsumerator.', ''));

const metricValue = async (name: string, labels: Record<string, string>) => {
  const metric = await operator.metrics.registry.getSingleMetric(name)!.get();
  return metric.values
    .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
    .reduce((sum, v) => sum + v.value, 0);
};

test('scaling events reach every working receiver as CloudEvents; broken receivers never hold the Consumer up', async () => {
  const ns = await newNamespace('notify');
  const started = Date.now();
  await consumers.create(ns, 'orders', spec(ns, calm));
  await consumers.waitReady(ns, 'orders');
  await waitFor('calm instances at 100m', async () => (await cpuOf(ns)) === '100m,100m');

  await consumers.setSpec(ns, 'orders', spec(ns, lagging));
  await waitFor('instance 1 scaled up to its maximum', async () => (await cpuOf(ns)) === '100m,2', 30_000);
  await consumers.setSpec(ns, 'orders', spec(ns, calm));
  await waitFor('instance 1 scaled back down', async () => (await cpuOf(ns)) === '100m,100m', 30_000);
  await consumers.waitReady(ns, 'orders');

  await waitFor('the good receiver has all four events', async () => good.received.length >= 4, 10_000);
  assert.deepEqual(types(good), [
    'instance.scaled.up',
    'instance.saturated',
    'instance.scaled.down',
    'instance.saturation.cleared',
  ]);
  const source = `/apis/konsumerator.lwolf.org/v1/namespaces/${ns}/consumers/orders`;
  for (const { event, contentType } of good.received) {
    assert.match(contentType, /^application\/cloudevents\+json/);
    assert.equal(event.specversion, '1.0');
    assert.equal(event.source, source);
    assert.equal(event.subject, 'orders-1');
    assert.equal(event.datacontenttype, 'application/json');
    const time = Date.parse(event.time);
    assert.ok(time >= started - 1000 && time <= Date.now(), `time ${event.time} is during the test`);
  }
  assert.equal(new Set(good.received.map((r) => r.event.id)).size, 4, 'every event has its own id');
  const up = good.received[0]!.event.data;
  assert.deepEqual(up.consumer, {
    namespace: ns,
    name: 'orders',
    uid: (await consumers.get(ns, 'orders')).metadata.uid,
  });
  assert.deepEqual(
    { instance: up.instance, deployment: up.deployment, partitions: up.partitions, actuation: up.actuation },
    { instance: 1, deployment: 'orders-1', partitions: [1], actuation: 'Rollout' },
  );
  assert.deepEqual(up.from, {
    cpuRequest: '100m',
    cpuLimit: '1',
    memoryRequest: '100M',
    memoryLimit: '100M',
  });
  // Memory follows the prediction (3 cores × ramPerCore), within its own maximum.
  assert.deepEqual(up.to, { cpuRequest: '2', cpuLimit: '2', memoryRequest: '300M', memoryLimit: '300M' });
  assert.equal(up.lagSeconds, 600);
  assert.equal(typeof up.reason, 'string');
  assert.equal(good.received[1]!.event.data.limitedBy, 'maxAllowed');
  assert.equal(good.received[1]!.event.data.cpuShortage, '1');

  // 500 once, then 200: the first event arrives twice (the same id), the rest once each.
  await waitFor('the 500-once receiver has all four events', async () => flaky.received.length >= 5, 10_000);
  assert.deepEqual(
    flaky.received.map((r) => r.answered),
    [500, 200, 200, 200, 200],
  );
  assert.equal(flaky.received[0]!.event.id, flaky.received[1]!.event.id, 'the retry carries the same event');
  assert.deepEqual(
    flaky.received.slice(1).map((r) => r.event.id),
    good.received.map((r) => r.event.id),
    'the same events as the good receiver, in the same order',
  );

  // The receiver that wants a token got it with every event, and answered 200 to each.
  await waitFor(
    'the authenticated receiver has all four events',
    async () => authed.received.length >= 4,
    10_000,
  );
  assert.deepEqual(
    authed.received.map((r) => [r.event.id, r.answered]),
    good.received.map((r) => [r.event.id, 200]),
  );

  // Always 503, too slow, and down: each event tried 3 times, then dropped and counted.
  const target = (url: string) => new URL(url).host;
  for (const [url, outcome] of [
    [failing.url(), 'http_error'],
    [slow.url(), 'timeout'],
    [downUrl, 'network_error'],
  ] as const) {
    await waitFor(
      `4 drops for ${outcome}`,
      async () =>
        (await metricValue('konsumerator_notifications_dropped_total', {
          target: target(url),
          reason: 'max_attempts',
        })) === 4
          ? true
          : undefined,
      15_000,
    );
    assert.equal(
      await metricValue('konsumerator_notification_deliveries_total', { target: target(url), outcome }),
      12,
      `${outcome}: 3 attempts per event`,
    );
  }
  assert.equal(failing.received.length, 12);
  assert.equal(
    await metricValue('konsumerator_notification_deliveries_total', {
      target: target(good.url()),
      outcome: 'delivered',
    }),
    4,
  );
  assert.equal(await metricValue('konsumerator_notification_queue_depth', {}), 0, 'every queue is empty');

  // Nothing a receiver said reached the Consumer's status or events.
  const consumer = await consumers.get(ns, 'orders');
  assert.doesNotMatch(JSON.stringify(consumer.status), /receiver body/);
});
