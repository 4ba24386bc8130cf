// Metrics faults: the real Prometheus of the plane behind a fault proxy that answers with HTML
// error pages, truncated JSON, a wrong result type, slowly, or with hostile values (NaN, +Inf,
// negative, beyond 2^53, missing labels, duplicated series) in the real answers; and a Kafka
// broker that is down or accepts connections and never answers. Every instance starts far bigger
// than its load needs (the policy maximum), so a scale-down is due the whole time: the operator must not make it on bad
// data, must say what is wrong on the Consumer, and must make it once the data is good again.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { KafkaAdmin, KafkaProducer } from '../../src/kafka/client.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { cpuMillis } from '../../src/util/units.js';
import { FaultProxy, TcpFaultSwitch, type FaultRule } from '../../src/testplane/fault-proxy.js';
import { kubeConfig, newNamespace, metricsPlane, waitFor } from '../support/env.js';
import { ConsumerClient, operatorForThisFile } from '../support/operator.js';
import { ClusterView, currentResources } from '../support/cluster.js';
import { baseSpec, consumerPolicy } from '../support/consumers.js';
import { FakeExporter } from '../support/faker.js';
import { FIXTURE_HOST } from '../support/endpoints.js';

const env = metricsPlane();
const consumers = new ConsumerClient();
const cluster = new ClusterView();
const core = kubeConfig().makeApiClient(CoreV1Api);
operatorForThisFile();
let faker: FakeExporter | undefined;
let proxy: FaultProxy | undefined;
let broker: TcpFaultSwitch | undefined;
let kafkaLeftovers: { topic: string; groupId: string } | undefined;

before(async () => {
  proxy = new FaultProxy({ upstream: env.prometheusUrl, host: FIXTURE_HOST });
  await proxy.start();
});
after(async () => {
  await proxy?.close();
  await broker?.stop();
  await faker?.stop();
  if (kafkaLeftovers) {
    const admin = new KafkaAdmin({ brokers: [env.kafkaBootstrap] });
    await admin.deleteTopics([kafkaLeftovers.topic]).catch(() => undefined);
    await admin.deleteGroups([kafkaLeftovers.groupId]).catch(() => undefined);
    await admin.close();
  }
});

/** New instances start at the policy maximum (fallbackStrategy max): far more than 10 msg/s need. */
const BIG_CPU = 8000;

/** Two partitions, one per instance. */
function spec(ns: string, name: string, autoscaler: Partial<ConsumerSpec['autoscaler']>): ConsumerSpec {
  const base = baseSpec({ namespace: ns, name, numPartitions: 2, numPartitionsPerInstance: 1 });
  return {
    ...base,
    autoscaler: {
      mode: 'prometheus',
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      scaleDownAfterLagFreeSyncs: 1,
      ...autoscaler,
    } as ConsumerSpec['autoscaler'],
    resourcePolicy: consumerPolicy('8'),
  };
}

const estimation = {
  minSyncPeriod: '1s',
  fallbackStrategy: 'max' as const,
  ratePerCore: 100,
  ramPerCore: '100M',
  tolerableLag: '5s',
  criticalLag: '1h',
  recoveryTime: '10s',
};

const cpuOf = async (ns: string) =>
  (await cluster.deployments(ns)).map((d) => cpuMillis(currentResources(d).requests!.cpu!));

async function metricsCondition(ns: string, name: string) {
  const c = await consumers.get(ns, name);
  return c.status?.conditions?.find((x) => x.type === 'MetricsAvailable');
}

async function waitMetricsCondition(
  ns: string,
  name: string,
  reason: string,
  message: RegExp,
  timeoutMs = 45_000,
) {
  return waitFor(
    `${name}: MetricsAvailable ${reason} ${message}`,
    async () => {
      const condition = await metricsCondition(ns, name);
      return condition?.reason === reason && message.test(condition.message ?? '') ? condition : undefined;
    },
    timeoutMs,
  ).catch(async (e: Error) => {
    throw new Error(`${e.message}; last: ${JSON.stringify(await metricsCondition(ns, name))}`);
  });
}

// Rewriting real Prometheus answers.
interface Series {
  metric: Record<string, string>;
  value: [number, string];
}
const eachSeries = (fn: (s: Series) => Series[]) => (body: string) => {
  const json = JSON.parse(body) as { data: { result: Series[] } };
  json.data.result = json.data.result.flatMap(fn);
  return JSON.stringify(json);
};
const valuesAll = (value: string) => eachSeries((s) => [{ ...s, value: [s.value[0], value] }]);
const queryOf = (body: string) => new URLSearchParams(body).get('query') ?? '';
const isOffsetQuery = (r: { body: string }) => queryOf(r.body).startsWith('max(');
const isProductionQuery = (r: { body: string }) =>
  queryOf(r.body).includes('rate(konsumerator_messages_production');

interface Fault {
  name: string;
  rule: Omit<FaultRule, 'name'>;
  reason: 'ReadFailed' | 'PartialData';
  message: RegExp;
}

