// The Kafka provider: offsets straight from the brokers (src/kafka/client.ts), no Prometheus.
// Each read fetches the topic's log-start/log-end offsets and the group's committed offsets, adds
// them to a bounded history, and derives behind and rates from it (kafka-offsets.ts).
//
// What the Consumer's author reads (errors, warnings) names error codes only (kafkaErrorSummary);
// the library's full messages, which can quote the brokers, go to `details` for the operator's log.
import {
  KafkaAdmin,
  UnknownTopicError,
  checkKafkaOptions,
  kafkaErrorMessage,
  kafkaErrorSummary,
  type KafkaConnectionOptions,
} from '../kafka/client.js';
import { findEndpointDenied } from '../net/errors.js';
import { RequestAbortedError } from './http.js';
import { offsetMetrics, type OffsetSnapshot, type UncommittedPolicy } from './kafka-offsets.js';
import { checkNumPartitions, MetricsReadError, type MetricsProvider, type MetricsReading } from './types.js';

export type { UncommittedPolicy } from './kafka-offsets.js';
export type { KafkaSasl, KafkaTls } from '../kafka/client.js';

/** The connection (brokers, client id, timeouts, TLS, SASL, endpoint policy) and what to read. */
export interface KafkaProviderOptions extends KafkaConnectionOptions {
  topic: string;
  /** The consumer group whose committed offsets count as consumed. */
  groupId: string;
  /** Behind of partitions the group never committed (default `unknown`; see kafka-offsets.ts). */
  uncommitted?: UncommittedPolicy;
  /** Snapshots kept for rates (default 10, at least 2). */
  historySize?: number;
  /** Minimum span of a rate when the history allows (default 0: the two newest reads). */
  rateWindowMs?: number;
  clock?: () => Date;
}

const DETAIL_CHARS = 600;

/** The library's full message, for the operator's log. */
function detailOf(what: string, err: unknown): string {
  const text = `${what}: ${kafkaErrorMessage(err)}`;
  return text.length > DETAIL_CHARS ? `${text.slice(0, DETAIL_CHARS)}…` : text;
}

/** The endpoint refusals in these errors, as tenants read them. */
function deniedIn(...errors: unknown[]): string[] {
  return errors.flatMap((e) => {
    const denied = findEndpointDenied(e);
    return denied ? [denied.message] : [];
  });
}

export class KafkaProvider implements MetricsProvider {
  private readonly connection: KafkaConnectionOptions;
  private admin: KafkaAdmin | undefined;
  private connecting: Promise<KafkaAdmin> | undefined;
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
    const { brokers, clientId, connectionTimeoutMs, requestTimeoutMs, retries, tls, sasl, endpointPolicy } =
      options;
    this.connection = {
      brokers,
      ...(endpointPolicy ? { endpointPolicy } : {}),
      ...(clientId !== undefined ? { clientId } : {}),
      ...(connectionTimeoutMs !== undefined ? { connectionTimeoutMs } : {}),
      ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
      ...(retries !== undefined ? { retries } : {}),
      ...(tls !== undefined ? { tls } : {}),
      ...(sasl !== undefined ? { sasl } : {}),
    };
    checkKafkaOptions(this.connection);
  }

  async read(numPartitions: number, signal?: AbortSignal): Promise<MetricsReading> {
    checkNumPartitions(numPartitions);
    const time = this.clock();
    let admin: KafkaAdmin;
    try {
      admin = await abortable(this.connect(), signal);
    } catch (err) {
      if (err instanceof RequestAbortedError) throw err;
      this.drop();
      const what = `${this.label}: cannot connect to ${this.options.brokers.join(',')}`;
      throw new MetricsReadError(`${what}: ${kafkaErrorSummary(err)}`, [detailOf(what, err)], deniedIn(err), {
        cause: err,
      });
    }
    const [topicOffsets, groupOffsets] = await abortable(
      Promise.allSettled([
        admin.topicOffsets(this.options.topic),
        admin.committedOffsets(this.options.groupId, this.options.topic),
      ]),
      signal,
    ).catch((err: unknown) => {
      this.drop();
      throw err;
    });
    const warnings: string[] = [];
    const details: string[] = [];
    const snapshot: OffsetSnapshot = { time: time.getTime() };
    if (topicOffsets.status === 'fulfilled') {
      snapshot.logEnd = new Map(topicOffsets.value.map((o) => [o.partition, o.high]));
      snapshot.logStart = new Map(topicOffsets.value.map((o) => [o.partition, o.low]));
    }
    if (groupOffsets.status === 'fulfilled') snapshot.committed = groupOffsets.value;
    if (topicOffsets.status === 'rejected' && topicOffsets.reason instanceof UnknownTopicError) {
      this.drop();
      throw new Error(
        `${this.label}: topic ${this.options.topic} not found on the brokers (${topicOffsets.reason.brokerMessage})`,
      );
    }
    if (topicOffsets.status === 'rejected' && groupOffsets.status === 'rejected') {
      this.drop();
      const a = kafkaErrorSummary(topicOffsets.reason);
      const b = kafkaErrorSummary(groupOffsets.reason);
      throw new MetricsReadError(
        a === b
          ? `${this.label}: cannot read offsets: ${a}`
          : `${this.label}: cannot read the topic's offsets (${a}) nor the group's (${b})`,
        [
          detailOf(`${this.label}: topic offsets`, topicOffsets.reason),
          detailOf(`${this.label}: group offsets`, groupOffsets.reason),
        ],
        [...new Set(deniedIn(topicOffsets.reason, groupOffsets.reason))],
      );
    }
    const denied: string[] = [];
    if (topicOffsets.status === 'rejected') {
      warnings.push(
        `${this.label}: cannot read the topic's offsets: ${kafkaErrorSummary(topicOffsets.reason)}: behind and production unknown`,
      );
      details.push(detailOf(`${this.label}: topic offsets`, topicOffsets.reason));
      denied.push(...deniedIn(topicOffsets.reason));
      this.drop();
    }
    if (groupOffsets.status === 'rejected') {
      warnings.push(
        `${this.label}: cannot read the group's committed offsets: ${kafkaErrorSummary(groupOffsets.reason)}: behind and consumption unknown`,
      );
      details.push(detailOf(`${this.label}: group offsets`, groupOffsets.reason));
      denied.push(...deniedIn(groupOffsets.reason));
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
    return {
      time,
      partitions: metrics.partitions,
      warnings: [...warnings, ...metrics.warnings],
      ...(details.length ? { details } : {}),
      ...(denied.length ? { denied: [...new Set(denied)] } : {}),
    };
  }

  /** The snapshots kept (oldest first), e.g. for diagnostics. */
  snapshots(): readonly OffsetSnapshot[] {
    return this.history;
  }

  async close(): Promise<void> {
    const admin = this.admin ?? (await this.connecting?.catch(() => undefined));
    this.admin = undefined;
    this.connecting = undefined;
    await admin?.close().catch(() => {});
  }

  /** One connection, reused across reads; a new one after drop(). */
  private connect(): Promise<KafkaAdmin> {
    if (this.admin) return Promise.resolve(this.admin);
    if (!this.connecting) {
      const admin = new KafkaAdmin(this.connection);
      this.connecting = admin.connect().then(
        () => {
          this.admin = admin;
          this.connecting = undefined;
          return admin;
        },
        async (err: unknown) => {
          this.connecting = undefined;
          await admin.close().catch(() => {});
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
    void admin?.close().catch(() => {});
  }
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
