// The closed loop on a real Kafka broker with in-place actuation (the default): the hot partition's
// instance grows while it lags and shrinks when its load is gone, and every change reaches the
// running pod in place: the same pods from start to end, no restart, no new ReplicaSet. The
// simulated consumers consume at the CPU their pods' node reports (status.containerStatuses), so
// the lag drains only once kwok has applied the resize.
import { test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KafkaAdmin } from '../../src/kafka/client.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { cpuMillis } from '../../src/util/units.js';
import { runConsumerGroup, runLoad, type ConsumerGroupTick } from '../../src/loadgen/index.js';
import { kubeConfig, newNamespace, metricsPlane, waitFor } from '../support/env.js';
import { ConsumerClient, operatorForThisFile } from '../support/operator.js';
import {
  baseSpec,
  consumerPolicy,
  KAFKA_LOOP_RATE_PER_CORE,
  kafkaLoopAutoscaler,
} from '../support/consumers.js';
import { instancePods, replicaSetUids, restartsOf, statusOf } from '../support/in-place.js';

const env = metricsPlane();
const consumers = new ConsumerClient();
operatorForThisFile();

const RATE_PER_CORE = KAFKA_LOOP_RATE_PER_CORE;
const HOT = 200; // msg/s on partition 0 while it is hot
const COLD = 5;

async function createTopic(topic: string): Promise<void> {
  const admin = new KafkaAdmin({ clientId: 'inplace-loop', brokers: [env.kafkaBootstrap] });
  try {
    await admin.createTopic(topic, 4);
  } finally {
    await admin.close();
  }
}

function spec(ns: string, topic: string, group: string): ConsumerSpec {
  return baseSpec({
    namespace: ns,
    numPartitions: 4,
    numPartitionsPerInstance: 1,
    autoscaler: kafkaLoopAutoscaler(env.kafkaBootstrap, topic, group, { predictor: 'naive' }),
    resourcePolicy: consumerPolicy('8'),
  });
}

test(
  'mode kafka, in place: the hot instance grows and shrinks back with no pod restarted',
  { timeout: 300_000 },
  async (t) => {
    const id = randomBytes(3).toString('hex');
    const topic = `orders-${id}`;
    const group = `orders-consumer-${id}`;
    await createTopic(topic);
    const ns = await newNamespace('inplace-loop');
    await consumers.create(ns, 'orders', spec(ns, topic, group));
    await consumers.waitReady(ns, 'orders');
    const pods = await waitFor('one running pod per instance', async () => {
      const all = await instancePods(ns);
      return all.size === 4 &&
        [...all.values()].every((i) => i.pods.length === 1 && i.pods[0]!.status?.phase === 'Running')
        ? all
        : undefined;
    });
    const uids = new Map([...pods].map(([name, i]) => [name, i.pods[0]!.metadata!.uid]));
    const replicaSets = await replicaSetUids(ns);

    let hot = true;
    const abort = new AbortController();
    const ticks: ConsumerGroupTick[] = [];
    const load = runLoad({
      brokers: [env.kafkaBootstrap],
      topic,
      rate: (partition) => (partition === 0 && hot ? HOT : COLD),
      durationSeconds: 240,
      signal: abort.signal,
    });
    const group$ = runConsumerGroup({
      brokers: [env.kafkaBootstrap],
      groupId: group,
      topic,
      ratePerCore: RATE_PER_CORE,
      kubernetes: { kubeConfig: kubeConfig(), namespace: ns, cpuFrom: 'pods' },
      durationSeconds: 240,
      signal: abort.signal,
      onTick: (tick) => ticks.push(tick),
    });
    const started = Date.now();
    const reportedCpu = async () =>
      [...(await instancePods(ns)).values()].map((i) => cpuMillis(statusOf(i.pods[0]!).requests?.cpu ?? '0'));
    try {
      const grown = await waitFor(
        'the hot instance’s pod runs with 2 cores or more',
        async () => {
          const cpu = await reportedCpu();
          return cpu[0]! >= 2000 && cpu.slice(1).every((c) => c < cpu[0]!) ? cpu : undefined;
        },
        120_000,
      );
      const grownAt = Date.now();
      await waitFor(
        'the hot partition drains below tolerableLag',
        async () => {
          const last = ticks.at(-1);
          return last && last.lag[0]! < 5 * HOT;
        },
        90_000,
      );
      hot = false;
      const shrunk = await waitFor(
        'the hot instance shrinks back',
        async () => {
          const cpu = await reportedCpu();
          return cpu[0]! <= 200 ? cpu : undefined;
        },
        90_000,
      );
      t.diagnostic(
        `grew to ${grown[0]}m after ${((grownAt - started) / 1000).toFixed(1)} s, back to ${shrunk[0]}m after ${((Date.now() - started) / 1000).toFixed(1)} s; peak lag ${Math.max(...ticks.map((x) => x.lag[0] ?? 0))} msgs`,
      );
    } finally {
      abort.abort();
      await Promise.allSettled([load, group$]);
    }
    const after = await instancePods(ns);
    for (const [name, instance] of after) {
      assert.deepEqual(
        instance.pods.map((p) => p.metadata!.uid),
        [uids.get(name)],
        `${name}: the same pod from start to end`,
      );
      assert.deepEqual(restartsOf(instance.pods[0]!), { consumer: 0 }, `${name}: no restart`);
    }
    assert.deepEqual(await replicaSetUids(ns), replicaSets, 'no new ReplicaSet: nothing rolled out');
  },
);
