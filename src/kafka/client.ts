// The one place that talks to Kafka: a small adapter over @platformatic/kafka for what
// konsumerator needs (offsets of a topic and of a group, topics, groups, a producer, commits of a
// group that has no members, and a member of a group that subscribes, for the simulated group). Callers see plain numbers, Maps and our own option types, so
// the client library can change without touching them. Chosen over kafkajs on the evidence in
// docs/architecture.md (maintained, speaks Kafka 4's protocol versions, same offsets, and the
// figures of `npm run bench -- --only kafka-client`). The library is loaded on first use: it adds
// about 55 MiB to the process, which an operator without a `mode: kafka` Consumer never pays.
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type {
  Admin,
  BaseOptions,
  ClusterMetadata,
  Consumer,
  Producer,
  SASLOptions,
} from '@platformatic/kafka';
import type { EndpointPolicy } from '../net/endpoint-policy.js';
import { describeConnectionError, findEndpointDenied } from '../net/errors.js';
import { guardedContext } from './endpoint-guard.js';

type Library = typeof import('@platformatic/kafka');
let library: Promise<Library> | undefined;
const loadLibrary = (): Promise<Library> => (library ??= import('@platformatic/kafka'));

export interface KafkaTls {
  /** PEM CA bundle trusted for the brokers' certificates (replaces the system CAs). */
  ca?: string | Buffer;
  /** PEM client certificate and key, for mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true; false accepts any certificate (insecure). */
  rejectUnauthorized?: boolean;
  /** Name to verify the certificates against, when it differs from the broker host. */
  serverName?: string;
}

export interface KafkaSasl {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  username: string;
  password: string;
}

export interface KafkaConnectionOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Default `konsumerator`. */
  clientId?: string;
  /** TCP (and TLS) connect timeout (default 3000 ms). */
  connectionTimeoutMs?: number;
  /** Per-request timeout (default 10 000 ms). */
  requestTimeoutMs?: number;
  /** Retries of a failed request (default 2). */
  retries?: number;
  /** `true` for TLS with the system CAs, or the TLS settings. */
  tls?: boolean | KafkaTls;
  sasl?: KafkaSasl;
  /**
   * Where the client may connect, bootstrap and advertised brokers alike, checked after DNS
   * (endpoint-guard.ts); without one, anywhere.
   */
  endpointPolicy?: EndpointPolicy;
}

export interface PartitionOffsets {
  partition: number;
  /** Log-start offset (the earliest still stored). */
  low: number;
  /** Log-end offset (the next to be written). */
  high: number;
}

export interface PartitionMetadata {
  partition: number;
  /** Broker id of the leader (-1 when there is none). */
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface ClusterInfo {
  brokers: Array<{ id: number; address: string }>;
  topics: Array<{ name: string; partitions: PartitionMetadata[] }>;
}

export interface GroupSummary {
  groupId: string;
  /** Kafka's group state, e.g. `Stable`, `Empty`. */
  state: string;
  /** `consumer` for consumer groups; empty for groups that only store offsets. */
  protocolType: string;
}

/** The topic does not exist on the brokers. */
export class UnknownTopicError extends Error {
  /** The broker's answer: Kafka's description of its error code 3 (UNKNOWN_TOPIC_OR_PARTITION). */
  readonly brokerMessage = 'This server does not host this topic-partition';

