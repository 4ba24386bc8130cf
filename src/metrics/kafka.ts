// The Kafka provider: offsets straight from the brokers (kafkajs admin client), no Prometheus.
// Each read fetches the topic's log-start/log-end offsets and the group's committed offsets, adds
// them to a bounded history, and derives behind and rates from it (kafka-offsets.ts).
import { Kafka, logLevel as KafkaLogLevel, type Admin, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { RequestAbortedError } from './http.js';
import { offsetMetrics, type OffsetSnapshot, type UncommittedPolicy } from './kafka-offsets.js';
import { checkNumPartitions, errorMessage, type MetricsProvider, type MetricsReading } from './types.js';

export type { UncommittedPolicy } from './kafka-offsets.js';

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

export interface KafkaProviderOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  topic: string;
  /** The consumer group whose committed offsets count as consumed. */
  groupId: string;
  /** Default `konsumerator`. */
  clientId?: string;
  /** TCP connect timeout (default 3000 ms). */
  connectionTimeoutMs?: number;
  /** Per-request timeout (default 10 000 ms). */
  requestTimeoutMs?: number;
  /** Retries of a failed request by kafkajs (default 2). */
  retries?: number;
  /** `true` for TLS with the system CAs, or the TLS settings. */
  tls?: boolean | KafkaTls;
  sasl?: KafkaSasl;
  /** Behind of partitions the group never committed (default `unknown`; see kafka-offsets.ts). */
  uncommitted?: UncommittedPolicy;
  /** Snapshots kept for rates (default 10, at least 2). */
  historySize?: number;
  /** Minimum span of a rate when the history allows (default 0: the two newest reads). */
  rateWindowMs?: number;
  clock?: () => Date;
}

export class KafkaProvider implements MetricsProvider {
  private readonly kafka: Kafka;
  private admin: Admin | undefined;
  private connecting: Promise<Admin> | undefined;
  private history: OffsetSnapshot[] = [];
  private readonly historySize: number;
  private readonly clock: () => Date;
  private readonly label: string;

  constructor(private readonly options: KafkaProviderOptions) {
    if (options.brokers.length === 0) throw new Error('kafka: no broker given');
    if (!options.topic) throw new Error('kafka: no topic given');
    if (!options.groupId) throw new Error('kafka: no groupId given');
    this.historySize = Math.max(2, options.historySize ?? 10);
    this.clock = options.clock ?? (() => new Date());
    this.label = `kafka ${options.topic}/${options.groupId}`;
    const config: KafkaConfig = {
      clientId: options.clientId ?? 'konsumerator',
      brokers: options.brokers,
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      retry: { retries: options.retries ?? 2, initialRetryTime: 200, maxRetryTime: 5000 },
      // Problems reach the caller as rejections and warnings; kafkajs's own console logging is off.
      logLevel: KafkaLogLevel.NOTHING,
    };
    if (options.tls) config.ssl = options.tls === true ? true : tlsOptions(options.tls);
    if (options.sasl) config.sasl = saslOptions(options.sasl);
    this.kafka = new Kafka(config);
  }

