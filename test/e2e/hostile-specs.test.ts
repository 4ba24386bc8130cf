// The bad-input catalogue (docs/reliability.md, "Bad input catalogue"), tried for real on the
// test plane. Part 1: hostile specs the schema and its CEL rules refuse at admission, with a 422
// that names the field (the first ~50 cases live in crd-validation.test.ts; these are the rest).
// Part 2: what no schema can express, caught by the controller and reported on the Consumer's
// conditions and events, while a healthy Consumer converges next to them and nothing the
// operator does not own is written or deleted. All Consumers of part 2 are created at once, one
// namespace each, under one operator.
import assert from 'node:assert/strict';
import { after, before, describe, test } from '../support/timed.js';
import { ApiException, CoreV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import type { Consumer } from '../../src/api/schema.js';
import { installCrd } from '../support/crd.js';
import { kubeConfig, metricsPlane, newNamespace, testEnv, waitFor } from '../support/env.js';
import { ClusterView, currentResources, env } from '../support/cluster.js';
import { baseSpec } from '../support/consumers.js';
import { ConsumerClient, operatorForThisFile } from '../support/operator.js';
import { FakeExporter } from '../support/faker.js';

// Specs are plain JSON here: most cases put values of the wrong type or range into them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const kc = kubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const core = kc.makeApiClient(CoreV1Api);
const cluster = new ClusterView();
const consumers = new ConsumerClient();
const resource = { group: GROUP, version: VERSION, plural: PLURAL };
const fakeExporters: FakeExporter[] = [];
after(async () => {
  await Promise.all(fakeExporters.map((e) => e.stop()));
});

const query = (q: string) => ({ query: q, partitionLabel: 'partition' });
const estimation = {
  minSyncPeriod: '1m',
  ratePerCore: 1000,
  ramPerCore: '256Mi',
  tolerableLag: '5m',
  criticalLag: '30m',
  recoveryTime: '30m',
};
const prometheus = (extra: Json = {}) => ({
  mode: 'prometheus',
  prometheus: {
    address: ['http://prometheus:9090'],
    offset: query('sum(kafka_consumergroup_lag) by (partition)'),
    production: query('sum(rate(kafka_topic_partition_current_offset[2m])) by (partition)'),
    consumption: query('sum(rate(kafka_consumergroup_current_offset[2m])) by (partition)'),
    ...estimation,
    ...extra,
  },
});
const kafka = (extra: Json = {}) => ({
  mode: 'kafka',
  kafka: { brokers: ['kafka:9092'], topic: 'orders', groupId: 'orders', ...estimation, ...extra },
});
const staticMetrics = (partitions: Json, extra: Json = {}) => ({
  mode: 'static',
  static: { partitions, ...estimation, minSyncPeriod: '1s', ...extra },
});

/** A valid spec in `namespace` as plain JSON (10 partitions, 3 per instance, container "consumer"). */
const spec = (namespace: string): Json => structuredClone(baseSpec({ namespace }));

interface AdmissionCase {
  title: string;
  change: (spec: Json) => void;
  /** The field the API server's message must name. */
  field: string;
  /** metadata.name of the Consumer (default: hostile-<index>). */
  name?: string;
}

const PROM = 'spec.autoscaler.prometheus';
const KAFKA = 'spec.autoscaler.kafka';
const POLICY = 'spec.resourcePolicy.containerPolicies[0]';
const policy = (s: Json) => s.resourcePolicy.containerPolicies[0];

export const ADMISSION: AdmissionCase[] = [
  // Huge, fractional and mistyped numbers.
  { title: 'numPartitions 10^9', change: (s) => (s.numPartitions = 1e9), field: 'spec.numPartitions' },
  {
    title: 'numPartitionsPerInstance 10^9',
    change: (s) => (s.numPartitionsPerInstance = 1e9),
    field: 'spec.numPartitionsPerInstance',
  },
  { title: 'numPartitions 2.5', change: (s) => (s.numPartitions = 2.5), field: 'spec.numPartitions' },
  {
    title: 'numPartitions as a string',
    change: (s) => (s.numPartitions = '10'),
    field: 'spec.numPartitions',
  },
  {
    title: 'numPartitions beyond 2^53',
    change: (s) => (s.numPartitions = 2 ** 60),
    field: 'spec.numPartitions',
  },
  {
    title: 'negative ratePerCore',
    change: (s) => (s.autoscaler = prometheus({ ratePerCore: -5 })),
    field: `${PROM}.ratePerCore`,
  },
  {
    title: 'ratePerCore 1e30',
    change: (s) => (s.autoscaler = prometheus({ ratePerCore: 1e30 })),
    field: `${PROM}.ratePerCore`,
  },
  {
    title: 'replicas -1',
    change: (s) => (s.deploymentTemplate.replicas = -1),
    field: 'spec.deploymentTemplate.replicas',
  },
  {
    title: 'replicas 10^9 per instance',
    change: (s) => (s.deploymentTemplate.replicas = 1e9),
    field: 'spec.deploymentTemplate.replicas',
  },
  { title: 'goMemLimitRatio 1.5', change: (s) => (s.goMemLimitRatio = 1.5), field: 'spec.goMemLimitRatio' },
  {
    title: 'scaleDownAfterLagFreeSyncs 0',
    change: (s) => (s.autoscaler = { ...prometheus(), scaleDownAfterLagFreeSyncs: 0 }),
    field: 'spec.autoscaler.scaleDownAfterLagFreeSyncs',
  },
  // Absurd or malformed durations.
  {
    title: 'recoveryTime beyond Go time.Duration (999999999h)',
    change: (s) => (s.autoscaler = prometheus({ recoveryTime: '999999999h' })),
    field: `${PROM}.recoveryTime`,
  },
  {
    title: 'pendingScaleUpDuration 100000h',
    change: (s) => (s.autoscaler = { ...prometheus(), pendingScaleUpDuration: '100000h' }),
    field: 'spec.autoscaler.pendingScaleUpDuration',
  },
  {
    title: 'negative pendingScaleDownDuration',
    change: (s) => (s.autoscaler = { ...prometheus(), pendingScaleDownDuration: '-5m' }),
    field: 'spec.autoscaler.pendingScaleDownDuration',
  },
  {
    title: 'minSyncPeriod with a leading space',
    change: (s) => (s.autoscaler = prometheus({ minSyncPeriod: ' 1m' })),
    field: `${PROM}.minSyncPeriod`,
  },
  {
    title: 'tolerableLag 0s (every instance would lag forever)',
    change: (s) => (s.autoscaler = prometheus({ tolerableLag: '0s' })),
    field: `${PROM}.tolerableLag`,
  },
  {
    title: 'recoveryTime 500ms (below the predictor’s whole seconds)',
    change: (s) => (s.autoscaler = prometheus({ recoveryTime: '500ms' })),
    field: `${PROM}.recoveryTime`,
  },
  {
    title: 'criticalLag 1.5.5h',
    change: (s) => (s.autoscaler = prometheus({ criticalLag: '1.5.5h' })),
    field: `${PROM}.criticalLag`,
  },
  // Unit garbage in quantities.
  {
    title: 'ramPerCore 1GB (not a Kubernetes unit)',
    change: (s) => (s.autoscaler = prometheus({ ramPerCore: '1GB' })),
    field: `${PROM}.ramPerCore`,
  },
  {
    title: 'cpuIncrement 0.1m',
    change: (s) => (s.autoscaler = prometheus({ cpuIncrement: '0.1m' })),
    field: `${PROM}.cpuIncrement`,
  },
  {
    title: 'maxAllowed.memory "12 Gi" with a space',
    change: (s) => (policy(s).maxAllowed.memory = '12 Gi'),
    field: `${POLICY}.maxAllowed.memory`,
  },
  {
    title: 'minAllowed.memory 1Gi above maxAllowed.memory 1G',
    change: (s) => Object.assign(policy(s), { minAllowed: { memory: '1Gi' }, maxAllowed: { memory: '1G' } }),
    field: `${POLICY}.minAllowed`,
  },
  {
    title: 'maxAllowed.cpu 0',
    change: (s) => Object.assign(policy(s), { minAllowed: {}, maxAllowed: { cpu: '0' } }),
    field: `${POLICY}.maxAllowed`,
  },
  {
    title: 'maxAllowed.memory 0Mi',
    change: (s) => Object.assign(policy(s), { minAllowed: {}, maxAllowed: { memory: '0Mi' } }),
    field: `${POLICY}.maxAllowed`,
  },
  // Names: unicode, near and over the limits.
  { title: 'unicode spec.name', change: (s) => (s.name = 'заказы'), field: 'spec.name' },
  {
    title: 'spec.name with a zero-width space',
    change: (s) => (s.name = 'orders\u200b'),
    field: 'spec.name',
  },
  { title: 'spec.name of 241 characters', change: (s) => (s.name = 'n'.repeat(241)), field: 'spec.name' },
  { title: 'spec.name ending in "-"', change: (s) => (s.name = 'orders-'), field: 'spec.name' },
  { title: 'uppercase metadata.name', change: () => undefined, field: 'metadata.name', name: 'Orders' },
  {
    title: 'metadata.name of 254 characters',
    change: () => undefined,
    field: 'metadata.name',
    name: 'c'.repeat(254),
  },
  // Templates that fight the operator.
  {
    title: 'partitionEnvKey GOMAXPROCS',
    change: (s) => (s.partitionEnvKey = 'GOMAXPROCS'),
    field: 'spec.partitionEnvKey',
  },
  {
    title: 'partitionEnvKey KONSUMERATOR_INSTANCE',
    change: (s) => (s.partitionEnvKey = 'KONSUMERATOR_INSTANCE'),
    field: 'spec.partitionEnvKey',
  },
  // Addresses and PromQL garbage.
  {
    title: 'address with an unclosed IPv6 bracket',
    change: (s) => (s.autoscaler = prometheus({ address: ['http://[::1'] })),
    field: `${PROM}.address[0]`,
  },
  {
    title: 'address with port 99999',
    change: (s) => (s.autoscaler = prometheus({ address: ['http://prometheus:99999'] })),
    field: `${PROM}.address[0]`,
  },
  {
    title: 'javascript: address',
    change: (s) => (s.autoscaler = prometheus({ address: ['javascript:alert(1)'] })),
    field: `${PROM}.address[0]`,
  },
  {
    title: '17 addresses',
    change: (s) =>
      (s.autoscaler = prometheus({ address: Array.from({ length: 17 }, (_, i) => `http://p${i}:9090`) })),
    field: `${PROM}.address`,
  },
  {
    title: 'a 16385-character query',
    change: (s) => (s.autoscaler = prometheus({ offset: query(`sum(x)${' '.repeat(16379)}`) })),
    field: `${PROM}.offset.query`,
  },
  {
    title: 'broker port 99999',
    change: (s) => (s.autoscaler = kafka({ brokers: ['kafka:99999'] })),
    field: `${KAFKA}.brokers[0]`,
  },
  {
    title: 'broker port 0',
    change: (s) => (s.autoscaler = kafka({ brokers: ['kafka:0'] })),
    field: `${KAFKA}.brokers[0]`,
  },
  {
    title: 'unicode topic',
    change: (s) => (s.autoscaler = kafka({ topic: 'заказы' })),
    field: `${KAFKA}.topic`,
  },
  {
    title: 'empty groupId',
    change: (s) => (s.autoscaler = kafka({ groupId: '' })),
    field: `${KAFKA}.groupId`,
  },
  {
    title: 'static metrics for partition "abc"',
    change: (s) => (s.autoscaler = staticMetrics({ abc: { production: 1 } })),
    field: 'spec.autoscaler.static.partitions',
  },
  {
    title: 'static metrics for partition 12 of 10',
    change: (s) => (s.autoscaler = staticMetrics({ 12: { production: 1 } })),
    field: 'spec.autoscaler.static.partitions',
  },
  {
    title: 'negative static production',
    change: (s) => (s.autoscaler = staticMetrics({ 0: { production: -1 } })),
    field: 'spec.autoscaler.static.partitions.0.production',
  },
  {
    title: 'unknown predictor',
    change: (s) => (s.autoscaler = { ...prometheus(), predictor: 'magic' }),
    field: 'spec.autoscaler.predictor',
  },
  {
    title: '65 container policies',
    change: (s) =>
      (s.resourcePolicy.containerPolicies = Array.from({ length: 65 }, (_, i) => ({
        containerName: `c${i}`,
      }))),
    field: 'spec.resourcePolicy.containerPolicies',
  },
];

interface Refusal {
  code: number;
  message: string;
}

async function tryCreate(namespace: string, name: string, body: Json): Promise<Refusal | undefined> {
  try {
    await custom.createNamespacedCustomObject({ ...resource, namespace, body });
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const apiError = err as ApiException<unknown>;
    const text = typeof apiError.body === 'string' ? apiError.body : JSON.stringify(apiError.body);
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON: keep the text
    }
    return { code: apiError.code, message };
  }
  await custom.deleteNamespacedCustomObject({ ...resource, namespace, name }).catch(() => undefined);
  return undefined;
}