  constructor(topic: string, cause?: unknown) {
    super(`topic ${topic} not found on the brokers`, { cause });
    this.name = 'UnknownTopicError';
  }
}

/** Throws when the options cannot make a client (no broker, an unsupported SASL mechanism). */
export function checkKafkaOptions(options: KafkaConnectionOptions): void {
  baseOptions(options, 'konsumerator');
}

const EARLIEST = -2n;
const LATEST = -1n;

/** The client library's connection options from ours. */
function baseOptions(options: KafkaConnectionOptions, defaultClientId: string): BaseOptions {
  if (options.brokers.length === 0) throw new Error('kafka: no broker given');
  const requestTimeout = options.requestTimeoutMs ?? 10_000;
  const base: BaseOptions = {
    clientId: options.clientId ?? defaultClientId,
    bootstrapBrokers: options.brokers,
    connectTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout,
    // What the brokers are given for their side of a request (the acks of a Produce, a topic's
    // creation): less than the client waits, so that their answer arrives before it gives up.
    timeout: Math.max(1000, requestTimeout - 2000),
    retries: options.retries ?? 2,
    retryDelay: 200,
  };
  if (options.tls) base.tls = options.tls === true ? {} : tlsOptions(options.tls);
  if (options.sasl) base.sasl = saslOptions(options.sasl);
  if (options.endpointPolicy) base.context = guardedContext(options.endpointPolicy, options.brokers);
  return base;
}

function tlsOptions(tls: KafkaTls): TlsConnectionOptions {
  return {
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    ...(tls.serverName !== undefined ? { servername: tls.serverName } : {}),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  };
}

function saslOptions(sasl: KafkaSasl): SASLOptions {
  const mechanisms = {
    plain: 'PLAIN',
    'scram-sha-256': 'SCRAM-SHA-256',
    'scram-sha-512': 'SCRAM-SHA-512',
  } as const;
  const mechanism = mechanisms[sasl.mechanism];
  if (!mechanism)
    throw new Error(
      `kafka: unsupported SASL mechanism ${JSON.stringify((sasl as { mechanism: unknown }).mechanism)}`,
    );
  return { mechanism, username: sasl.username, password: sasl.password };
}

/**
 * The message of an error from the client, with the reasons: the library wraps what went wrong
 * per partition or per attempt in AggregateErrors whose own message is generic.
 */
export function kafkaErrorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (!(err instanceof AggregateError) || err.errors.length === 0) return err.message;
  const reasons = new Set<string>();
  const visit = (e: unknown, depth: number) => {
    if (reasons.size >= 3) return;
    if (e instanceof AggregateError && e.errors.length > 0 && depth < 4) {
      for (const inner of e.errors) visit(inner, depth + 1);
    } else if (e instanceof Error) {
      const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
      reasons.add(`${e.message.replace(/\.$/, '')}${cause}`);
    } else reasons.add(String(e));
  };
  visit(err, 0);
  return `${err.message.replace(/\.$/, '')} (${[...reasons].join('; ')})`;
}

/** The library's fixed texts for network failures without a cause (they quote no server). */
const FIXED_NETWORK_TEXTS = new Set([
  'Connection closed',
  'Connection closed while waiting for ready.',
  'Connection pool is closed.',
  'Cannot get a connection: the broker is not available in the current cluster metadata.',
  'Client is closed.',
  'Request timed out',
]);

/** The library's user errors worth showing, by how their (fixed) text starts. */
const SHOWN_USER_ERRORS = ['TLS handshake failed', 'Broker requires TLS', 'SASL mechanism'];

/** One error of the library (not an aggregate) as tenants may read it. */
function safeReason(e: Error): string {
  const { code, apiId, apiCode } = e as { code?: unknown; apiId?: unknown; apiCode?: unknown };
  if (code === 'PLT_KFK_PROTOCOL' && typeof apiId === 'string' && /^[A-Z_]+$/.test(apiId))
    return `broker error ${apiId}${typeof apiCode === 'number' ? ` (${apiCode})` : ''}`;
  if (code === 'PLT_KFK_AUTHENTICATION') return 'SASL authentication failed';
  if (code === 'PLT_KFK_UNSUPPORTED_API') return 'the broker does not support a request the client needs';
  if (e.constructor.name === 'TimeoutError' && typeof code === 'string' && code.startsWith('PLT_KFK'))
    return 'timed out';
  if (code === 'PLT_KFK_USER') {
    const shown = SHOWN_USER_ERRORS.find((prefix) => e.message.startsWith(prefix));
    return shown ?? 'client error (PLT_KFK_USER)';
  }
  if (code === 'PLT_KFK_NETWORK' && FIXED_NETWORK_TEXTS.has(e.message)) return e.message.replace(/\.$/, '');
  if (typeof code === 'string' && code.startsWith('PLT_KFK')) return `client error (${code})`;
  return describeConnectionError(e, 'error');
}

/**
 * The error as the Consumer's author may read it: the library's error codes, broker error codes
 * and network error codes, never the library's messages, which can quote the broker (a SCRAM error
 * text, the host names a broker advertises). An endpoint the policy refused is named as such.
 * kafkaErrorMessage has the full text, for the operator's log.
 */
