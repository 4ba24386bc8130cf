// An example consumer for konsumerator, with @platformatic/kafka. It reads exactly the partitions
// the operator gives its instance (KONSUMERATOR_PARTITION, e.g. "0,1,2") with Fetch requests to
// their leaders: it never joins the consumer group, so there are no rebalances. It starts each
// partition at the group's committed offset, commits what it has processed under the group id
// the operator's metrics read, every COMMIT_INTERVAL_MS and once more on SIGTERM, and exits.
//
// Environment: KAFKA_BROKERS (host:port[,host:port]), KAFKA_TOPIC, KAFKA_GROUP from the
// Consumer's deploymentTemplate; KONSUMERATOR_* from the operator (PARTITION_ENV names another
// variable when the Consumer sets partitionEnvKey).
//
// Output: one JSON line per event on stdout (start, progress every PROGRESS_INTERVAL_MS, stop).
// Runs on Node.js ≥ 22.18 as it is (`node consumer.ts`: the types are stripped).
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, Consumer } from '@platformatic/kafka';

interface Config {
  brokers: string[];
  topic: string;
  group: string;
  partitions: number[];
  instance: string;
  commitIntervalMs: number;
  progressIntervalMs: number;
  workPerMessageMs: number;
}

function emit(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...fields, time: new Date().toISOString() })}\n`);
}

function loadConfig(): Config {
  const env = process.env;
  const brokers = (env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  const topic = env.KAFKA_TOPIC ?? '';
  const group = env.KAFKA_GROUP ?? '';
  if (brokers.length === 0 || !topic || !group)
    throw new Error('KAFKA_BROKERS, KAFKA_TOPIC and KAFKA_GROUP are required');
  // The partition list: "0,1,2". An instance always has at least one partition.
  const key = env.PARTITION_ENV || 'KONSUMERATOR_PARTITION';
  const list = env[key] ?? '';
  const partitions = list.split(',').map((p) => Number(p.trim()));
  if (!list || partitions.some((p) => !Number.isInteger(p) || p < 0))
    throw new Error(`${key}=${JSON.stringify(list)}: not a comma-separated list of partition numbers`);
  const number = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number ≥ 0`);
    return value;
  };
  return {
    brokers,
    topic,
    group,
    partitions,
    instance: env.KONSUMERATOR_INSTANCE ?? '',
    commitIntervalMs: number('COMMIT_INTERVAL_MS', 1000),
    progressIntervalMs: number('PROGRESS_INTERVAL_MS', 1000),
    workPerMessageMs: number('WORK_PER_MESSAGE_MS', 0),
  };
}

/** Per partition: the next offset to read, messages processed, the last offset committed. */
class Progress {
  readonly next = new Map<number, bigint>();
  readonly consumed = new Map<number, number>();
  readonly committed = new Map<number, bigint>();

  snapshot(event: string): Record<string, unknown> {
    const obj = <V>(m: Map<number, V>) =>
      Object.fromEntries([...m].map(([p, v]) => [String(p), typeof v === 'bigint' ? Number(v) : v]));
    const total = [...this.consumed.values()].reduce((a, b) => a + b, 0);
    return {
      event,
      consumed: obj(this.consumed),
      committed: obj(this.committed),
      total,
      partitionsSeen: [...this.consumed.keys()].sort((a, b) => a - b),
    };
  }
}

const OFFSET_OUT_OF_RANGE = 1;