// ----- part 2: what the controller catches ---------------------------------------------------

interface ControllerCase {
  title: string;
  /** Creates the case in its namespace (the Consumer under test is named "orders"). */
  setup(ns: string): Promise<void>;
  /** Waits for the outcome and checks it. */
  verify(ns: string): Promise<void>;
}

const consumerObject = (namespace: string, name: string, s: Json) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'Consumer',
  metadata: { name, namespace },
  spec: s,
});
const createConsumer = (namespace: string, s: Json, name = 'orders') =>
  custom.createNamespacedCustomObject({ ...resource, namespace, body: consumerObject(namespace, name, s) });

const condition = (c: Consumer, type: string) => c.status?.conditions?.find((x) => x.type === type);

/** Waits for Degraded=True with `reason` and a message matching `pattern`. */
async function expectDegraded(ns: string, reason: string, pattern: RegExp, name = 'orders'): Promise<void> {
  const c = await consumers.waitCondition(ns, name, 'Degraded', reason, 60_000);
  assert.match(condition(c, 'Degraded')!.message, pattern);
  assert.equal(condition(c, 'Ready')?.status, 'False');
  await expectEvent(ns, reason, pattern, name);
}

/** Waits for a Warning event with `reason` on the Consumer whose message matches `pattern`. */
async function expectEvent(ns: string, reason: string, pattern: RegExp, name = 'orders'): Promise<void> {
  await waitFor(
    `event ${reason} ~ ${pattern} on ${ns}/${name}`,
    async () => {
      const events = await core.listNamespacedEvent({ namespace: ns });
      return events.items.some(
        (e) => e.involvedObject.name === name && e.reason === reason && pattern.test(e.message ?? ''),
      );
    },
    60_000,
  );
}