export function kafkaErrorSummary(err: unknown): string {
  const denied = findEndpointDenied(err);
  if (denied) return denied.message;
  const reasons = new Set<string>();
  const visit = (e: unknown, depth: number) => {
    if (reasons.size >= 3 || depth > 6) return;
    if (e instanceof AggregateError && e.errors.length > 0) {
      for (const inner of e.errors) visit(inner, depth + 1);
    } else if (e instanceof Error) {
      const cause = (e as { cause?: unknown }).cause;
      const code = (e as { code?: unknown }).code;
      // A network error's reason is its cause (ECONNREFUSED, a timeout, a TLS failure); our own
      // wrappers (KafkaError) carry the library's error as theirs.
      const wrapper = code === undefined && cause instanceof Error;
      const network =
        code === 'PLT_KFK_NETWORK' && cause instanceof Error && !FIXED_NETWORK_TEXTS.has(e.message);
      if (wrapper || network) visit(cause, depth + 1);
      else reasons.add(safeReason(e));
    } else reasons.add('error');
  };
  visit(err, 0);
  return [...reasons].join('; ') || 'error';
}

/** True when the error, or one it wraps, matches. */
function someError(err: unknown, matches: (e: Error) => boolean, depth = 0): boolean {
  if (depth > 6 || !(err instanceof Error)) return false;
  if (matches(err)) return true;
  if (err instanceof AggregateError && err.errors.some((inner) => someError(inner, matches, depth + 1)))
    return true;
  return someError(err.cause, matches, depth + 1);
}

/** True when the broker answered with this error (its name in the Kafka protocol) somewhere in `err`. */
function hasApiError(err: unknown, apiId: string): boolean {
  return someError(err, (e) => (e as { apiId?: unknown }).apiId === apiId);
}

/**
 * True when the error says the topic does not exist: the broker's UNKNOWN_TOPIC_OR_PARTITION, or
 * the library's own error for it after a metadata request.
 */
function isUnknownTopic(err: unknown): boolean {
  return (
    hasApiError(err, 'UNKNOWN_TOPIC_OR_PARTITION') ||
    someError(
      err,
      (e) => (e as { code?: unknown }).code === 'PLT_KFK_USER' && e.message.startsWith('Unknown topic '),
    )
  );
}

/**
 * An error of the client library as konsumerator reports it: the message names the reasons (see
 * kafkaErrorMessage); the library's error is the cause.
 */
export class KafkaError extends Error {
  constructor(err: unknown) {
    super(kafkaErrorMessage(err), { cause: err });
    this.name = 'KafkaError';
  }
}

/** Our error for a library error: UnknownTopicError when the topic is missing, else a KafkaError. */
function ours(err: unknown, topic?: string): Error {
  if (err instanceof UnknownTopicError || err instanceof KafkaError) return err;
  if (topic !== undefined && isUnknownTopic(err)) return new UnknownTopicError(topic, err);
  return new KafkaError(err);
}

/** Admin operations: offsets, topics, groups, and commits for a group without members. */
export class KafkaAdmin {
  private readonly options: BaseOptions;
  private client: Promise<Admin> | undefined;

  /** Checks the options now; connects on the first call. */
  constructor(options: KafkaConnectionOptions) {
    this.options = baseOptions(options, 'konsumerator');
  }

  /** Runs `f` with the library's client; its errors come out as ours (`topic`: the one `f` is about). */
  private async use<T>(f: (admin: Admin) => Promise<T>, topic?: string): Promise<T> {
    this.client ??= loadLibrary().then((l) => new l.Admin(this.options));
    try {
      return await f(await this.client);
    } catch (err) {
      throw ours(err, topic);
    }
  }

  /** Connects to the brokers (a metadata request without topics); later calls reuse the connection. */
  async connect(): Promise<void> {
    await this.use((admin) => admin.metadata({ topics: [], forceUpdate: true }));
  }

  /**
   * Partition count of a topic (from metadata at most 5 s old); UnknownTopicError when it does
   * not exist.
   */
  async partitionCount(topic: string): Promise<number> {
    const metadata = await this.use(
      (admin) => admin.metadata({ topics: [topic], autocreateTopics: false }),
      topic,
    );
    return metadata.topics.get(topic)!.partitionsCount;
  }

