// Stand-in for danielqsj/kafka_exporter v1.9.0, which the Go module proxy does not serve (403 "not
// available"; see docs/testplane.md). Same metric names, labels and semantics (kafka_exporter.go,
// function collect), computed on every scrape from the broker's admin API (src/kafka/client.ts):
//
//   kafka_brokers, kafka_broker_info{id,address}
//   kafka_topic_partitions{topic}
//   kafka_topic_partition_{current_offset,oldest_offset,leader,replicas,in_sync_replica,
//                          leader_is_preferred,under_replicated_partition}{topic,partition}
//   kafka_consumergroup_members{consumergroup}
//   kafka_consumergroup_{current_offset,lag}{consumergroup,topic,partition}
//   kafka_consumergroup_{current_offset_sum,lag_sum}{consumergroup,topic}
//
// As upstream with --offset.show-all=true (its default): every group is asked for the committed
// offsets of every (filtered) topic, a topic is reported for a group when at least one of its
// partitions has a committed offset, a partition without one reports current_offset -1 and
// lag -1, and lag_sum leaves those out.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KafkaAdmin, kafkaErrorMessage, type ClusterInfo } from '../kafka/client.js';
import { Gauge, Registry } from 'prom-client';

export interface PartitionState {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  /** The log-end offset (high watermark); undefined when it could not be read. */
  newest?: number;
  oldest?: number;
}

export interface TopicState {
  topic: string;
  partitions: PartitionState[];
}

export interface GroupState {
  groupId: string;
  members: number;
  /** Committed offsets by topic; -1 for a partition without one. */
  offsets: Array<{ topic: string; partitions: Array<{ partition: number; offset: number }> }>;
}

export interface KafkaSnapshot {
  brokers: Array<{ id: number; address: string }>;
  topics: TopicState[];
  groups: GroupState[];
  /** What could not be read (left out of the metrics, as upstream logs and skips it). */
  errors?: string[];
}

export interface ExporterFilters {
  topicFilter?: RegExp;
  topicExclude?: RegExp;
  groupFilter?: RegExp;
  groupExclude?: RegExp;
}

/** kafka_exporter's defaults: every topic and group (`.*`), none excluded (`^$`). */
function accepts(name: string, filter: RegExp | undefined, exclude: RegExp | undefined): boolean {
  return (filter ?? /.*/).test(name) && !(exclude ?? /^$/).test(name);
}

/** Topics and their partitions' leaders and replicas, as the scrape uses them. */
export type TopicMetadata = ClusterInfo['topics'][number];

/**
 * Reads what one scrape reports: brokers, offsets and groups now; topics and partitions from
 * `topicMetadata`, which the caller refreshes every --refresh.metadata as upstream does.
 */
export async function readSnapshot(
  admin: KafkaAdmin,
  topicMetadata: readonly TopicMetadata[],
  filters: ExporterFilters = {},
): Promise<KafkaSnapshot> {
  const errors: string[] = [];
  const failed =
    <T>(what: string, empty: T) =>
    (err: unknown): T => {
      errors.push(`${what}: ${kafkaErrorMessage(err)}`);
      return empty;
    };
  const { brokers } = await admin.cluster([]);
  const selected = topicMetadata.filter((t) => accepts(t.name, filters.topicFilter, filters.topicExclude));
  const topics = await Promise.all(
    selected.map(async (t): Promise<TopicState> => {
      const offsets = await admin.topicOffsets(t.name).catch(failed(`offsets of topic ${t.name}`, []));
      const byPartition = new Map(offsets.map((o) => [o.partition, o]));
      return {
        topic: t.name,
        partitions: t.partitions
          .map((p) => {
            const o = byPartition.get(p.partition);
            return {
              partition: p.partition,
              leader: p.leader,
              replicas: p.replicas,
              isr: p.isr,
              ...(o ? { newest: o.high, oldest: o.low } : {}),
            };
          })
          .sort((a, b) => a.partition - b.partition),
      };
    }),
  );
  const overview = await admin.listGroups();
  const groupIds = overview
    .map((g) => g.groupId)
    .filter((id) => accepts(id, filters.groupFilter, filters.groupExclude))
    .sort();
  const members = await admin.groupMembers(groupIds);
  const counts = topics.map((t) => ({ name: t.topic, partitions: t.partitions.length }));
  const groups = await Promise.all(
    groupIds.map(async (groupId): Promise<GroupState> => {
      const committed = await admin
        .committedOffsetsOfTopics(groupId, counts)
        .catch(failed(`offsets of group ${groupId}`, new Map<string, Map<number, number>>()));
      return {
        groupId,
        members: members.get(groupId) ?? 0,
        offsets: [...committed].map(([topic, offsets]) => ({
          topic,
          partitions: Array.from(
            { length: counts.find((c) => c.name === topic)!.partitions },
            (_, partition) => ({
              partition,
              offset: offsets.get(partition) ?? -1,
            }),
          ),
        })),
      };
    }),
  );
  return { brokers, topics, groups, ...(errors.length ? { errors } : {}) };
}