async function expectMetricsCondition(
  ns: string,
  status: string,
  reason: string,
  pattern: RegExp,
): Promise<void> {
  let last = 'no condition yet';
  const c = await waitFor(
    `${ns}/orders MetricsAvailable=${status} (${reason})`,
    async () => {
      const got = await consumers.get(ns, 'orders');
      const metrics = condition(got, 'MetricsAvailable');
      if (metrics) last = `${metrics.status} (${metrics.reason}): ${metrics.message}`;
      return metrics?.status === status && metrics.reason === reason ? got : undefined;
    },
    60_000,
  ).catch((error: unknown) => {
    // Name what the Consumer said instead, so a failure explains itself.
    throw new Error(`${(error as Error).message}; last seen MetricsAvailable=${last}`);
  });
  assert.match(condition(c, 'MetricsAvailable')!.message, pattern);
}

const expectMetricsUnavailable = (ns: string, pattern: RegExp) =>
  expectMetricsCondition(ns, 'False', 'ReadFailed', pattern);

/** The Deployments of the namespace the operator never owned, as they were. */
const foreignBefore = new Map<string, V1Deployment[]>();

async function createForeign(ns: string, d: V1Deployment): Promise<void> {
  const created = await cluster.apps.createNamespacedDeployment({ namespace: ns, body: d });
  foreignBefore.set(ns, [...(foreignBefore.get(ns) ?? []), created]);
}