const FAULTS: Fault[] = [
  {
    name: 'HTML error page',
    rule: {
      action: {
        kind: 'respond',
        status: 502,
        contentType: 'text/html',
        body: '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>',
      },
    },
    reason: 'ReadFailed',
    // The kind of answer, never its text (a tenant must not read a server's page through status).
    message: /HTTP 502: not a Prometheus API answer \(text\/html, 102 bytes\)/,
  },
  {
    name: 'truncated JSON',
    rule: { action: { kind: 'rewrite', rewrite: (body) => body.slice(0, Math.floor(body.length / 2)) } },
    reason: 'ReadFailed',
    message: /HTTP 200: not a Prometheus API answer \(application\/json, \d+ bytes\)/,
  },
  {
    name: 'scalar result',
    rule: {
      action: {
        kind: 'respond',
        status: 200,
        body: JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, '5'] } }),
      },
    },
    reason: 'ReadFailed',
    message: /unsupported result type "scalar"/,
  },
  {
    name: 'slower than the 10 s timeout',
    rule: { action: { kind: 'delay', ms: 11_000 } },
    reason: 'ReadFailed',
    message: /timed out after 10000 ms/,
  },
  {
    name: 'NaN backlog',
    rule: { match: isOffsetQuery, action: { kind: 'rewrite', rewrite: valuesAll('NaN') } },
    reason: 'PartialData',
    message: /offset: value NaN for partitions 0-1: unknown/,
  },
  {
    name: '+Inf backlog',
    rule: { match: isOffsetQuery, action: { kind: 'rewrite', rewrite: valuesAll('+Inf') } },
    reason: 'PartialData',
    message: /offset: value \+Inf for partitions 0-1: unknown/,
  },
  {
    name: 'negative backlog',
    rule: { match: isOffsetQuery, action: { kind: 'rewrite', rewrite: valuesAll('-42') } },
    reason: 'PartialData',
    message: /offset: negative value for partitions 0-1: unknown/,
  },
  {
    name: 'backlog without the partition label',
    rule: {
      match: isOffsetQuery,
      action: {
        kind: 'rewrite',
        rewrite: eachSeries((s) => {
          const { partition: _dropped, ...rest } = s.metric;
          return [{ ...s, metric: { ...rest, instance: `p${_dropped}` } }];
        }),
      },
    },
    reason: 'PartialData',
    message: /offset: 2 series without label "partition" skipped/,
  },
  {
    name: 'production beyond 2^53',
    rule: { match: isProductionQuery, action: { kind: 'rewrite', rewrite: valuesAll('1e300') } },
    reason: 'PartialData',
    message: /production_rate: implausibly large value for partitions 0-1: unknown/,
  },
];

