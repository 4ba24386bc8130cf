// Capacity per core learned on a real Kafka broker: two Consumers on the one plane, each saying
// ratePerCore KAFKA_LOOP_RATE_PER_CORE, whose simulated consumer groups really consume half and
// twice that per core of the CPU their pods' node reports. With learnRatePerCore on, the rate per
// core the sizing uses (status.capacity) is learned within TOLERANCE of the real one within
// CONVERGED_WITHIN_READS reads of the load starting, in both directions:
// - half: the pods lag, and their consumption per core is the estimate;
// - twice: a group that never lags shows only lower bounds; the operator probes upwards (1.25× the
//   bound, then 1.5× steps once pods sized by the probe kept up through a warm-up, 15 s at 2 s
//   between reads) until the probe shrinks a pod below its need, and that pod falling behind
//   within its warm-up gives the estimates;
// and the lag then settles below tolerableLag: the group that is slower than said gets more CPU
// than the setting would give, the faster one less.
import { test, type TestContext } from '../support/timed.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KafkaAdmin } from '../../src/kafka/client.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { cpuMillis } from '../../src/util/units.js';
import { capacityTimings } from '../../src/autoscale/capacity.js';
import { runConsumerGroup, runLoad, type ConsumerGroupTick } from '../../src/loadgen/index.js';
import { kubeConfig, newNamespace, metricsPlane, waitFor } from '../support/env.js';
import { ConsumerClient, operatorForThisFile } from '../support/operator.js';
import {
  baseSpec,
  consumerPolicy,
  KAFKA_LOOP_RATE_PER_CORE,
  kafkaLoopAutoscaler,
} from '../support/consumers.js';
import { instancePods, statusOf } from '../support/in-place.js';

const env = metricsPlane();
const consumers = new ConsumerClient();
operatorForThisFile();

const PARTITIONS = 2;
/**
 * msg/s on each partition: a step up after STEP_AT_S. At a steady load an instance sized right
 * keeps up with no CPU to spare, which only bounds its capacity; the step shows what it can do.
 */
const LOAD = [100, 150] as const;
const STEP_AT_S = 25;
const READ_PERIOD_S = 2; // kafkaLoopAutoscaler's minSyncPeriod
const WARM_UP_S = capacityTimings(READ_PERIOD_S * 1000).warmUpMs / 1000;
/**
 * Room above the estimator's saturation line (4 s of lag at 2 s between reads): with the loop's
 * usual 5 s, the proactive predictor resizes before most reads can show saturation.
 */
const TOLERABLE_LAG_S = 20;
/** The learned rate per core in use is within this share of the real one… */
const TOLERANCE = 0.15;
/** …within this many reads of the load starting (the wait is that many read periods). */
const CONVERGED_WITHIN_READS = 55;
/** Lag below tolerableLag on every partition for this long counts as settled. */
const SETTLED_FOR_S = 15;

async function createTopic(topic: string): Promise<void> {
  const admin = new KafkaAdmin({ clientId: 'capacity-learning', brokers: [env.kafkaBootstrap] });
  try {
    await admin.createTopic(topic, PARTITIONS);
  } finally {
    await admin.close();
  }
}

function spec(ns: string, topic: string, group: string): ConsumerSpec {
  const autoscaler = kafkaLoopAutoscaler(env.kafkaBootstrap, topic, group, { learnRatePerCore: true });
  autoscaler.kafka!.tolerableLag = `${TOLERABLE_LAG_S}s`;
  return baseSpec({
    namespace: ns,
    numPartitions: PARTITIONS,
    numPartitionsPerInstance: 1,
    autoscaler,
    resourcePolicy: consumerPolicy('4'),
  });
}