  async read(numPartitions: number, signal?: AbortSignal): Promise<MetricsReading> {
    checkNumPartitions(numPartitions);
    const time = this.clock();
    let admin: Admin;
    try {
      admin = await abortable(this.connect(), signal);
    } catch (err) {
      if (err instanceof RequestAbortedError) throw err;
      this.drop();
      throw new Error(
        `${this.label}: cannot connect to ${this.options.brokers.join(',')}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    const [topicOffsets, groupOffsets] = await abortable(
      Promise.allSettled([
        admin.fetchTopicOffsets(this.options.topic),
        admin.fetchOffsets({ groupId: this.options.groupId, topics: [this.options.topic] }),
      ]),
      signal,
    ).catch((err: unknown) => {
      this.drop();
      throw err;
    });
    const warnings: string[] = [];
    const snapshot: OffsetSnapshot = { time: time.getTime() };
    if (topicOffsets.status === 'fulfilled') {
      snapshot.logEnd = new Map(topicOffsets.value.map((o) => [o.partition, Number(o.high)]));
      snapshot.logStart = new Map(topicOffsets.value.map((o) => [o.partition, Number(o.low)]));
    }
    if (groupOffsets.status === 'fulfilled') {
      const topic = groupOffsets.value.find((t) => t.topic === this.options.topic);
      snapshot.committed = new Map(
        (topic?.partitions ?? [])
          .filter((o) => Number(o.offset) >= 0)
          .map((o) => [o.partition, Number(o.offset)]),
      );
    }
    if (topicOffsets.status === 'rejected' && isUnknownTopic(topicOffsets.reason)) {
      this.drop();
      throw new Error(
        `${this.label}: topic ${this.options.topic} not found on the brokers (${errorMessage(topicOffsets.reason)})`,
      );
    }
    if (topicOffsets.status === 'rejected' && groupOffsets.status === 'rejected') {
      this.drop();
      const a = errorMessage(topicOffsets.reason);
      const b = errorMessage(groupOffsets.reason);
      throw new Error(
        a === b
          ? `${this.label}: cannot read offsets: ${a}`
          : `${this.label}: cannot read the topic's offsets (${a}) nor the group's (${b})`,
      );
    }
    if (topicOffsets.status === 'rejected') {
      warnings.push(
        `${this.label}: cannot read the topic's offsets: ${errorMessage(topicOffsets.reason)}: behind and production unknown`,
      );
      this.drop();
    }
    if (groupOffsets.status === 'rejected') {
      warnings.push(
        `${this.label}: cannot read the group's committed offsets: ${errorMessage(groupOffsets.reason)}: behind and consumption unknown`,
      );
      this.drop();
    }
    this.history.push(snapshot);
    if (this.history.length > this.historySize)
      this.history.splice(0, this.history.length - this.historySize);
    const metrics = offsetMetrics(
      this.history,
      numPartitions,
      {
        ...(this.options.uncommitted ? { uncommitted: this.options.uncommitted } : {}),
        ...(this.options.rateWindowMs !== undefined ? { rateWindowMs: this.options.rateWindowMs } : {}),
      },
      this.label,
    );
    return { time, partitions: metrics.partitions, warnings: [...warnings, ...metrics.warnings] };
  }

  /** The snapshots kept (oldest first), e.g. for diagnostics. */
  snapshots(): readonly OffsetSnapshot[] {
    return this.history;
  }

  async close(): Promise<void> {
    const admin = this.admin ?? (await this.connecting?.catch(() => undefined));
    this.admin = undefined;
    this.connecting = undefined;
    await admin?.disconnect().catch(() => {});
  }

  /** One admin connection, reused across reads; a new one after drop(). */
  private connect(): Promise<Admin> {
    if (this.admin) return Promise.resolve(this.admin);
    if (!this.connecting) {
      const admin = this.kafka.admin({ retry: { retries: this.options.retries ?? 2 } });
      this.connecting = admin.connect().then(
        () => {
          this.admin = admin;
          this.connecting = undefined;
          return admin;
        },
        async (err: unknown) => {
          this.connecting = undefined;
          await admin.disconnect().catch(() => {});
          throw err;
        },
      );
    }
    return this.connecting;
  }

  /** Forgets the connection after a failure; the next read reconnects. */
  private drop(): void {
    const admin = this.admin;
    this.admin = undefined;
    void admin?.disconnect().catch(() => {});
  }
}

function tlsOptions(tls: KafkaTls): NonNullable<Exclude<KafkaConfig['ssl'], boolean>> {
  return {
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    ...(tls.serverName !== undefined ? { servername: tls.serverName } : {}),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  };
}

function saslOptions(sasl: KafkaSasl): SASLOptions {
  switch (sasl.mechanism) {
    case 'plain':
    case 'scram-sha-256':
    case 'scram-sha-512':
      return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
    default:
      throw new Error(
        `kafka: unsupported SASL mechanism ${JSON.stringify((sasl as { mechanism: unknown }).mechanism)}`,
      );
  }
}

function isUnknownTopic(err: unknown): boolean {
  const type = (err as { type?: unknown } | undefined)?.type;
  return (
    type === 'UNKNOWN_TOPIC_OR_PARTITION' || /does not host this topic-partition/.test(errorMessage(err))
  );
}

/** `promise`, or a RequestAbortedError as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new RequestAbortedError('kafka: read aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new RequestAbortedError('kafka: read aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
