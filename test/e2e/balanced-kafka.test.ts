// The closed loop of a balanced Consumer on a real Kafka broker: one Deployment of three replicas
// whose pods really join the consumer group and subscribe (Kafka's group assignment spreads the
// six partitions over them, and rebalances when a member comes or goes), each consuming its
// partitions at the CPU its pod's node reports. A skewed load (one hot partition) makes the group
// lag: konsumerator sizes every replica up, in place, for the replica that holds the hot
// partition; once the load is gone they shrink back.
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
import { envOf, instancePods, restartsOf, statusOf } from '../support/in-place.js';

const env = metricsPlane();
const consumers = new ConsumerClient();
operatorForThisFile();

const PARTITIONS = 6;
const REPLICAS = 3;
const RATE_PER_CORE = KAFKA_LOOP_RATE_PER_CORE;
const HOT = 120; // msg/s on partition 0 while the load is on
const WARM = 20; // msg/s on the others while the load is on
const IDLE = 2; // msg/s on every partition afterwards

function spec(ns: string, topic: string, group: string): ConsumerSpec {
  return baseSpec({
    assignment: 'Balanced',
    numPartitionsPerInstance: undefined,
    namespace: ns,
    numPartitions: PARTITIONS,
    replicas: REPLICAS,
    autoscaler: kafkaLoopAutoscaler(env.kafkaBootstrap, topic, group),
    resourcePolicy: consumerPolicy('4'),
  });
}

test(
  'balanced, mode kafka: a subscribed group of 3 replicas is sized up under a skewed load and back down, in place',
  { timeout: 240_000 },
  async (t) => {
    const id = randomBytes(3).toString('hex');
    const topic = `orders-${id}`;
    const group = `orders-consumer-${id}`;
    const admin = new KafkaAdmin({ clientId: 'balanced-loop', brokers: [env.kafkaBootstrap] });
    try {
      await admin.createTopic(topic, PARTITIONS);
      const ns = await newNamespace('balanced-loop');
      await consumers.create(ns, 'orders', spec(ns, topic, group));
      const pods = await waitFor('one Deployment with 3 running pods', async () => {
        const all = await instancePods(ns);
        const only = all.get('orders-0');
        return all.size === 1 &&
          only?.pods.length === REPLICAS &&
          only.pods.every((p) => p.status?.phase === 'Running')
          ? only.pods
          : undefined;
      });
      const podUids = pods.map((p) => p.metadata!.uid!).sort();
      const podEnv = envOf(pods[0]!);
      assert.equal(podEnv.KONSUMERATOR_PARTITION, undefined, 'a subscribing replica gets no partition list');
      assert.equal(podEnv.KONSUMERATOR_INSTANCE, undefined);
      assert.equal(podEnv.KONSUMERATOR_NUM_PARTITIONS, String(PARTITIONS));

      let loaded = true;
      const abort = new AbortController();
      const ticks: ConsumerGroupTick[] = [];
      const load = runLoad({
        brokers: [env.kafkaBootstrap],
        topic,
        rate: (partition) => (loaded ? (partition === 0 ? HOT : WARM) : IDLE),
        durationSeconds: 200,
        signal: abort.signal,
      });
      const group$ = runConsumerGroup({
        brokers: [env.kafkaBootstrap],
        groupId: group,
        topic,
        ratePerCore: RATE_PER_CORE,
        kubernetes: { kubeConfig: kubeConfig(), namespace: ns },
        subscribe: true,
        durationSeconds: 200,
        signal: abort.signal,
        onTick: (tick) => ticks.push(tick),
      });
      const started = Date.now();
      const podCpu = async () =>
        (await instancePods(ns))
          .get('orders-0')!
          .pods.map((p) => cpuMillis(statusOf(p).requests?.cpu ?? '0'));
      const totalLag = (tick: ConsumerGroupTick | undefined) =>
        tick ? tick.lag.reduce((a, b) => a + b, 0) : Infinity;
      try {
        const assigned = await waitFor(
          'Kafka assigns the six partitions over the three subscribed replicas',
          async () => {
            const last = ticks.at(-1);
            const owners = last?.instances.filter((i) => i.partitions.length > 0) ?? [];
            const partitions = owners.flatMap((i) => i.partitions).sort((a, b) => a - b);
            return owners.length === REPLICAS && partitions.join(',') === '0,1,2,3,4,5' ? last : undefined;
          },
          60_000,
        );
        const members = (await admin.groupMembers([group])).get(group);
        assert.equal(members, REPLICAS, 'every replica is a member of the group');
        const peakLagBefore = Math.max(...ticks.map(totalLag));

        // The replica holding partition 0 needs 120/s + one other partition's 20/s = 1.4 cores
        // before any backlog: every replica gets at least that, the same for all.
        const grown = await waitFor(
          'every replica runs with at least 1.4 cores, all the same',
          async () => {
            const cpu = await podCpu();
            return cpu.length === REPLICAS && cpu.every((c) => c >= 1400 && c === cpu[0]) ? cpu : undefined;
          },
          90_000,
        );
        const grownAt = Date.now();
        const drained = await waitFor(
          'the grown group keeps up: its lag falls under 2 s of production',
          async () => {
            const last = ticks.at(-1);
            const grownFor = last ? started + last.elapsedSeconds * 1000 - grownAt : -1;
            return last && grownFor > 0 && totalLag(last) < 2 * (HOT + 5 * WARM) ? last : undefined;
          },
          60_000,
        );
        const peakLag = Math.max(...ticks.map(totalLag));
        loaded = false;
        const shrunk = await waitFor(
          'every replica shrinks back',
          async () => {
            const cpu = await podCpu();
            return cpu.length === REPLICAS && cpu.every((c) => c <= 200) ? cpu : undefined;
          },
          90_000,
        );
        t.diagnostic(
          `partitions per replica ${assigned.instances.map((i) => i.partitions.join('+')).join(' / ')}; ` +
            `grew to ${grown.join('/')}m per replica after ${((grownAt - started) / 1000).toFixed(1)} s ` +
            `(peak total lag ${peakLag} msgs, ${peakLagBefore} when assigned), drained to ${totalLag(drained)} msgs; ` +
            `back to ${shrunk.join('/')}m after ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      } finally {
        abort.abort();
        await Promise.allSettled([load, group$]);
      }
      const consumer = await consumers.get(ns, 'orders');
      assert.deepEqual(
        consumer.status?.instances?.map((i) => [i.id, i.partitions]),
        [[0, '0-5']],
        'status: one instance with every partition',
      );
      assert.equal(consumer.status?.expected, 1);
      const after = (await instancePods(ns)).get('orders-0')!.pods;
      assert.deepEqual(after.map((p) => p.metadata!.uid!).sort(), podUids, 'the same pods: resized in place');
      for (const pod of after) assert.deepEqual(restartsOf(pod), { consumer: 0 });
    } finally {
      await admin.close();
    }
  },
);