test(
  'Prometheus answering garbage: nothing shrinks, the Consumer says what is wrong, and scaling resumes on good data',
  { timeout: 300_000 },
  async (t) => {
    faker = new FakeExporter([
      { production: 10, consumption: 10 },
      { production: 10, consumption: 10 },
    ]);
    await faker.start();
    const ns = await newNamespace('metrics-faults');
    const first = FAULTS[0]!;
    proxy!.add({ ...first.rule, name: first.name });
    await consumers.create(
      ns,
      'p',
      spec(ns, 'p', {
        mode: 'prometheus',
        prometheus: {
          address: [proxy!.url],
          ...faker.queries(),
          ...estimation,
        },
      }),
    );
    await waitFor('instances created at the policy maximum', async () => {
      const cpu = await cpuOf(ns).catch(() => []);
      return cpu.length === 2 ? cpu : undefined;
    });
    assert.deepEqual(await cpuOf(ns), [BIG_CPU, BIG_CPU]);

    const timings: string[] = [];
    for (const fault of FAULTS) {
      const t0 = Date.now();
      proxy!.clearRules();
      const mark = proxy!.log.length;
      proxy!.add({ ...fault.rule, name: fault.name });
      await waitMetricsCondition(ns, 'p', fault.reason, fault.message);
      // At least two reads with the fault, each a moment a scale-down was due on good data.
      // Rules without a match take all three queries of a read.
      const perRead = fault.rule.match ? 1 : 3;
      await waitFor(
        `${fault.name}: two faulty reads`,
        async () => (proxy!.count((e) => e.fault === fault.name, mark) >= 2 * perRead ? true : undefined),
        45_000,
      );
      assert.deepEqual(await cpuOf(ns), [BIG_CPU, BIG_CPU], `${fault.name}: nothing resized`);
      timings.push(`${fault.name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      // Reads still held by the proxy would delay the next fault's first read.
      if (fault.rule.action.kind === 'delay') proxy!.cutConnections();
    }

    // Duplicated series that disagree: the larger backlog counts, so nothing shrinks (it may grow).
    proxy!.clearRules();
    const dupMark = proxy!.log.length;
    proxy!.add({
      name: 'duplicated series',
      match: isOffsetQuery,
      action: {
        kind: 'rewrite',
        rewrite: eachSeries((s) => [
          s,
          { metric: { ...s.metric, instance: 'replica-2' }, value: [s.value[0], '100000'] },
        ]),
      },
    });
    await waitMetricsCondition(
      ns,
      'p',
      'PartialData',
      /offset: several series for partitions 0-1: took the max/,
    );
    await waitFor('two reads with duplicated series', async () =>
      proxy!.count((e) => e.fault === 'duplicated series', dupMark) >= 2 ? true : undefined,
    );
    const withDuplicates = await cpuOf(ns);
    assert.ok(
      withDuplicates.every((c) => c >= BIG_CPU),
      `never below ${BIG_CPU}m: ${withDuplicates.join()}`,
    );

    // Good data again: the Consumer says so, and the overdue scale-down happens.
    proxy!.clearRules();
    const t0 = Date.now();
    await waitMetricsCondition(ns, 'p', 'Read', /^metrics read for all \d+ partitions$/);
    const recovered = await waitFor(
      'scaled down on good data',
      async () => {
        const cpu = await cpuOf(ns);
        return cpu.every((c) => c < BIG_CPU) ? cpu : undefined;
      },
      60_000,
    );
    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=p' });
    const reasons = new Set(events.items.map((e) => e.reason));
    assert.ok(reasons.has('MetricsUnavailable'), `events: ${[...reasons].join(', ')}`);
    // Nothing the proxy or Prometheus wrote reached what the Consumer's author reads.
    const told = JSON.stringify([events.items.map((e) => e.message), (await consumers.get(ns, 'p')).status]);
    assert.doesNotMatch(told, /nginx|Bad Gateway|replica-2|instance="p/);
    assert.ok(reasons.has('ScaledDown'), `events: ${[...reasons].join(', ')}`);
    t.diagnostic(`per fault, until reported and 2 faulty reads: ${timings.join('; ')}`);
    t.diagnostic(
      `duplicated series: cpu ${withDuplicates.join('/')}m; good data again: scaled down to ` +
        `${recovered.join('/')}m after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  },
);

test(
  'Kafka down, then accepting connections and never answering: nothing shrinks, the Consumer says so, and it recovers',
  { timeout: 240_000 },
  async (t) => {
    const id = randomBytes(3).toString('hex');
    const topic = `faults-${id}`;
    const groupId = `faults-group-${id}`;
    const connection = { clientId: 'metrics-faults', brokers: [env.kafkaBootstrap] };
    const admin = new KafkaAdmin(connection);
    kafkaLeftovers = { topic, groupId };
    try {
      await admin.createTopic(topic, 2);
      const producer = new KafkaProducer(connection);
      await producer.send(
        topic,
        [0, 1].map((partition) => ({ partition, value: Buffer.from('m') })),
      );
      await producer.close();
      // The group has consumed everything: no backlog, no production, so 8 CPUs are far too much.
      await admin.commitOffsets(
        groupId,
        topic,
        new Map([
          [0, 1],
          [1, 1],
        ]),
      );
    } finally {
      await admin.close();
    }
    const [host, port] = env.kafkaBootstrap.split(':') as [string, string];
    broker = new TcpFaultSwitch({ host, port: Number(port) }, 'down', FIXTURE_HOST);
    await broker.start();

    const ns = await newNamespace('kafka-faults');
    await consumers.create(
      ns,
      'k',
      spec(ns, 'k', { mode: 'kafka', kafka: { brokers: [broker.address], topic, groupId, ...estimation } }),
    );
    const t0 = Date.now();
    await waitMetricsCondition(
      ns,
      'k',
      'ReadFailed',
      /cannot connect to 127\.0\.0\.2:\d+: connection refused \(ECONNREFUSED\)/,
    );
    const downMs = Date.now() - t0;
    await waitFor('instances created at the policy maximum', async () =>
      (await cpuOf(ns)).length === 2 ? true : undefined,
    );
    assert.deepEqual(await cpuOf(ns), [BIG_CPU, BIG_CPU]);

    await broker.set('blackhole');
    const t1 = Date.now();
    // The Kafka client gives up on the silent broker by itself (its request timeout), or the operator's
    // 20 s read deadline cuts it off: either way a new failure, not the refused connection.
    const hung = await waitMetricsCondition(ns, 'k', 'ReadFailed', /^(?!.*ECONNREFUSED)/, 90_000);
    const hungMs = Date.now() - t1;
    assert.deepEqual(await cpuOf(ns), [BIG_CPU, BIG_CPU], 'nothing resized while the broker hangs');

    await broker.set('forward');
    const t2 = Date.now();
    await waitFor(
      'metrics read again',
      async () => ((await metricsCondition(ns, 'k'))?.status === 'True' ? true : undefined),
      90_000,
    );
    const readMs = Date.now() - t2;
    const recovered = await waitFor(
      'scaled down once Kafka answers',
      async () => {
        const cpu = await cpuOf(ns);
        return cpu.every((c) => c < BIG_CPU) ? cpu : undefined;
      },
      60_000,
    );
    t.diagnostic(
      `Kafka down: reported after ${(downMs / 1000).toFixed(1)} s; hanging: reported after ${(hungMs / 1000).toFixed(1)} s ` +
        `("${hung.message}"); ` +
        `back: read after ${(readMs / 1000).toFixed(1)} s, scaled down to ${recovered.join('/')}m after ${((Date.now() - t2) / 1000).toFixed(1)} s`,
    );
  },
);
