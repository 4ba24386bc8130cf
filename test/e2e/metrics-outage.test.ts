// A metrics outage: while Prometheus cannot be reached nothing is resized (in particular nothing
// shrinks although the lag is gone), the Consumer says so, and scaling resumes once it is back.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Operator } from '../../src/controller/operator.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { cpuMillis } from '../../src/util/units.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, metricsPlane, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient, startOperator } from '../support/operator.js';
import { ClusterView, currentResources } from '../support/cluster.js';
import { baseSpec, consumerPolicy } from '../support/consumers.js';
import { FakeExporter } from '../support/faker.js';
import { FIXTURE_HOST } from '../support/endpoints.js';

const env = metricsPlane();
const consumers = new ConsumerClient();
const cluster = new ClusterView();
let operator: Operator | undefined;
let faker: FakeExporter | undefined;

/** Forwards to the real Prometheus; can be switched off and on again on the same port. */
class SwitchableProxy {
  private server: http.Server | undefined;
  port = 0;

  async up(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        fetch(`${env.prometheusUrl}${req.url}`, {
          method: req.method,
          headers: { 'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded' },
          ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
        })
          .then(async (r) =>
            res
              .writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' })
              .end(await r.text()),
          )
          .catch(() => res.writeHead(502).end());
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, FIXTURE_HOST, resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  }
}
const proxy = new SwitchableProxy();

before(async () => {
  await installCrd(kubeConfig());
  operator = await startOperator();
});
after(async () => {
  await proxy.down();
  await faker?.stop();
  await deleteTestNamespaces();
  await operator?.stop();
});

const sel = () => `{job="${faker!.job}"}`;

function spec(ns: string): ConsumerSpec {
  return baseSpec({
    namespace: ns,
    numPartitions: 2,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'prometheus',
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      scaleDownAfterLagFreeSyncs: 2,
      prometheus: {
        address: [`http://${FIXTURE_HOST}:${proxy.port}`],
        offset: {
          query: `max(konsumerator_messages_production_offset${sel()}) by (partition) - max(konsumerator_messages_consumption_offset${sel()}) by (partition)`,
          partitionLabel: 'partition',
        },
        production: {
          query: `sum(rate(konsumerator_messages_production_offset${sel()}[10s])) by (partition)`,
          partitionLabel: 'partition',
        },
        consumption: {
          query: `sum(rate(konsumerator_messages_consumption_offset${sel()}[10s])) by (partition)`,
          partitionLabel: 'partition',
        },
        minSyncPeriod: '1s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '5s',
        criticalLag: '1h',
        recoveryTime: '10s',
      },
    },
    resourcePolicy: consumerPolicy('8'),
  });
}

const cpuOf = async (ns: string) =>
  (await cluster.deployments(ns)).map((d) => cpuMillis(currentResources(d).requests!.cpu!));

test(
  'Prometheus unreachable: nothing is resized and the Consumer says so; scaling resumes when it is back',
  { timeout: 180_000 },
  async () => {
    faker = new FakeExporter([
      { production: 10, consumption: 10 },
      { production: 100, consumption: 100 },
    ]);
    await faker.start();
    await proxy.up();
    const ns = await newNamespace('outage');
    await consumers.create(ns, 'orders', spec(ns));
    await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'Read', 60_000);
    const calm = await waitFor('instances created', async () => {
      const cpu = await cpuOf(ns).catch(() => []);
      return cpu.length === 2 ? cpu : undefined;
    });
    // Partition 1 falls behind: instance 1 grows past what its production alone needs.
    faker.set(1, { consumption: 0 });
    await waitFor('partition 1 behind', async () => faker!.behind(1) >= 1000, 20_000);
    faker.set(1, { consumption: 50 });
    const grown = await waitFor(
      'instance 1 grown',
      async () => {
        const cpu = await cpuOf(ns);
        return cpu[1]! > Math.max(1000, calm[1]!) ? cpu : undefined;
      },
      60_000,
    ).catch(async (e: Error) => {
      const c = await consumers.get(ns, 'orders');
      throw new Error(`${e.message}; calm ${calm.join()}; ${JSON.stringify(c.status)}`);
    });

    // Prometheus goes away; meanwhile partition 1 catches up: a scale-down would be due.
    await proxy.down();
    faker.set(1, { consumption: 400 });
    await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'ReadFailed', 30_000);
    await waitFor('partition 1 caught up', async () => faker!.behind(1) <= 5, 30_000);
    faker.set(1, { consumption: 100 });
    await new Promise((r) => setTimeout(r, 8000)); // several due reads, all failing
    assert.deepEqual(await cpuOf(ns), grown, 'nothing resized while metrics are unavailable');
    const down = await consumers.get(ns, 'orders');
    assert.equal(down.status!.conditions!.find((c) => c.type === 'MetricsAvailable')!.status, 'False');

    // Back: the lag is gone, so instance 1 shrinks.
    await proxy.up();
    await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'Read', 30_000);
    await waitFor(
      'instance 1 scaled down after the outage',
      async () => {
        const cpu = await cpuOf(ns);
        return cpu[1]! < grown[1]! ? cpu : undefined;
      },
      60_000,
    ).catch(async (e: Error) => {
      const c = await consumers.get(ns, 'orders');
      throw new Error(
        `${e.message}; grown ${grown.join()}, now ${(await cpuOf(ns)).join()}; ${JSON.stringify(c.status?.instances)}`,
      );
    });
  },
);