/** The exposition text of one snapshot, in kafka_exporter's names and labels. */
export async function renderSnapshot(snapshot: KafkaSnapshot): Promise<string> {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });
  const brokers = gauge('kafka_brokers', 'Number of Brokers in the Kafka Cluster.', []);
  const brokerInfo = gauge('kafka_broker_info', 'Information about the Kafka Broker.', ['id', 'address']);
  const partitions = gauge('kafka_topic_partitions', 'Number of partitions for this Topic', ['topic']);
  const tp = ['topic', 'partition'] as const;
  const current = gauge(
    'kafka_topic_partition_current_offset',
    'Current Offset of a Broker at Topic/Partition',
    tp,
  );
  const oldest = gauge(
    'kafka_topic_partition_oldest_offset',
    'Oldest Offset of a Broker at Topic/Partition',
    tp,
  );
  const leader = gauge('kafka_topic_partition_leader', 'Leader Broker ID of this Topic/Partition', tp);
  const replicas = gauge('kafka_topic_partition_replicas', 'Number of Replicas for this Topic/Partition', tp);
  const isr = gauge(
    'kafka_topic_partition_in_sync_replica',
    'Number of In-Sync Replicas for this Topic/Partition',
    tp,
  );
  const preferred = gauge(
    'kafka_topic_partition_leader_is_preferred',
    '1 if Topic/Partition is using the Preferred Broker',
    tp,
  );
  const under = gauge(
    'kafka_topic_partition_under_replicated_partition',
    '1 if Topic/Partition is under Replicated',
    tp,
  );
  const members = gauge('kafka_consumergroup_members', 'Amount of members in a consumer group', [
    'consumergroup',
  ]);
  const gtp = ['consumergroup', 'topic', 'partition'] as const;
  const gt = ['consumergroup', 'topic'] as const;
  const groupOffset = gauge(
    'kafka_consumergroup_current_offset',
    'Current Offset of a ConsumerGroup at Topic/Partition',
    gtp,
  );
  const groupOffsetSum = gauge(
    'kafka_consumergroup_current_offset_sum',
    'Current Offset of a ConsumerGroup at Topic for all partitions',
    gt,
  );
  const lag = gauge(
    'kafka_consumergroup_lag',
    'Current Approximate Lag of a ConsumerGroup at Topic/Partition',
    gtp,
  );
  const lagSum = gauge(
    'kafka_consumergroup_lag_sum',
    'Current Approximate Lag of a ConsumerGroup at Topic for all partitions',
    gt,
  );

  brokers.set(snapshot.brokers.length);
  for (const b of snapshot.brokers) brokerInfo.set({ id: String(b.id), address: b.address }, 1);
  const newest = new Map<string, Map<number, number>>();
  for (const t of snapshot.topics) {
    partitions.set({ topic: t.topic }, t.partitions.length);
    const ends = new Map<number, number>();
    newest.set(t.topic, ends);
    for (const p of t.partitions) {
      const labels = { topic: t.topic, partition: String(p.partition) };
      leader.set(labels, p.leader);
      if (p.newest !== undefined) {
        current.set(labels, p.newest);
        ends.set(p.partition, p.newest);
      }
      if (p.oldest !== undefined) oldest.set(labels, p.oldest);
      replicas.set(labels, p.replicas.length);
      isr.set(labels, p.isr.length);
      preferred.set(labels, p.replicas[0] === p.leader ? 1 : 0);
      under.set(labels, p.isr.length < p.replicas.length ? 1 : 0);
    }
  }
  for (const g of snapshot.groups) {
    members.set({ consumergroup: g.groupId }, g.members);
    for (const t of g.offsets) {
      if (!t.partitions.some((p) => p.offset !== -1)) continue; // topic not consumed by this group
      let offsetSum = 0;
      let lagTotal = 0;
      for (const p of t.partitions) {
        const labels = { consumergroup: g.groupId, topic: t.topic, partition: String(p.partition) };
        offsetSum += p.offset;
        groupOffset.set(labels, p.offset);
        const end = newest.get(t.topic)?.get(p.partition);
        if (end === undefined) continue;
        const partitionLag = p.offset === -1 ? -1 : end - p.offset;
        if (p.offset !== -1) lagTotal += partitionLag;
        lag.set(labels, partitionLag);
      }
      groupOffsetSum.set({ consumergroup: g.groupId, topic: t.topic }, offsetSum);
      lagSum.set({ consumergroup: g.groupId, topic: t.topic }, lagTotal);
    }
  }
  return registry.metrics();
}