async function main(): Promise<void> {
  const config = loadConfig();
  const connection = { clientId: `node-consumer-${config.instance}`, bootstrapBrokers: config.brokers };
  const admin = new Admin(connection);
  // A Consumer is only used for its Fetch requests: consume() would join the group.
  const consumer = new Consumer({ ...connection, groupId: config.group });
  const progress = new Progress();
  const stopping = new AbortController();
  process.once('SIGTERM', () => stopping.abort());
  process.once('SIGINT', () => stopping.abort());

  // Start where the group left off; a partition the group never committed starts at the log
  // start (the equivalent of auto.offset.reset=earliest).
  const [committed] = await admin.listConsumerGroupOffsets({
    groups: [
      { groupId: config.group, topics: [{ name: config.topic, partitionIndexes: config.partitions }] },
    ],
  });
  const earliest = await consumer.listOffsets({
    topics: [config.topic],
    partitions: { [config.topic]: config.partitions },
    timestamp: -2n,
  });
  const logStart = earliest.get(config.topic) ?? [];
  for (const p of config.partitions) {
    const stored = committed?.topics
      .find((t) => t.name === config.topic)
      ?.partitions.find((x) => x.partitionIndex === p)?.committedOffset;
    if (stored !== undefined && stored >= 0n) {
      progress.next.set(p, stored);
      progress.committed.set(p, stored);
    } else progress.next.set(p, logStart[p] ?? 0n);
  }
  emit({
    event: 'start',
    instance: config.instance,
    partitions: config.partitions,
    numPartitions: Number(process.env.KONSUMERATOR_NUM_PARTITIONS ?? 0),
    numInstances: Number(process.env.KONSUMERATOR_NUM_INSTANCES ?? 0),
    // Node has no GOMAXPROCS: the CPU limit bounds how much one event loop (plus the thread pool)
    // can use. See docs/writing-a-consumer.md for threads and memory.
    availableParallelism: availableParallelism(),
  });

  const commit = async () => {
    const moved = config.partitions.filter((p) => progress.next.get(p) !== progress.committed.get(p));
    if (moved.length === 0) return;
    const offsets = moved.map((p) => ({ partition: p, offset: progress.next.get(p)! }));
    try {
      // A "simple" commit (no member, generation -1): Kafka accepts it for a group without members.
      await admin.alterConsumerGroupOffsets({
        groupId: config.group,
        topics: [{ name: config.topic, partitionOffsets: offsets }],
      });
      for (const { partition, offset } of offsets) progress.committed.set(partition, offset);
    } catch (error) {
      emit({ event: 'commit-error', error: String(error) });
    }
  };
  const commitTimer = setInterval(() => void commit(), config.commitIntervalMs);
  const progressTimer = setInterval(() => emit(progress.snapshot('progress')), config.progressIntervalMs);

  try {
    while (!stopping.signal.aborted) {
      const metadata = await consumer.metadata({ topics: [config.topic] });
      const topic = metadata.topics.get(config.topic);
      if (!topic) throw new Error(`topic ${config.topic} not found`);
      // One Fetch per leader broker, for the partitions it leads.
      const byLeader = new Map<number, number[]>();
      for (const p of config.partitions) {
        const leader = topic.partitions[p]?.leader ?? -1;
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
      }
      let fetched = 0;
      for (const [leader, partitions] of byLeader) {
        if (leader < 0) continue;
        const response = await consumer.fetch({
          node: leader,
          maxWaitTime: 500,
          minBytes: 1,
          maxBytes: 4 * 1024 * 1024,
          topics: [
            {
              topicId: topic.id,
              partitions: partitions.map((partition) => ({
                partition,
                currentLeaderEpoch: topic.partitions[partition]!.leaderEpoch,
                fetchOffset: progress.next.get(partition)!,
                lastFetchedEpoch: -1,
                partitionMaxBytes: 1024 * 1024,
              })),
            },
          ],
        });
        for (const part of response.responses.flatMap((t) => t.partitions)) {
          const p = part.partitionIndex;
          if (!config.partitions.includes(p)) continue;
          if (part.errorCode === OFFSET_OUT_OF_RANGE) {
            progress.next.set(p, part.logStartOffset); // the messages were deleted: go on from the oldest left
            continue;
          }
          if (part.errorCode !== 0) {
            emit({ event: 'fetch-error', partition: p, code: part.errorCode });
            continue;
          }
          for (const batch of part.records ?? []) {
            for (const record of batch.records) {
              const offset = batch.firstOffset + BigInt(record.offsetDelta);
              if (offset < progress.next.get(p)!) continue; // a batch may start before the offset asked for
              if (config.workPerMessageMs > 0) await sleep(config.workPerMessageMs);
              progress.next.set(p, offset + 1n);
              progress.consumed.set(p, (progress.consumed.get(p) ?? 0) + 1);
              fetched++;
            }
          }
        }
      }
      if (fetched === 0 && !stopping.signal.aborted)
        await sleep(100, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  } finally {
    // SIGTERM: stop fetching, commit what was processed, and leave within the grace period.
    clearInterval(commitTimer);
    clearInterval(progressTimer);
    await commit();
    emit(progress.snapshot('stop'));
    await consumer.close();
    await admin.close();
  }
}

main().catch((error: unknown) => {
  emit({ event: 'error', error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
