// The closed loop against a real Kafka broker: the load generator produces a skewed load, the
// simulated consumer group consumes each instance's partitions at a rate proportional to the CPU
// the operator gave it (read from its Deployment), and the operator reads lag and rates from the
// brokers (mode: kafka) or through kafka_exporter and Prometheus (mode: prometheus). The hot
// partition must end up with more CPU than the cold ones, and its lag must drain.
import { test, type TestContext } from '../support/timed.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KafkaAdmin } from '../../src/kafka/client.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { cpuMillis } from '../../src/util/units.js';
import { runConsumerGroup, runLoad, type ConsumerGroupTick } from '../../src/loadgen/index.js';
import { kubeConfig, newNamespace, metricsPlane, waitFor } from '../support/env.js';
import { ConsumerClient, operatorForThisFile } from '../support/operator.js';
import { ClusterView, currentResources } from '../support/cluster.js';
import { baseSpec, consumerPolicy } from '../support/consumers.js';

const env = metricsPlane();
const consumers = new ConsumerClient();
const cluster = new ClusterView();
operatorForThisFile();

const RATE_PER_CORE = 100; // msg/s per core, for the operator and the simulated consumers alike
const LOAD = [200, 5, 5, 5]; // msg/s: partition 0 is hot, the others need less than the minimum 100m gives

const estimation = {
  minSyncPeriod: '2s',
  ratePerCore: RATE_PER_CORE,
  ramPerCore: '100M',
  tolerableLag: '5s',
  criticalLag: '1h',
  recoveryTime: '20s',
};

function spec(ns: string, autoscaler: ConsumerSpec['autoscaler']): ConsumerSpec {
  return baseSpec({
    namespace: ns,
    numPartitions: 4,
    numPartitionsPerInstance: 1,
    autoscaler: {
      // The bars below (lag reaching tolerableLag, then half of it) are the naive formula's; the
      // default proactive predictor scales before the lag gets there.
      predictor: 'naive',
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      scaleDownAfterLagFreeSyncs: 2,
      ...autoscaler,
    },
    resourcePolicy: consumerPolicy('8'),
  });
}

async function createTopic(topic: string): Promise<void> {
  const admin = new KafkaAdmin({ clientId: 'closed-loop-test', brokers: [env.kafkaBootstrap] });
  try {
    await admin.createTopic(topic, 4);
  } finally {
    await admin.close();
  }
}

const cpuOf = async (ns: string) =>
  (await cluster.deployments(ns)).map((d) => cpuMillis(currentResources(d).requests!.cpu!));

async function closedLoop(t: TestContext, mode: 'kafka' | 'prometheus'): Promise<void> {
  const id = randomBytes(3).toString('hex');
  const topic = `orders-${id}`;
  const group = `orders-consumer-${id}`;
  await createTopic(topic);
  const ns = await newNamespace(`loop-${mode}`);
  const autoscaler: ConsumerSpec['autoscaler'] =
    mode === 'kafka'
      ? { mode, kafka: { brokers: [env.kafkaBootstrap], topic, groupId: group, ...estimation } }
      : {
          mode,
          prometheus: {
            address: [env.prometheusUrl],
            offset: {
              query: `max by (partition) (kafka_consumergroup_lag{consumergroup="${group}",topic="${topic}"} >= 0)`,
              partitionLabel: 'partition',
            },
            production: {
              query: `sum by (partition) (rate(kafka_topic_partition_current_offset{topic="${topic}"}[30s]))`,
              partitionLabel: 'partition',
            },
            consumption: {
              query:
                `sum by (partition) (rate(kafka_consumergroup_current_offset{consumergroup="${group}",topic="${topic}"}[30s])) ` +
                `and on (partition) (max by (partition) (kafka_consumergroup_current_offset{consumergroup="${group}",topic="${topic}"}) >= 0)`,
              partitionLabel: 'partition',
            },
            ...estimation,
          },
        };
  await consumers.create(ns, 'orders', spec(ns, autoscaler));
  await consumers.waitReady(ns, 'orders');

  const abort = new AbortController();
  const ticks: ConsumerGroupTick[] = [];
  const started = Date.now();
  const load = runLoad({
    brokers: [env.kafkaBootstrap],
    topic,
    rate: { rates: LOAD },
    durationSeconds: 150,
    signal: abort.signal,
  });
  const group$ = runConsumerGroup({
    brokers: [env.kafkaBootstrap],
    groupId: group,
    topic,
    ratePerCore: RATE_PER_CORE,
    // The CPU the pods' node reports: resizes happen in place (the default), not in the template.
    kubernetes: { kubeConfig: kubeConfig(), namespace: ns, cpuFrom: 'pods' },
    durationSeconds: 150,
    signal: abort.signal,
    onTick: (tick) => ticks.push(tick),
  });
  try {
    const peakLag = () => Math.max(0, ...ticks.map((x) => x.lag[0] ?? 0));
    const scaled = await waitFor(
      'the hot instance gets more CPU than the cold ones',
      async () => {
        const cpu = await cpuOf(ns);
        return cpu[0]! >= 2000 && cpu.slice(1).every((c) => c < cpu[0]!) ? cpu : undefined;
      },
      90_000,
    );
    const scaledAt = Date.now();
    // Once the lag is below tolerableLag the naive formula only keeps the backlog term
    // (production × lag / recoveryTime), so the rest drains slowly: half is the bar here.
    const tolerableMessages = 5 * LOAD[0]!;
    await waitFor(
      'the hot partition drains to half of tolerableLag',
      async () => {
        const last = ticks.at(-1);
        return last && peakLag() >= tolerableMessages && last.lag[0]! < tolerableMessages / 2;
      },
      90_000,
    );
    const last = ticks.at(-1)!;
    const cpu = await cpuOf(ns);
    t.diagnostic(
      `mode ${mode}: hot instance ${scaled[0]}m after ${((scaledAt - started) / 1000).toFixed(1)} s (cold ${scaled.slice(1).join('m, ')}m); ` +
        `peak lag of the hot partition ${peakLag()} msgs, ${last.lag[0]} at ${last.elapsedSeconds.toFixed(0)} s; cpu now ${cpu.join('m, ')}m`,
    );
    assert.ok(
      cpu.slice(1).every((c) => c <= 200),
      `cold instances stay small: ${cpu.join()}`,
    );
    if (mode === 'kafka') {
      // What the operator read matches the broker: lag in status against the group's own numbers.
      const status = (await consumers.get(ns, 'orders')).status!;
      assert.ok(status.lastSyncState!['1']!.messageBehind! <= 20, 'a cold partition has (almost) no lag');
      assert.ok(
        status.lastSyncState!['0']!.productionRate! >= 150,
        `hot production rate ${status.lastSyncState!['0']!.productionRate}`,
      );
    }
  } finally {
    abort.abort();
    await Promise.allSettled([load, group$]);
  }
}

test('mode kafka: the hot partition gets more CPU and its lag drains', { timeout: 240_000 }, (t) =>
  closedLoop(t, 'kafka'),
);
test('mode prometheus through kafka_exporter: the same loop', { timeout: 240_000 }, (t) =>
  closedLoop(t, 'prometheus'),
);
