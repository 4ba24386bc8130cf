// The Kafka provider against the test plane's real broker: a topic with known message counts per
// partition and a group with known committed offsets.
import { after, before, describe, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { KafkaAdmin, KafkaProducer } from '../../src/kafka/client.js';
import { KafkaProvider, type KafkaProviderOptions } from '../../src/metrics/kafka.js';
import { metricsPlane } from '../support/env.js';

const env = metricsPlane();

const suffix = randomBytes(3).toString('hex');
const topic = `metrics-provider-${suffix}`;
const groupId = `metrics-provider-group-${suffix}`;
const PARTITIONS = 4;

describe('Kafka provider against a real broker', () => {
  const connection = { clientId: 'metrics-provider-test', brokers: [env.kafkaBootstrap] };
  const producer = new KafkaProducer(connection);
  const admin = new KafkaAdmin(connection);
  const providers: KafkaProvider[] = [];

  /** A provider whose clock the test sets: rates are then exact. */
  function provider(options: Partial<KafkaProviderOptions> = {}) {
    const clock = { now: Date.parse('2030-01-01T00:00:00Z') };
    const p = new KafkaProvider({
      brokers: [env.kafkaBootstrap],
      topic,
      groupId,
      clock: () => new Date(clock.now),
      ...options,
    });
    providers.push(p);
    return { p, clock };
  }

  async function produce(counts: number[]): Promise<void> {
    await producer.send(
      topic,
      counts.flatMap((n, partition) =>
        Array.from({ length: n }, (_, i) => ({ partition, value: Buffer.from(`m${partition}-${i}`) })),
      ),
    );
  }

  async function commit(offsets: Record<number, number>): Promise<void> {
    await admin.commitOffsets(
      groupId,
      topic,
      new Map(Object.entries(offsets).map(([partition, offset]) => [Number(partition), offset])),
    );
  }

  before(async () => {
    await admin.createTopic(topic, PARTITIONS);
  });

  after(async () => {
    await Promise.all(providers.map((p) => p.close()));
    await producer.close();
    await admin.deleteTopics([topic]).catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.close();
  });

  test('behind per partition exactly, then rates from two reads, then a rewind', async () => {
    await produce([10, 25, 0, 5]);
    await commit({ 0: 4, 1: 25, 3: 0 }); // partition 2: nothing committed
    const { p, clock } = provider();

    let r = await p.read(PARTITIONS);
    assert.equal(r.time.getTime(), clock.now);
    assert.deepEqual(
      [...r.partitions],
      [
        [0, { behind: 6 }],
        [1, { behind: 0 }],
        [2, {}],
        [3, { behind: 5 }],
      ],
    );
    assert.deepEqual(r.warnings, [
      `kafka ${topic}/${groupId}: first read: rates unknown until the next one`,
      `kafka ${topic}/${groupId}: no committed offset for partitions 2: behind and consumption unknown`,
    ]);

    await produce([30, 5, 7, 0]);
    await commit({ 0: 20, 1: 30, 3: 0 });
    clock.now += 10_000;
    r = await p.read(PARTITIONS);
    assert.deepEqual(
      [...r.partitions],
      [
        [0, { behind: 20, production: 3, consumption: 1.6 }],
        [1, { behind: 0, production: 0.5, consumption: 0.5 }],
        [2, { production: 0.7 }],
        [3, { behind: 5, production: 0, consumption: 0 }],
      ],
    );
    assert.deepEqual(r.warnings, [
      `kafka ${topic}/${groupId}: no committed offset for partitions 2: behind and consumption unknown`,
    ]);

    await commit({ 0: 2, 1: 30, 2: 7, 3: 0 });
    clock.now += 10_000;
    r = await p.read(PARTITIONS);
    assert.deepEqual(
      [...r.partitions],
      [
        [0, { behind: 38, production: 0 }],
        [1, { behind: 0, production: 0, consumption: 0 }],
        [2, { behind: 0, production: 0 }],
        [3, { behind: 5, production: 0, consumption: 0 }],
      ],
    );
    assert.deepEqual(r.warnings, [
      `kafka ${topic}/${groupId}: committed offset went back (reset or rewind): consumption unknown for 0 (20 → 2)`,
    ]);
    assert.equal(p.snapshots().length, 3);
  });

  test("uncommitted: 'earliest', a bounded history and more partitions asked than the topic has", async () => {
    const { p, clock } = provider({ groupId: `${groupId}-none`, uncommitted: 'earliest', historySize: 2 });
    for (let i = 0; i < 3; i++) {
      await p.read(PARTITIONS + 2);
      clock.now += 1000;
    }
    assert.equal(p.snapshots().length, 2);
    const r = await p.read(PARTITIONS + 2);
    assert.deepEqual(
      [...r.partitions],
      [
        [0, { behind: 40, production: 0 }],
        [1, { behind: 30, production: 0 }],
        [2, { behind: 7, production: 0 }],
        [3, { behind: 5, production: 0 }],
        [4, {}],
        [5, {}],
      ],
    );
    assert.deepEqual(r.warnings, [
      `kafka ${topic}/${groupId}-none: the topic has 4 partitions, fewer than numPartitions 6: partitions 4-5 unknown`,
      `kafka ${topic}/${groupId}-none: no committed offset for partitions 0-3: behind counted from the log start`,
    ]);
  });

  test('a missing topic, an aborted read and an unreachable broker reject with a clear error', async () => {
    const { p } = provider({ topic: `metrics-provider-absent-${suffix}`, retries: 0 });
    await assert.rejects(
      p.read(1),
      new RegExp(
        `^Error: kafka metrics-provider-absent-${suffix}/${groupId}: topic metrics-provider-absent-${suffix} not found on the brokers \\(This server does not host this topic-partition\\)$`,
      ),
    );

    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(provider().p.read(1, aborted.signal), { name: 'AbortError' });

    const port = await closedPort();
    const { p: down } = provider({ brokers: [`127.0.0.1:${port}`], retries: 0, connectionTimeoutMs: 500 });
    await assert.rejects(
      down.read(1),
      new RegExp(
        `^MetricsReadError: kafka ${topic}/${groupId}: cannot connect to 127\\.0\\.0\\.1:${port}: connection refused \\(ECONNREFUSED\\)$`,
      ),
    );
  });
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