  /** Log-start and log-end offsets of every partition of a topic, by partition. */
  async topicOffsets(topic: string): Promise<PartitionOffsets[]> {
    const count = await this.partitionCount(topic);
    const partitions = Array.from({ length: count }, (_, p) => p);
    const [earliest, latest] = await this.use((admin) => {
      const list = (timestamp: bigint) =>
        admin.listOffsets({
          topics: [
            { name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) },
          ],
        });
      return Promise.all([list(EARLIEST), list(LATEST)]);
    }, topic);
    const low = new Map(earliest[0]?.partitions.map((o) => [o.partitionIndex, Number(o.offset)]));
    return (latest[0]?.partitions ?? [])
      .map((o) => ({
        partition: o.partitionIndex,
        low: low.get(o.partitionIndex) ?? 0,
        high: Number(o.offset),
      }))
      .sort((a, b) => a.partition - b.partition);
  }

  /**
   * The group's committed offsets of a topic's partitions `0..partitions-1` (all of the topic's
   * when not given); a partition the group never committed is absent.
   */
  async committedOffsets(groupId: string, topic: string, partitions?: number): Promise<Map<number, number>> {
    const count = partitions ?? (await this.partitionCount(topic));
    const byTopic = await this.committedOffsetsOfTopics(groupId, [{ name: topic, partitions: count }]);
    return byTopic.get(topic) ?? new Map();
  }

  /** The group's committed offsets of several topics, by topic; uncommitted partitions are absent. */
  async committedOffsetsOfTopics(
    groupId: string,
    topics: ReadonlyArray<{ name: string; partitions: number }>,
  ): Promise<Map<string, Map<number, number>>> {
    const out = new Map<string, Map<number, number>>(topics.map((t) => [t.name, new Map()]));
    if (topics.length === 0) return out;
    const [group] = await this.use((admin) =>
      admin.listConsumerGroupOffsets({
        groups: [
          {
            groupId,
            topics: topics.map((t) => ({
              name: t.name,
              partitionIndexes: Array.from({ length: t.partitions }, (_, p) => p),
            })),
          },
        ],
      }),
    );
    for (const t of group?.topics ?? []) {
      const committed = out.get(t.name);
      if (!committed) continue;
      for (const p of t.partitions)
        if (p.committedOffset >= 0n) committed.set(p.partitionIndex, Number(p.committedOffset));
    }
    return out;
  }

  /**
   * Sets the group's committed offsets, as a consumer that assigns its partitions by hand commits
   * them: the group must have no active members.
   */
  async commitOffsets(groupId: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void> {
    if (offsets.size === 0) return;
    const partitionOffsets = [...offsets].map(([partition, offset]) => ({
      partition,
      offset: BigInt(offset),
    }));
    await this.use(
      (admin) => admin.alterConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionOffsets }] }),
      topic,
    );
  }

  async listTopics(): Promise<string[]> {
    return this.use((admin) => admin.listTopics());
  }

  /**
   * Creates a topic (false when it already exists: it is left as it is) and waits until every
   * partition's leader answers for it: a producer sending right after creation would otherwise see
   * NOT_LEADER_OR_FOLLOWER on a large topic.
   */
  async createTopic(topic: string, partitions: number, timeoutMs = 60_000): Promise<boolean> {
    const created = await this.use(async (admin) => {
      try {
        await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
        return true;
      } catch (err) {
        if (hasApiError(err, 'TOPIC_ALREADY_EXISTS')) return false;
        throw err;
      }
    });
    const count = created ? partitions : await this.partitionCount(topic);
    const everyPartition = Array.from({ length: count }, (_, partitionIndex) => ({
      partitionIndex,
      timestamp: LATEST,
    }));
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.use((admin) =>
          admin.listOffsets({ topics: [{ name: topic, partitions: everyPartition }] }),
        );
        return created;
      } catch (err) {
        if (Date.now() > end)
          throw new Error(`kafka: topic ${topic} not ready after ${timeoutMs} ms: ${kafkaErrorMessage(err)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    await this.use((admin) => admin.deleteTopics({ topics }));
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    await this.use((admin) => admin.deleteGroups({ groups: groupIds }));
  }

  async listGroups(): Promise<GroupSummary[]> {
    const groups = await this.use((admin) => admin.listGroups());
    return [...groups.values()].map((g) => ({ groupId: g.id, state: g.state, protocolType: g.protocolType }));
  }

  /** Members of each group (0 for a group that only stores offsets). */
  async groupMembers(groupIds: string[]): Promise<Map<string, number>> {
    if (groupIds.length === 0) return new Map();
    const groups = await this.use((admin) => admin.describeGroups({ groups: groupIds }));
    return new Map([...groups.values()].map((g) => [g.id, g.members.size]));
  }

  /** Brokers and, for the given topics, each partition's leader, replicas and in-sync replicas. */
  async cluster(topics: string[]): Promise<ClusterInfo> {
    const metadata: ClusterMetadata = await this.use(
      (admin) => admin.metadata({ topics, forceUpdate: true, autocreateTopics: false }),
      topics.join(', '),
    );
    return {
      brokers: [...metadata.brokers].map(([id, b]) => ({ id, address: `${b.host}:${b.port}` })),
      topics: topics.flatMap((name) => {
        const topic = metadata.topics.get(name);
        if (!topic) return [];
        const partitions = topic.partitions.flatMap((p, partition) =>
          p ? [{ partition, leader: p.leader, replicas: [...p.replicas], isr: [...p.isr] }] : [],
        );
        return [{ name, partitions }];
      }),
    };
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.then(
      (c) => c.close(),
      () => undefined,
    );
  }
}

export interface ProducedMessage {
  partition: number;
  value: Buffer;
}

/** A producer that sends to explicit partitions (idempotent: a retried send is not written twice). */
export class KafkaProducer {
  private readonly options: BaseOptions;
  private client: Promise<Producer<Buffer, Buffer, Buffer, Buffer>> | undefined;

  /** Checks the options now; connects on the first send. */
  constructor(options: KafkaConnectionOptions) {
    this.options = baseOptions(options, 'konsumerator');
  }

  async send(topic: string, messages: readonly ProducedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    this.client ??= loadLibrary().then(
      (l) => new l.Producer<Buffer, Buffer, Buffer, Buffer>({ ...this.options, idempotent: true }),
    );
    const producer = await this.client;
    try {
      await producer.send({
        messages: messages.map((m) => ({ topic, partition: m.partition, value: m.value })),
      });
    } catch (err) {
      throw ours(err, topic);
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.then(
      (c) => c.close(),
      () => undefined,
    );
  }
}

export interface GroupMemberOptions extends KafkaConnectionOptions {
  groupId: string;
  topic: string;
  /** How long the coordinator waits for a silent member before it rebalances without it (default 10 s). */
  sessionTimeoutMs?: number;
  /** Heartbeat period (default 1 s): a rebalance reaches the member within about this long. */
  heartbeatIntervalMs?: number;
}

/**
 * A member of a consumer group that subscribes to one topic, as a consumer that lets Kafka assign
 * its partitions does (the classic protocol, the library's default assignor): it joins, follows
 * every rebalance (the library rejoins when a heartbeat says the group rebalances), and commits
 * offsets as the member of the current generation. It fetches no message: what it "consumes" is
 * up to the caller, which commits the progress.
 */
export class KafkaGroupMember {
  private readonly consumer: Promise<Consumer<Buffer, Buffer, Buffer, Buffer>>;
  private readonly topic: string;

  /** Checks the options now; joins in `join`. */
  constructor(options: GroupMemberOptions) {
    const base = baseOptions(options, 'konsumerator-group-member');
    const session = options.sessionTimeoutMs ?? 10_000;
    this.topic = options.topic;
    this.consumer = loadLibrary().then(
      (l) =>
        new l.Consumer<Buffer, Buffer, Buffer, Buffer>({
          ...base,
          groupId: options.groupId,
          autocommit: false,
          sessionTimeout: session,
          rebalanceTimeout: session,
          heartbeatInterval: options.heartbeatIntervalMs ?? 1000,
        }),
    );
  }

  /** Joins the group subscribed to the topic; resolves once the first assignment is known. */
  async join(): Promise<void> {
    const consumer = await this.consumer;
    consumer.topics.track(this.topic);
    try {
      await consumer.joinGroup({});
    } catch (err) {
      throw ours(err, this.topic);
    }
  }

  /** The partitions of the topic the group gives this member now (none before the join or during a rebalance's sync). */
  async assigned(): Promise<number[]> {
    const consumer = await this.consumer;
    const own = (consumer.assignments ?? []).find((a) => a.topic === this.topic);
    return [...(own?.partitions ?? [])].sort((a, b) => a - b);
  }

  /** Commits offsets of partitions it holds, as the member of the current generation. */
  async commit(offsets: ReadonlyMap<number, number>): Promise<void> {
    if (offsets.size === 0) return;
    const consumer = await this.consumer;
    try {
      await consumer.commit({
        offsets: [...offsets].map(([partition, offset]) => ({
          topic: this.topic,
          partition,
          offset: BigInt(offset),
          leaderEpoch: -1,
        })),
      });
    } catch (err) {
      throw ours(err, this.topic);
    }
  }

  /** Leaves the group (a rebalance gives its partitions to the others) and closes the connections. */
  async close(): Promise<void> {
    const consumer = await this.consumer.catch(() => undefined);
    await consumer?.close(true).catch(() => undefined);
  }
}