export interface KafkaExporterOptions extends ExporterFilters {
  brokers: string[];
  /** host:port to listen on; port 0 picks a free one. */
  listenAddress: string;
  /** Default /metrics. */
  telemetryPath?: string;
  /** How long topic metadata (topics, partitions, leaders) is reused; default 30 s as upstream. */
  metadataRefreshMs?: number;
}

export interface KafkaExporterServer {
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the metrics over HTTP. Concurrent scrapes share one collection, as upstream does unless
 * --concurrent.enable. A failed collection answers 500 (Prometheus then records up 0).
 */
export async function serveKafkaExporter(options: KafkaExporterOptions): Promise<KafkaExporterServer> {
  const connect = async () => {
    const admin = new KafkaAdmin({
      clientId: 'kafka_exporter',
      brokers: options.brokers,
      // A scrape must fail fast, not retry for half a minute: Prometheus gives it 1 s.
      retries: 1,
      requestTimeoutMs: 2000,
    });
    await admin.connect();
    return admin;
  };
  let admin: KafkaAdmin | undefined = await connect(); // like upstream: no exporter without a reachable cluster
  const refreshMs = options.metadataRefreshMs ?? 30_000;
  let metadata: TopicMetadata[] | undefined;
  let nextRefresh = 0;
  let inFlight: Promise<string> | undefined;
  /** After any error, the next scrape starts with a new client and fresh topic metadata. */
  const reset = () => {
    void admin?.close().catch(() => undefined);
    admin = undefined;
    metadata = undefined;
  };
  const collect = async (): Promise<string> => {
    try {
      admin ??= await connect();
      if (!metadata || Date.now() >= nextRefresh) {
        const names = await admin.listTopics();
        metadata = names.length ? (await admin.cluster(names)).topics : [];
        nextRefresh = Date.now() + refreshMs;
      }
      const snapshot = await readSnapshot(admin, metadata, options);
      if (snapshot.errors) {
        console.error(`kafka_exporter: ${snapshot.errors.join('; ')}; reconnecting`);
        reset();
      }
      return await renderSnapshot(snapshot);
    } catch (err) {
      reset();
      throw err;
    }
  };
  const path = options.telemetryPath ?? '/metrics';
  const server = http.createServer((req, res) => {
    if (req.url !== path) {
      res.writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/plain' });
      res.end(req.url === '/' ? `kafka_exporter stand-in: see ${path}\n` : 'not found\n');
      return;
    }
    inFlight ??= collect().finally(() => (inFlight = undefined));
    inFlight.then(
      (text) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  });
  const { host, port } = splitHostPort(options.listenAddress);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await admin?.close();
    },
  };
}

export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid listen address ${JSON.stringify(address)}: use host:port`);
  }
  return { host: address.slice(0, i) || '0.0.0.0', port };
}
