// The metrics side of the test plane, end to end with real components: the load generator
// produces a skewed load into a real Kafka topic, the simulated consumer group commits offsets,
// the kafka_exporter reports per-partition lag, and Prometheus answers konsumerator's queries.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from '../support/timed.js';
import { AppsV1Api, type V1Deployment } from '@kubernetes/client-node';
import { KafkaAdmin } from '../../src/kafka/client.js';
import { runConsumerGroup, runLoad } from '../../src/loadgen/index.js';
import {
  addScrapeTarget,
  queryPrometheus,
  removeScrapeTarget,
  type PromSample,
} from '../../src/testplane/prometheus.js';
import { kubeConfig, newNamespace, metricsPlane, waitFor } from '../support/env.js';

const env = metricsPlane();
const suffix = () => randomBytes(3).toString('hex');

/** Partition label → value. */
function byPartition(samples: PromSample[]): Map<string, number> {
  return new Map(samples.map((s) => [s.metric.partition ?? '', s.value]));
}

describe('metrics plane: Kafka, kafka_exporter and Prometheus', () => {
  const brokers = [env.kafkaBootstrap];
  const admin = new KafkaAdmin({ clientId: 'metrics-plane-test', brokers });
  const topics: string[] = [];
  const groups: string[] = [];

  after(async () => {
    await admin.deleteGroups(groups).catch(() => undefined);
    await admin.deleteTopics(topics).catch(() => undefined);
    await admin.close();
  });

  test('skewed load and a slow group give per-partition lag and production rates in Prometheus', async () => {
    const topic = `plane-${suffix()}`;
    const groupId = `plane-group-${suffix()}`;
    topics.push(topic);
    groups.push(groupId);
    const stop = new AbortController();
    // Partition 0 is hot. Instance a (partition 0) has 0.5 core = 50 msg/s: it falls behind.
    // Instance b (partitions 1-3) has 1 core = 100 msg/s for 80 msg/s: it keeps up.
    const load = runLoad({
      brokers,
      topic,
      createTopic: true,
      rate: { rates: [200, 40, 25, 15] },
      durationSeconds: 40,
      signal: stop.signal,
    });
    await waitFor('topic created', async () => (await admin.listTopics()).includes(topic), 20_000);
    const group = runConsumerGroup({
      brokers,
      groupId,
      topic,
      ratePerCore: 100,
      instances: [
        { name: 'a', partitions: [0], cpuCores: 0.5 },
        { name: 'b', partitions: [1, 2, 3], cpuCores: 1 },
      ],
      durationSeconds: 40,
      signal: stop.signal,
    });
    try {
      const lagQuery = `sum(kafka_consumergroup_lag{consumergroup="${groupId}",topic="${topic}"}) by (partition)`;
      const rateQuery = `sum(rate(kafka_topic_partition_current_offset{topic="${topic}"}[30s])) by (partition)`;
      const consumedQuery = `sum(rate(kafka_consumergroup_current_offset{consumergroup="${groupId}",topic="${topic}"}[30s])) by (partition)`;
      const [lag, rates, consumed] = await waitFor(
        'lag, production and consumption rates for the 4 partitions, the hot one ahead',
        async () => {
          const answers = await Promise.all(
            [lagQuery, rateQuery, consumedQuery].map(async (q) =>
              byPartition(await queryPrometheus(env.prometheusUrl, q)),
            ),
          );
          const [l, r, c] = answers as [Map<string, number>, Map<string, number>, Map<string, number>];
          const complete = answers.every((a) => a.size === 4);
          // rate() divides by the whole 30 s window: it approaches the real 200 msg/s as the window
          // fills. Partition 0 gets 150 msg/s more than instance a consumes: its lag keeps growing.
          return complete && r.get('0')! > 100 && l.get('0')! > 1000 ? ([l, r, c] as const) : undefined;
        },
        45_000,
      );
      assert.deepEqual([...lag.keys()].sort(), ['0', '1', '2', '3']);
      for (const p of ['1', '2', '3']) {
        assert.ok(
          rates.get('0')! > 2 * rates.get(p)!,
          `production rate of 0 (${rates.get('0')}) vs ${p} (${rates.get(p)})`,
        );
        assert.ok(lag.get('0')! > lag.get(p)!, `lag of 0 (${lag.get('0')}) vs ${p} (${lag.get(p)})`);
      }
      // Instance a consumes at its 50 msg/s, well below the 200 msg/s produced.
      assert.ok(
        consumed.get('0')! > 10 && consumed.get('0')! < 80,
        `consumption rate of 0: ${consumed.get('0')}`,
      );

      // kafka_exporter's own exposition has the same series.
      const text = await (await fetch(`${env.exporterUrl}/metrics`)).text();
      for (const p of [0, 1, 2, 3]) {
        const series = `kafka_consumergroup_lag{consumergroup="${groupId}",topic="${topic}",partition="${p}"}`;
        assert.ok(text.includes(series), `exporter lacks ${series}`);
      }
    } finally {
      stop.abort();
      const [produced, simulated] = await Promise.all([load, group]);
      assert.equal(produced.stoppedBy, 'signal');
      assert.equal(simulated.stoppedBy, 'signal');
      assert.ok(produced.sent[0]! > 2 * produced.sent[1]!, `sent ${produced.sent.join(',')}`);
    }
  });

  test('a scrape target added at run time through file_sd gets scraped', async () => {
    const job = `plane-fake-${suffix()}`;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('# TYPE konsumerator_plane_test gauge\nkonsumerator_plane_test{partition="0"} 42\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      addScrapeTarget(env.prometheusFileSdDir, {
        job,
        targets: [`127.0.0.1:${port}`],
        labels: { team: 'x' },
      });
      await waitFor(
        `up{job="${job}"} == 1`,
        async () => (await queryPrometheus(env.prometheusUrl, `up{job="${job}"} == 1`)).length === 1,
        30_000,
      );
      const [sample] = await queryPrometheus(env.prometheusUrl, `konsumerator_plane_test{job="${job}"}`);
      assert.equal(sample?.value, 42);
      assert.equal(sample?.metric.team, 'x');
    } finally {
      removeScrapeTarget(env.prometheusFileSdDir, job);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("the simulated group reads the operator's Deployments: partitions and CPU request", async () => {
    const namespace = await newNamespace('plane-group');
    const apps = kubeConfig().makeApiClient(AppsV1Api);
    const deployment = (name: string, partitions: string, cpu: string, replicas = 1): V1Deployment => ({
      metadata: { name, annotations: { 'konsumerator.lwolf.org/partition': partitions } },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'consumer', image: 'consumer:1', resources: { requests: { cpu } } }] },
        },
      },
    });
    for (const body of [
      deployment('c-0', '0', '1'),
      deployment('c-1', '1', '250m'),
      deployment('c-2', '2', '2', 0),
    ]) {
      await apps.createNamespacedDeployment({ namespace, body });
    }
    const topic = `plane-k8s-${suffix()}`;
    const groupId = `plane-k8s-group-${suffix()}`;
    topics.push(topic);
    groups.push(groupId);
    // A backlog of 2000 messages on each partition, then a group that consumes for 3 s.
    await runLoad({
      brokers,
      topic,
      createTopic: true,
      rate: { rates: [4000, 4000, 4000] },
      durationSeconds: 0.5,
    });
    const ticks: number[][] = [];
    const result = await runConsumerGroup({
      brokers,
      groupId,
      topic,
      ratePerCore: 200,
      kubernetes: { kubeConfig: kubeConfig(), namespace },
      durationSeconds: 3,
      onTick: (t) => ticks.push([...t.consumed]),
    });
    assert.equal(result.stoppedBy, 'duration');
    assert.deepEqual(
      result.instances.map((i) => [i.name, i.partitions, i.cpuCores]),
      [
        ['c-0', [0], 1],
        ['c-1', [1], 0.25],
        ['c-2', [2], 0],
      ],
    );
    const [c0, c1, c2] = result.consumed as [number, number, number];
    // 1 core × 200 msg/s and 0.25 core × 200 msg/s for 3 s; zero replicas consume nothing.
    assert.ok(c0 >= 540 && c0 <= 600, `partition 0 consumed ${c0}`);
    assert.ok(c1 >= 135 && c1 <= 150, `partition 1 consumed ${c1}`);
    assert.equal(c2, 0);
    // What the group committed is what Kafka has.
    const offsets = await admin.committedOffsets(groupId, topic);
    assert.deepEqual([offsets.get(0), offsets.get(1), offsets.get(2)], [...result.committed]);
    assert.ok(ticks.length >= 5, `${ticks.length} ticks`);
  });
});