const foreignDeployment = (
  ns: string,
  name: string,
  extra: Partial<V1Deployment['metadata']> = {},
): V1Deployment => ({
  metadata: { name, namespace: ns, ...extra },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'foreign' } },
    template: {
      metadata: { labels: { app: 'foreign' } },
      spec: { containers: [{ name: 'main', image: 'example.com/foreign:1' }] },
    },
  },
});

const LONG_NAME = 'n'.repeat(240);
const env0 = testEnv();

export const CONTROLLER: ControllerCase[] = [
  {
    title: 'selector matchLabels the pod template does not carry',
    setup: async (ns) => {
      const s = spec(ns);
      s.deploymentTemplate.selector.matchLabels = { app: 'something-else' };
      await createConsumer(ns, s);
    },
    verify: (ns) =>
      expectDegraded(
        ns,
        'InvalidSpec',
        /spec\.deploymentTemplate\.selector\.matchLabels: selects app=something-else/,
      ),
  },
  {
    title: 'selector matchExpressions the pod template does not match',
    setup: async (ns) => {
      const s = spec(ns);
      s.deploymentTemplate.selector = {
        matchExpressions: [{ key: 'app', operator: 'In', values: ['nope'] }],
      };
      await createConsumer(ns, s);
    },
    verify: (ns) =>
      expectDegraded(ns, 'InvalidSpec', /spec\.deploymentTemplate\.selector\.matchExpressions\[0\]/),
  },
  {
    title: 'an empty selector',
    setup: async (ns) => {
      const s = spec(ns);
      s.deploymentTemplate.selector = {};
      await createConsumer(ns, s);
    },
    verify: (ns) => expectDegraded(ns, 'InvalidSpec', /spec\.deploymentTemplate\.selector: is empty/),
  },
  {
    title: 'autoscaler.container that the template does not have',
    setup: async (ns) => {
      const s = spec(ns);
      s.autoscaler = { ...staticMetrics({ 0: { production: 1 } }), container: 'ghost' };
      await createConsumer(ns, s);
    },
    verify: (ns) => expectDegraded(ns, 'InvalidSpec', /spec\.autoscaler\.container: names container "ghost"/),
  },
  {
    title: 'spec.name of 240 characters with 11 instances (ReplicaSet names would pass 253)',
    setup: async (ns) => {
      const s = spec(ns);
      Object.assign(s, { name: LONG_NAME, numPartitions: 11, numPartitionsPerInstance: 1 });
      await createConsumer(ns, s);
    },
    verify: (ns) => expectDegraded(ns, 'InvalidSpec', /spec\.name: makes Deployment names longer than 242/),
  },
  {
    title: 'spec.name of 240 characters with 2 instances runs (names of 242, ReplicaSets of 253)',
    setup: async (ns) => {
      const s = spec(ns);
      Object.assign(s, { name: LONG_NAME, numPartitions: 2, numPartitionsPerInstance: 1 });
      await createConsumer(ns, s);
    },
    verify: async (ns) => {
      await consumers.waitReady(ns, 'orders', 90_000);
      assert.deepEqual(await cluster.deploymentNames(ns), [`${LONG_NAME}-0`, `${LONG_NAME}-1`]);
      const d = (await cluster.deployments(ns))[0]!;
      assert.ok(d.metadata!.labels!.app!.length <= 63, 'the app label is cut to 63 characters');
    },
  },
  {
    title: 'metadata.name of 253 characters',
    setup: async (ns) => {
      await createConsumer(ns, spec(ns), 'c'.repeat(253));
    },
    verify: async (ns) => {
      await consumers.waitReady(ns, 'c'.repeat(253), 90_000);
      const d = (await cluster.deployments(ns))[0]!;
      assert.equal(d.metadata!.labels!.controller, 'c'.repeat(63));
      await expectEvent(ns, 'Created', /created Deployment orders-0/, 'c'.repeat(253));
    },
  },
  {
    title: 'numPartitionsPerInstance above numPartitions',
    setup: async (ns) => {
      const s = spec(ns);
      Object.assign(s, { numPartitions: 3, numPartitionsPerInstance: 50 });
      await createConsumer(ns, s);
    },
    verify: async (ns) => {
      await consumers.waitReady(ns, 'orders', 90_000);
      const deployments = await cluster.deployments(ns);
      assert.deepEqual(
        deployments.map((d) => env(d).KONSUMERATOR_PARTITION),
        ['0,1,2'],
      );
      await expectEvent(ns, 'SpecWarning', /numPartitionsPerInstance: is 50, more than numPartitions \(3\)/);
    },
  },
  {
    title: "a template that sets the operator's own env vars (KONSUMERATOR_*, GOMAXPROCS, the partition key)",
    setup: async (ns) => {
      const s = spec(ns);
      s.partitionEnvKey = 'TEST_KEY';
      s.deploymentTemplate.template.spec.containers[0].env = [
        { name: 'TEST_KEY', value: 'all-of-them' },
        { name: 'KONSUMERATOR_INSTANCE', value: '7' },
        { name: 'GOMAXPROCS', value: '64' },
        { name: 'KONSUMERATOR_NUM_INSTANCES', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ];
      Object.assign(s, { numPartitions: 2, numPartitionsPerInstance: 1 });
      await createConsumer(ns, s);
    },
    verify: async (ns) => {
      await consumers.waitReady(ns, 'orders', 90_000);
      for (const [i, d] of (await cluster.deployments(ns)).entries()) {
        const e = env(d);
        assert.equal(e.TEST_KEY, String(i));
        assert.equal(e.KONSUMERATOR_INSTANCE, String(i));
        assert.equal(e.GOMAXPROCS, '1');
        assert.equal(e.KONSUMERATOR_NUM_INSTANCES, '2');
      }
      await expectEvent(
        ns,
        'SpecWarning',
        /sets TEST_KEY, KONSUMERATOR_INSTANCE, GOMAXPROCS, KONSUMERATOR_NUM_INSTANCES, which the operator sets itself/,
      );
    },
  },
  {
    title: "spec.name that collides with another Consumer's Deployments",
    setup: async (ns) => {
      const s = spec(ns);
      Object.assign(s, { name: 'shared', numPartitions: 2, numPartitionsPerInstance: 1 });
      await createConsumer(ns, s, 'first');
      await consumers.waitReady(ns, 'first', 90_000);
      foreignBefore.set(ns, await cluster.deployments(ns));
      await createConsumer(ns, { ...s, numPartitions: 3 }, 'orders');
    },
    verify: async (ns) => {
      await expectDegraded(ns, 'NameConflict', /shared-0, shared-1; they are left untouched/);
      await waitFor('orders created the free name shared-2', async () =>
        (await cluster.deploymentNames(ns)).includes('shared-2'),
      );
      const first = await consumers.get(ns, 'first');
      assert.equal(condition(first, 'Ready')?.status, 'True', 'the first Consumer is unaffected');
    },
  },
  {
    title: 'a Deployment not owned by the Consumer that forges its annotations and labels',
    setup: async (ns) => {
      await createForeign(
        ns,
        foreignDeployment(ns, 'orders-0', {
          labels: { app: 'orders', controller: 'orders', partitions: '0-2' },
          annotations: {
            'konsumerator.lwolf.org/partition': '0,1,2',
            'konsumerator.lwolf.org/consumer-id': '0',
          },
        }),
      );
      await createConsumer(ns, spec(ns));
    },
    verify: async (ns) => {
      await expectDegraded(ns, 'NameConflict', /orders-0/);
      await waitFor(
        'the other instances exist',
        async () => (await cluster.deploymentNames(ns)).length === 4,
      );
    },
  },
  {
    title: 'absurd static metrics (1e300 messages per second and behind)',
    setup: async (ns) => {
      const s = spec(ns);
      Object.assign(s, { numPartitions: 2, numPartitionsPerInstance: 1 });
      s.autoscaler = {
        ...staticMetrics(
          { 0: { production: 1e300, consumption: 1e300, behind: 1e300 }, 1: { production: 1 } },
          { tolerableLag: '1s', criticalLag: '1h' },
        ),
        pendingScaleUpDuration: '0s',
      };
      await createConsumer(ns, s);
    },
    verify: async (ns) => {
      const d = await waitFor(
        'orders-0 at its policy maximum',
        async () => {
          const found = (await cluster.deployments(ns)).find((x) => x.metadata!.name === 'orders-0');
          const requests = found ? currentResources(found).requests : undefined;
          return requests?.cpu === '1' ? found : undefined;
        },
        60_000,
      );
      assert.equal(currentResources(d).limits!.cpu, '1');
      const c = await consumers.waitReady(ns, 'orders', 60_000);
      assert.equal(condition(c, 'Degraded')?.status, 'False');
    },
  },
  {
    title: 'a global budget below the instances’ minimum',
    setup: async (ns) => {
      const s = spec(ns);
      s.autoscaler = staticMetrics({ 0: { production: 1 } });
      s.resourcePolicy.globalPolicy = { maxAllowed: { cpu: '200m' } };
      await createConsumer(ns, s);
    },
    verify: async (ns) => {
      await expectEvent(
        ns,
        'SpecWarning',
        /globalPolicy\.maxAllowed\.cpu: is 200m, below 4 instance\(s\) × minAllowed\.cpu 100m/,
      );
      await consumers.waitReady(ns, 'orders', 90_000);
    },
  },
  {
    title: 'a Kafka SASL Secret that does not exist',
    setup: async (ns) => {
      const s = spec(ns);
      s.autoscaler = kafka({
        brokers: [env0.kafkaBootstrap ?? '127.0.0.1:1'],
        minSyncPeriod: '1s',
        sasl: { mechanism: 'plain', secretRef: { name: 'no-such-secret' } },
      });
      await createConsumer(ns, s);
    },
    verify: async (ns) => {
      await expectMetricsUnavailable(ns, /no-such-secret/);
      // The source's own check: SASL plain without TLS sends the password in clear.
      await expectEvent(
        ns,
        'SpecWarning',
        /spec\.autoscaler\.kafka\.sasl\.mechanism: is plain without tls\.enabled/,
      );
    },
  },
  {
    title: 'a broker address that does not resolve',
    setup: async (ns) => {
      const s = spec(ns);
      s.autoscaler = kafka({ brokers: ['no-such-broker.invalid:9092'], minSyncPeriod: '1s' });
      await createConsumer(ns, s);
    },
    verify: (ns) => expectMetricsUnavailable(ns, /no-such-broker\.invalid|ENOTFOUND|getaddrinfo/),
  },
  {
    title: 'PromQL garbage',
    setup: async (ns) => {
      // The two good queries read series of this test's own (the plane's Kafka may have no
      // topic yet when this file runs alone), so only the broken one can fail.
      const exporter = new FakeExporter(
        Array.from({ length: 10 }, () => ({ production: 10, consumption: 10 })),
      );
      fakeExporters.push(exporter);
      await exporter.start();
      const s = spec(ns);
      s.autoscaler = prometheus({
        address: [metricsPlane().prometheusUrl],
        minSyncPeriod: '1s',
        ...exporter.queries(),
        offset: query('sum(((kafka_consumergroup_lag'),
      });
      await createConsumer(ns, s);
    },
    // The other two queries still answer: the reading is partial, and the broken one is named.
    verify: (ns) =>
      expectMetricsCondition(ns, 'True', 'PartialData', /offset.*(HTTP 400|bad_data|parse error)/),
  },
];

// ----- the tests ------------------------------------------------------------------------------

operatorForThisFile();

/**
 * The catalogue's sizes, as docs/reliability.md counts them: a case removed (or a table that
 * came out empty) must be noticed, not pass as fewer tests. Adding a case means counting it here
 * and there.
 */
const CATALOGUE = { admission: 46, controller: 16 };

test('the catalogue holds every case docs/reliability.md counts', () => {
  assert.equal(ADMISSION.length, CATALOGUE.admission, 'cases refused at admission');
  assert.equal(CONTROLLER.length, CATALOGUE.controller, 'cases caught by the controller');
  assert.equal(
    new Set(ADMISSION.map((c) => c.title)).size,
    ADMISSION.length,
    'admission titles are distinct',
  );
  assert.equal(
    new Set(CONTROLLER.map((c) => c.title)).size,
    CONTROLLER.length,
    'controller titles are distinct',
  );
});

describe('bad input caught at admission (schema and CEL)', () => {
  let namespace = '';
  const results = new Map<number, Refusal | undefined>();
  before(async () => {
    await installCrd(kc);
    namespace = await newNamespace('hostile-admission');
    // All at once: each create is independent and answered by the API server alone.
    await Promise.all(
      ADMISSION.map(async (c, i) => {
        const s = spec(namespace);
        c.change(s);
        const name = c.name ?? `hostile-${i}`;
        results.set(i, await tryCreate(namespace, name, consumerObject(namespace, name, s)));
      }),
    );
  });

  test('the base spec of the table is accepted', async () => {
    assert.equal(
      await tryCreate(namespace, 'base', consumerObject(namespace, 'base', spec(namespace))),
      undefined,
    );
  });

  for (const [i, c] of ADMISSION.entries()) {
    test(`refuses ${c.title} (422 naming ${c.field})`, () => {
      const refusal = results.get(i);
      assert.ok(refusal, 'the API server accepted it');
      assert.equal(refusal.code, 422, `HTTP ${refusal.code}: ${refusal.message}`);
      assert.ok(
        refusal.message.includes(`${c.field}:`) || refusal.message.includes(`${c.field} `),
        `the message does not name ${c.field}: ${refusal.message}`,
      );
    });
  }
});

describe('bad input caught by the controller, reported on the Consumer', () => {
  const namespaces = new Map<number, string>();
  /** A case whose setup failed fails alone; the others still run. */
  const setupErrors = new Map<number, unknown>();
  let healthy = '';
  before(async () => {
    await Promise.all([
      ...CONTROLLER.map(async (c, i) => {
        try {
          const ns = await newNamespace(`hostile-${i}`);
          namespaces.set(i, ns);
          await c.setup(ns);
        } catch (error) {
          setupErrors.set(i, error);
        }
      }),
      (async () => {
        healthy = await newNamespace('hostile-healthy');
        await createConsumer(healthy, { ...spec(healthy), numPartitions: 4, numPartitionsPerInstance: 2 });
      })(),
    ]);
  });

  for (const [i, c] of CONTROLLER.entries()) {
    test(c.title, async () => {
      if (setupErrors.has(i)) throw setupErrors.get(i);
      await c.verify(namespaces.get(i)!);
    });
  }

  test('a healthy Consumer converges next to the broken ones', async () => {
    await consumers.waitReady(healthy, 'orders', 90_000);
    assert.deepEqual(await cluster.deploymentNames(healthy), ['orders-0', 'orders-1']);
  });

  test('nothing the operator does not own was written or deleted', async () => {
    // The forged Deployment and the name collision's two of another Consumer.
    const foreign = [...foreignBefore.values()].flatMap((list) => list.map((d) => d.metadata!.name));
    assert.deepEqual(foreign.sort(), ['orders-0', 'shared-0', 'shared-1']);
    for (const [ns, before] of foreignBefore) {
      const now = await cluster.deployments(ns);
      for (const d of before) {
        const after = now.find((x) => x.metadata!.uid === d.metadata!.uid);
        assert.ok(after, `${ns}/${d.metadata!.name} still exists`);
        assert.equal(
          after.metadata!.generation,
          d.metadata!.generation,
          `${d.metadata!.name}: spec not written`,
        );
        assert.deepEqual(after.metadata!.ownerReferences, d.metadata!.ownerReferences);
        // The controller-manager adds deployment.kubernetes.io/revision; nothing else may change.
        const ours = (a: Record<string, string> = {}) =>
          Object.fromEntries(Object.entries(a).filter(([k]) => !k.startsWith('deployment.kubernetes.io/')));
        assert.deepEqual(ours(after.metadata!.annotations), ours(d.metadata!.annotations));
        const byOperator = (x: V1Deployment) =>
          (x.metadata!.managedFields ?? []).some((f) => f.manager === 'konsumerator');
        assert.equal(byOperator(after), byOperator(d), `${d.metadata!.name}: the operator took no field`);
      }
    }
  });
});