async function learnsItsCapacity(t: TestContext, realFactor: number): Promise<void> {
  const real = KAFKA_LOOP_RATE_PER_CORE * realFactor;
  const id = randomBytes(3).toString('hex');
  const topic = `capacity-${id}`;
  const group = `capacity-consumer-${id}`;
  await createTopic(topic);
  const ns = await newNamespace(`capacity-${String(realFactor).replace('.', '')}`);
  await consumers.create(ns, 'orders', spec(ns, topic, group));
  await consumers.waitReady(ns, 'orders');
  // An idle Consumer whose load arrives: its instances are older than the estimator's warm-up
  // (15 s at 2 s between reads), so the first reads under load are evidence.
  await new Promise((resolve) => setTimeout(resolve, WARM_UP_S * 1000));

  const abort = new AbortController();
  const ticks: ConsumerGroupTick[] = [];
  const durationSeconds = 180;
  const started = Date.now();
  const load = runLoad({
    brokers: [env.kafkaBootstrap],
    topic,
    rate: (_partition, seconds) => (seconds < STEP_AT_S ? LOAD[0] : LOAD[1]),
    durationSeconds,
    signal: abort.signal,
  });
  const group$ = runConsumerGroup({
    brokers: [env.kafkaBootstrap],
    groupId: group,
    topic,
    ratePerCore: real, // what a core really does, not what the Consumer says
    kubernetes: { kubeConfig: kubeConfig(), namespace: ns, cpuFrom: 'pods' },
    durationSeconds,
    signal: abort.signal,
    onTick: (tick) => ticks.push(tick),
  });
  const capacity = async () => (await consumers.get(ns, 'orders')).status?.capacity;
  const reportedCpu = async () =>
    [...(await instancePods(ns)).values()].map((i) => cpuMillis(statusOf(i.pods[0]!).requests?.cpu ?? '0'));
  // What the probe saw, for the diagnostic when it fails.
  const seen: string[] = [];
  const observe = async () => {
    const c = await capacity();
    const lag = ticks.at(-1)?.lag.join('/') ?? '-';
    seen.push(
      `${((Date.now() - started) / 1000).toFixed(0)}s ${c?.source} ${c?.ratePerCore} learned ${c?.learnedRatePerCore} ` +
        `bound ${c?.lowerBound} conf ${c?.confidence} cpu ${(await reportedCpu()).join('/')} lag ${lag}`,
    );
    return c;
  };
  try {
    const learned = await waitFor(
      `the rate per core in use comes within ${TOLERANCE * 100} % of the real ${real} msg/s`,
      async () => {
        const c = await observe();
        return c?.source === 'learned' && Math.abs(c.ratePerCore / real - 1) <= TOLERANCE ? c : undefined;
      },
      CONVERGED_WITHIN_READS * READ_PERIOD_S * 1000,
    ).catch((err: unknown) => {
      t.diagnostic(`real ${real}: ${seen.join('; ')}`);
      throw err;
    });
    const learnedAfterS = (Date.now() - started) / 1000;
    // Settled: every partition of the group below tolerableLag for SETTLED_FOR_S on end, not growing.
    const tolerable = TOLERABLE_LAG_S * LOAD[1];
    await waitFor(
      `the lag stays below tolerableLag (${tolerable} messages) and stops growing for ${SETTLED_FOR_S} s`,
      async () => {
        await observe();
        const last = ticks.at(-1);
        if (!last) return false;
        // After the step: the higher load is the one to keep up with.
        const recent = ticks.filter(
          (x) => x.elapsedSeconds >= Math.max(STEP_AT_S, last.elapsedSeconds - SETTLED_FOR_S),
        );
        // …and not growing: at the end no more than a second of production above the start.
        return (
          recent.length > 0 &&
          last.elapsedSeconds - recent[0]!.elapsedSeconds >= SETTLED_FOR_S - 1 &&
          recent.every((x) => x.lag.every((lag) => lag < tolerable)) &&
          last.lag.every((lag, p) => lag <= recent[0]!.lag[p]! + LOAD[1])
        );
      },
      60_000,
    );
    const end = await observe();
    const cpu = await reportedCpu();
    if (!(end !== undefined && Math.abs(end.ratePerCore / real - 1) <= TOLERANCE))
      t.diagnostic(`real ${real}: ${seen.join('; ')}`);
    t.diagnostic(
      `real ${real} msg/s per core (set ${KAFKA_LOOP_RATE_PER_CORE}): ${learned.source} ${learned.ratePerCore} ` +
        `(confidence ${learned.confidence}) after ${learnedAfterS.toFixed(1)} s ≈ ${Math.ceil(learnedAfterS / READ_PERIOD_S)} reads; ` +
        `settled at ${((Date.now() - started) / 1000).toFixed(1)} s with ${end?.ratePerCore} in use, cpu ${cpu.join('m, ')}m; ` +
        `peak lag ${Math.max(...ticks.flatMap((x) => x.lag))} msgs`,
    );
    assert.ok(
      end !== undefined && Math.abs(end.ratePerCore / real - 1) <= TOLERANCE,
      `still within ${TOLERANCE * 100} % of ${real} once settled: ${end?.ratePerCore}`,
    );
    // The sizing follows the real capacity, not the setting: more CPU than the setting would give
    // when a core does less, less when it does more (a snapshot: a margin either way).
    const bySetting = (LOAD[1] / KAFKA_LOOP_RATE_PER_CORE) * 1000;
    for (const c of cpu)
      assert.ok(
        realFactor < 1 ? c >= bySetting * 1.25 : c <= bySetting * 0.8,
        `an instance has ${c}m where the setting would give ${bySetting}m and the real need is ${(LOAD[1] / real) * 1000}m`,
      );
  } finally {
    abort.abort();
    await Promise.allSettled([load, group$]);
  }
}

test(
  'learnRatePerCore on real Kafka: half and twice the set rate per core are learned, and the lag settles',
  { timeout: 210_000 },
  async (t) => {
    // Both directions at once on the one plane: the two Consumers share nothing but the operator.
    // Both run to the end (each one's diagnostic is worth having), then the first failure is reported.
    const results = await Promise.allSettled([learnsItsCapacity(t, 0.5), learnsItsCapacity(t, 2)]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  },
);
