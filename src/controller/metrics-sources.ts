// One metrics provider per Consumer, kept between reconciles (the Kafka provider computes rates
// from its own history), re-created when the Consumer's metrics settings change, and read at
// most once per minSyncPeriod — also across operator restarts, through status.lastSyncTime.
import type { Consumer } from '../api/schema.js';
import type { AutoscaleConfig } from '../autoscale/config.js';
import {
  createKafkaProvider,
  createPrometheusProvider,
  createStaticProvider,
  fromLastSyncState,
  noopObserver,
  type MetricsProvider,
  type MetricsReading,
  type ProviderObserver,
} from '../metrics/index.js';
import { canonicalJson } from '../plan/hash.js';

export interface MetricsSync {
  /** Read in this reconcile: decisions may be made from it. */
  fresh: boolean;
  reading: MetricsReading | undefined;
  /** Why no usable reading could be had. */
  error: string | undefined;
}

interface Entry {
  key: string;
  provider: MetricsProvider;
  lastReadAt: Date | undefined;
  reading: MetricsReading | undefined;
}

const READ_TIMEOUT_MS = 20_000;

function createProvider(
  consumer: Consumer,
  config: AutoscaleConfig,
  observer: ProviderObserver,
): MetricsProvider {
  const autoscaler = consumer.spec.autoscaler;
  if (config.mode === 'prometheus') {
    const p = autoscaler.prometheus!;
    return createPrometheusProvider({
      addresses: p.address,
      offset: p.offset,
      production: p.production,
      consumption: p.consumption,
      observer,
    });
  }
  if (config.mode === 'kafka') {
    const k = autoscaler.kafka!;
    return createKafkaProvider({
      brokers: k.brokers,
      topic: k.topic,
      groupId: k.groupId,
      clientId: `konsumerator-${consumer.metadata.name}`,
    });
  }
  return createStaticProvider({ partitions: autoscaler.static!.partitions });
}

export class MetricsSources {
  private readonly entries = new Map<string, Entry>();

  /** `observerFor` gives the hooks a Consumer's provider reports its requests to. */
  constructor(private readonly observerFor: (consumer: Consumer) => ProviderObserver = () => noopObserver) {}

  async sync(consumer: Consumer, config: AutoscaleConfig, now: Date): Promise<MetricsSync> {
    const uid = consumer.metadata.uid;
    const section = consumer.spec.autoscaler[config.mode];
    const key = canonicalJson({ mode: config.mode, section });
    let entry = this.entries.get(uid);
    if (!entry || entry.key !== key) {
      await entry?.provider.close?.().catch(() => undefined);
      entry = {
        key,
        provider: createProvider(consumer, config, this.observerFor(consumer)),
        ...warmStart(consumer),
      };
      this.entries.set(uid, entry);
    }
    if (entry.lastReadAt && now.getTime() - entry.lastReadAt.getTime() < config.minSyncPeriodMs) {
      return { fresh: false, reading: entry.reading, error: undefined };
    }
    try {
      const reading = await entry.provider.read(
        consumer.spec.numPartitions,
        AbortSignal.timeout(READ_TIMEOUT_MS),
      );
      entry.reading = reading;
      entry.lastReadAt = now;
      return { fresh: true, reading, error: undefined };
    } catch (error) {
      return {
        fresh: false,
        reading: entry.reading,
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }

  /** When the next read is due, for requeueing. */
  nextReadInMs(consumer: Consumer, config: AutoscaleConfig, now: Date): number {
    const entry = this.entries.get(consumer.metadata.uid);
    if (!entry?.lastReadAt) return config.minSyncPeriodMs;
    return Math.max(0, config.minSyncPeriodMs - (now.getTime() - entry.lastReadAt.getTime()));
  }

  async forget(uid: string): Promise<void> {
    const entry = this.entries.get(uid);
    this.entries.delete(uid);
    await entry?.provider.close?.().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((uid) => this.forget(uid)));
  }

  uids(): string[] {
    return [...this.entries.keys()];
  }
}

/** After a restart, the last reading and its time come from status, so minSyncPeriod holds. */
function warmStart(consumer: Consumer): Pick<Entry, 'lastReadAt' | 'reading'> {
  const { lastSyncTime, lastSyncState } = consumer.status ?? {};
  const reading = fromLastSyncState(lastSyncState, lastSyncTime, consumer.spec.numPartitions);
  return reading ? { lastReadAt: reading.time, reading } : { lastReadAt: undefined, reading: undefined };
}
