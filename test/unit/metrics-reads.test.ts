// How the operator bounds the metrics reads tenants ask for (src/controller/metrics-sources.ts):
// never more often than its floor, a slow read does not hold the reconcile for longer than a
// second (it goes on in the background and its Consumer is reconciled again when it ends), and
// what a server said goes to the operator's log, not to what tenants read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { autoscaleConfig } from '../../src/autoscale/config.js';
import { MetricsSources } from '../../src/controller/metrics-sources.js';
import type { Consumer } from '../../src/api/schema.js';
import { EndpointPolicy } from '../../src/net/endpoint-policy.js';
import { createLogger } from '../../src/util/log.js';
import { baseSpec, consumer } from '../support/consumers.js';
import { answerPartitionZero, listenLocally } from '../support/local-server.js';

const SECRET = 'instance-role-credentials-s3cr3t';

/** A Prometheus stand-in: answers partition 0 = 1 after `delayMs`, or (broken) an HTML page with a secret. */
async function prometheus(options: { delayMs?: number; broken?: () => boolean } = {}) {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    setTimeout(() => {
      if (options.broken?.())
        return void res.writeHead(200, { 'content-type': 'text/html' }).end(`<p>token: ${SECRET}</p>`);
      answerPartitionZero(res);
    }, options.delayMs ?? 0);
  });
  return { ...(await listenLocally(server)), requests: () => requests };
}

const query = { query: 'q', partitionLabel: 'partition' };
function spec(url: string, minSyncPeriod = '1s'): Consumer {
  return consumer(
    baseSpec({
      numPartitions: 1,
      numPartitionsPerInstance: 1,
      autoscaler: {
        mode: 'prometheus',
        prometheus: {
          address: [url],
          offset: query,
          production: query,
          consumption: query,
          minSyncPeriod,
          ratePerCore: 100,
          ramPerCore: '100M',
          tolerableLag: '5s',
          criticalLag: '1h',
          recoveryTime: '10s',
        },
      },
    }),
  );
}

test('the floor: a Consumer asking for a read every 1 ms is read every 5 s', async () => {
  const prom = await prometheus();
  const sources = new MetricsSources(undefined, { limits: { minSyncPeriodMs: 5000 } });
  const c = spec(prom.url, '1ms');
  const config = autoscaleConfig(c.spec)!;
  const t0 = Date.parse('2030-01-01T00:00:00Z');
  try {
    assert.equal(sources.periodMs(config), 5000);
    assert.equal((await sources.sync(c, config, new Date(t0))).fresh, true);
    assert.equal((await sources.sync(c, config, new Date(t0 + 1000))).fresh, false);
    assert.equal(sources.nextReadInMs(c, config, new Date(t0 + 1000)), 4000);
    assert.equal((await sources.sync(c, config, new Date(t0 + 5000))).fresh, true);
    assert.equal(prom.requests(), 6, 'two reads of three queries');
  } finally {
    await sources.closeAll();
    await prom.close();
  }
});

test('a slow read goes on in the background; its Consumer is reconciled again when it ends', async () => {
  const prom = await prometheus({ delayMs: 2500 });
  const done: string[] = [];
  const sources = new MetricsSources(undefined, { onReadDone: (c) => done.push(c.metadata.name) });
  const c = spec(prom.url);
  const config = autoscaleConfig(c.spec)!;
  const t0 = Date.parse('2030-01-01T00:00:00Z');
  try {
    // The first read is waited for (up to 5 s): new instances start from its prediction.
    let started = performance.now();
    const first = await sources.sync(c, config, new Date(t0));
    assert.equal(first.fresh, true);
    assert.ok(performance.now() - started >= 2000);
    // A later one holds the reconcile about a second, then goes on without it.
    started = performance.now();
    const waited = await sources.sync(c, config, new Date(t0 + 1000));
    const heldMs = performance.now() - started;
    assert.equal(waited.fresh, false);
    assert.ok(heldMs >= 900 && heldMs < 2000, `held ${heldMs} ms`);
    assert.deepEqual(waited.reading, first.reading, 'the last reading stands meanwhile');
    // While it runs, no second read starts, though one would be due.
    assert.equal((await sources.sync(c, config, new Date(t0 + 2500))).fresh, false);
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(done, [c.metadata.name]);
    assert.equal(prom.requests(), 6, 'two reads of three queries');
    const background = await sources.sync(c, config, new Date(t0 + 2600));
    assert.equal(background.fresh, true, 'the background read is used by the next reconcile');
    assert.notDeepEqual(background.reading, first.reading);
  } finally {
    await sources.closeAll();
    await prom.close();
  }
});

test("what the server said goes to the operator's log, never into the error tenants read", async () => {
  const prom = await prometheus({ broken: () => true });
  const lines: string[] = [];
  const log = createLogger('debug');
  const logged = Object.assign(Object.create(log) as typeof log, {
    warn: (fields: object, msg: string) => lines.push(`warn ${msg} ${JSON.stringify(fields)}`),
    debug: (fields: object, msg: string) => lines.push(`debug ${msg} ${JSON.stringify(fields)}`),
  });
  const sources = new MetricsSources(undefined, { log: logged });
  const c = spec(prom.url);
  const config = autoscaleConfig(c.spec)!;
  const t0 = Date.parse('2030-01-01T00:00:00Z');
  try {
    const sync = await sources.sync(c, config, new Date(t0));
    assert.equal(
      sync.error,
      `prometheus: no usable answer from 1 address: ${prom.url}: HTTP 200: not a Prometheus API answer (text/html, 46 bytes)`,
    );
    assert.doesNotMatch(JSON.stringify(sync), new RegExp(SECRET));
    await sources.sync(c, config, new Date(t0 + 1000));
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, new RegExp(`^warn metrics source detail .*${SECRET}`));
    assert.match(
      lines[1]!,
      /^debug metrics source detail \(unchanged\)/,
      'an unchanged failure is logged once at warn',
    );
  } finally {
    await sources.closeAll();
    await prom.close();
  }
});

test('an endpoint the policy refuses: the sync says so (denied), and nothing reaches the server', async () => {
  const prom = await prometheus();
  const sources = new MetricsSources(undefined, { endpointPolicy: new EndpointPolicy() });
  const c = spec(prom.url);
  try {
    const sync = await sources.sync(c, autoscaleConfig(c.spec)!, new Date());
    assert.match(sync.error!, /endpoint 127\.0\.0\.1 is denied by the operator's endpoint policy/);
    assert.equal(sync.denied?.length, 1);
    assert.equal(prom.requests(), 0);
  } finally {
    await sources.closeAll();
    await prom.close();
  }
});
