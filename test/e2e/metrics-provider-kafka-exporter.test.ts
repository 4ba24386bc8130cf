// Both providers on the same topic and group: the `kafka` provider reading the broker, and the
// `prometheus` provider with the kafka_exporter queries of docs/metrics.md, through the test
// plane's exporter and Prometheus. They must agree, and the exporter's -1 ("nothing committed")
// must come out unknown, never as a number.
import { after, before, describe, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KafkaAdmin, KafkaProducer } from '../../src/kafka/client.js';
import { KafkaProvider } from '../../src/metrics/kafka.js';
import { PrometheusProvider } from '../../src/metrics/prometheus.js';
import type { MetricsReading } from '../../src/metrics/types.js';
import { metricsPlane, waitFor } from '../support/env.js';

const env = metricsPlane();

const suffix = randomBytes(3).toString('hex');
const topic = `metrics-provider-exp-${suffix}`;
const groupId = `metrics-provider-exp-group-${suffix}`;
const RATE = 20; // msg/s produced to partition 1 during the test

const tg = `consumergroup="${groupId}",topic="${topic}"`;
/** The kafka_exporter recipes of docs/metrics.md (with [10s] windows instead of [2m]). */
const queries = {
  offset: { query: `max by (partition) (kafka_consumergroup_lag{${tg}} >= 0)`, partitionLabel: 'partition' },
  production: {
    query: `sum by (partition) (rate(kafka_topic_partition_current_offset{topic="${topic}"}[10s]))`,
    partitionLabel: 'partition',
  },
  consumption: {
    query:
      `sum by (partition) (rate(kafka_consumergroup_current_offset{${tg}}[10s])) ` +
      `and on (partition) (max by (partition) (kafka_consumergroup_current_offset{${tg}}) >= 0)`,
    partitionLabel: 'partition',
  },
};

describe('kafka_exporter through Prometheus agrees with the brokers', () => {
  const connection = { clientId: 'metrics-provider-test', brokers: [env.kafkaBootstrap] };
  const admin = new KafkaAdmin(connection);
  const producer = new KafkaProducer(connection);
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<unknown> = Promise.resolve();

  before(async () => {
    await admin.createTopic(topic, 3);
    const batch = (partition: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ partition, value: Buffer.from(`m${i}`) }));
    await producer.send(topic, [...batch(0, 12), ...batch(2, 7)]);
    await admin.commitOffsets(
      groupId,
      topic,
      new Map([
        [0, 2],
        [1, 0],
      ]),
    );
    // Partition 1 grows at RATE msg/s: 5 messages every 250 ms.
    timer = setInterval(() => {
      sending = producer.send(topic, batch(1, RATE / 4)).catch(() => undefined);
    }, 250);
  });

  after(async () => {
    clearInterval(timer);
    await sending;
    await producer.close();
    await admin.deleteTopics([topic]).catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.close();
  });

  test('lag, production and consumption per partition, and the -1 sentinel as unknown', async () => {
    const prometheus = new PrometheusProvider({ addresses: [env.prometheusUrl], ...queries });
    const brokers = new KafkaProvider({ brokers: [env.kafkaBootstrap], topic, groupId });
    try {
      let fromPrometheus: MetricsReading | undefined;
      // The exporter refreshes metadata every 5 s; rate() needs its window filled.
      await waitFor(
        'the exporter series of the new topic and group, over a full rate window',
        async () => {
          fromPrometheus = await prometheus.read(3);
          const production = fromPrometheus.partitions.get(1)?.production;
          if (production !== undefined && Math.abs(production - RATE) <= 0.2 * RATE) return true;
          // waitFor reports the last error on timeout: say what was read.
          throw new Error(
            `not yet: ${JSON.stringify([...fromPrometheus.partitions])}; ${fromPrometheus.warnings.join('; ')}`,
          );
        },
        90_000,
      );
      await brokers.read(3);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const fromBrokers = await brokers.read(3);
      fromPrometheus = await prometheus.read(3);

      for (const r of [fromPrometheus!, fromBrokers]) {
        const [p0, p1, p2] = [0, 1, 2].map((p) => r.partitions.get(p)!);
        assert.equal(p0!.behind, 10);
        assert.equal(p0!.production, 0);
        assert.equal(p0!.consumption, 0);
        assert.ok(p1!.behind! > 0);
        assert.ok(Math.abs(p1!.production! - RATE) <= 0.25 * RATE, `production ${p1!.production}`);
        assert.equal(p1!.consumption, 0);
        assert.equal(p2!.behind, undefined, 'nothing committed: unknown');
        assert.equal(p2!.consumption, undefined);
        assert.equal(p2!.production, 0);
      }
      const a = env.prometheusUrl;
      assert.deepEqual(fromPrometheus!.warnings, [
        `prometheus ${a} consumption_rate: no series for partitions 2: unknown`,
        `prometheus ${a} offset: no series for partitions 2: unknown`,
      ]);
      assert.deepEqual(fromBrokers.warnings, [
        `kafka ${topic}/${groupId}: no committed offset for partitions 2: behind and consumption unknown`,
      ]);

      // Without the filters, the exporter's -1 for "nothing committed" reaches the provider: the
      // lag is refused as negative (unknown, with a warning), but rate() of a constant -1 is a
      // plausible-looking 0, which is why the consumption recipe needs its "and on (partition)".
      const raw = new PrometheusProvider({
        addresses: [env.prometheusUrl],
        ...queries,
        offset: { query: `max by (partition) (kafka_consumergroup_lag{${tg}})`, partitionLabel: 'partition' },
        consumption: {
          query: `sum by (partition) (rate(kafka_consumergroup_current_offset{${tg}}[10s]))`,
          partitionLabel: 'partition',
        },
      });
      try {
        const r = await raw.read(3);
        assert.equal(r.partitions.get(0)!.behind, 10);
        assert.equal(r.partitions.get(2)!.behind, undefined);
        assert.equal(r.partitions.get(2)!.consumption, 0, 'the pitfall the recipe avoids');
        assert.deepEqual(r.warnings, [
          `prometheus ${a} offset: negative value for partitions 2: unknown (kafka_exporter's -1: nothing committed)`,
        ]);
      } finally {
        await raw.close();
      }
    } finally {
      await Promise.all([prometheus.close(), brokers.close()]);
    }
  });
});
