// One metrics provider per Consumer, kept between reconciles (the Kafka provider computes rates
// from its own history), re-created when the Consumer's metrics settings change, and read at
// most once per minSyncPeriod — also across operator restarts, through status.lastSyncTime.
// The provider comes from the Consumer's metrics source (src/metrics/sources/). Credentials come
// from Secrets (credentials.ts), re-read with one GET each when a read is due and at most once
// per minSyncPeriod; the provider is re-created when a Secret's uid or resourceVersion changes.
import type { Consumer } from '../api/schema.js';
import type { AutoscaleConfig } from '../autoscale/config.js';
import {
  fromLastSyncState,
  noopObserver,
  type MetricsProvider,
  type MetricsReading,
  type ProviderObserver,
} from '../metrics/index.js';
import { buildCredentials, credentialsPlan, type MetricsCredentials } from '../metrics/credentials.js';
import { metricsSource } from '../metrics/sources/index.js';
import type { CredentialsPlan } from '../metrics/sources/source.js';
import { canonicalJson } from '../util/hash.js';
import { CredentialsError, loadCredentials, type SecretReader } from './credentials.js';

export interface MetricsSync {
  /** Read in this reconcile: decisions may be made from it. */
  fresh: boolean;
  reading: MetricsReading | undefined;
  /** Why no usable reading could be had. */
  error: string | undefined;
}

interface Entry {
  key: string;
  /** The Secrets the metrics settings name and how they become client options (walked once per settings). */
  plan: CredentialsPlan<MetricsCredentials>;
  /** Created when the first read is due (and its credentials could be read). */
  provider: MetricsProvider | undefined;
  lastReadAt: Date | undefined;
  /** The last read attempt, failed or not: reads are tried at most once per minSyncPeriod. */
  lastAttemptAt: Date | undefined;
  /** Why the last attempt failed, until one succeeds. */
  lastError?: string | undefined;
  reading: MetricsReading | undefined;
  /** The Secrets (uid and resourceVersion) the provider was built with. */
  credentialsVersion: string | undefined;
  /** When the Secrets were last read; they are read again at most once per minSyncPeriod. */
  credentialsCheckedAt: Date | undefined;
  /** Why they could not be had at credentialsCheckedAt. */
  credentialsError: CredentialsError | undefined;
}

const READ_TIMEOUT_MS = 20_000;

export class MetricsSources {
  private readonly entries = new Map<string, Entry>();

  /**
   * `observerFor` gives the hooks a Consumer's provider reports its requests to; `secrets` reads
   * the Secrets that hold credentials (without it, a Consumer that references one gets an error).
   */
  constructor(
    private readonly observerFor: (consumer: Consumer) => ProviderObserver = () => noopObserver,
    private readonly secrets?: SecretReader,
  ) {}

  async sync(consumer: Consumer, config: AutoscaleConfig, now: Date): Promise<MetricsSync> {
    const uid = consumer.metadata.uid;
    const section = consumer.spec.autoscaler[config.mode];
    const key = canonicalJson({ mode: config.mode, section });
    let entry = this.entries.get(uid);
    if (!entry || entry.key !== key) {
      await entry?.provider?.close?.().catch(() => undefined);
      entry = {
        key,
        plan: credentialsPlan(consumer.spec.autoscaler, config.mode),
        provider: undefined,
        ...warmStart(consumer),
        credentialsVersion: undefined,
        credentialsCheckedAt: undefined,
        credentialsError: undefined,
      };
      this.entries.set(uid, entry);
    }
    if (entry.lastAttemptAt && now.getTime() - entry.lastAttemptAt.getTime() < config.minSyncPeriodMs) {
      return { fresh: false, reading: entry.reading, error: entry.lastError };
    }
    // A read is due: the credentials first (when they are due too), then the read.
    const warnings: string[] = [];
    if (entry.plan.uses.length > 0) {
      const checked = entry.credentialsCheckedAt;
      if (!checked || now.getTime() - checked.getTime() >= config.minSyncPeriodMs) {
        await this.refreshCredentials(entry, consumer, config, now);
      }
      const failure = entry.credentialsError;
      if (failure && !(failure.transient && entry.provider)) {
        return { fresh: false, reading: entry.reading, error: failure.message };
      }
      // An API hiccup while re-reading: keep the credentials read before, and say so.
      if (failure) warnings.push(`${failure.message}; using the credentials read before`);
    } else if (!entry.provider) {
      // Nothing from Secrets: the client options are the section's own (e.g. TLS with the system CAs).
      const { credentials } = buildCredentials(consumer.metadata.namespace, entry.plan, new Map());
      entry.provider = await this.createProvider(consumer, config, credentials);
    }
    entry.lastAttemptAt = now;
    const deadline = AbortSignal.timeout(READ_TIMEOUT_MS);
    try {
      const reading = await entry.provider!.read(consumer.spec.numPartitions, deadline);
      if (warnings.length > 0) reading.warnings.push(...warnings);
      entry.reading = reading;
      entry.lastReadAt = now;
      entry.lastError = undefined;
      return { fresh: true, reading, error: undefined };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A source that hangs (a broker that accepts and never answers) is cut off by the deadline.
      entry.lastError = deadline.aborted
        ? `no answer within ${READ_TIMEOUT_MS / 1000} s (${message})`
        : message;
      return { fresh: false, reading: entry.reading, error: entry.lastError };
    }
  }

  /** Reads the Secrets; a new uid or resourceVersion (or the first read) re-creates the provider. */
  private async refreshCredentials(
    entry: Entry,
    consumer: Consumer,
    config: AutoscaleConfig,
    now: Date,
  ): Promise<void> {
    entry.credentialsCheckedAt = now;
    try {
      if (!this.secrets) throw new CredentialsError('credentials from Secrets are not available here', false);
      const loaded = await loadCredentials(this.secrets, consumer.metadata.namespace, entry.plan);
      entry.credentialsError = undefined;
      if (entry.provider && entry.credentialsVersion === loaded.version) return;
      await entry.provider?.close?.().catch(() => undefined);
      entry.provider = undefined;
      entry.provider = await this.createProvider(consumer, config, loaded.credentials);
      entry.credentialsVersion = loaded.version;
    } catch (error) {
      entry.credentialsError =
        error instanceof CredentialsError
          ? error
          : new CredentialsError(error instanceof Error ? error.message : String(error), true);
    }
  }

  /** The provider of the Consumer's metrics source, with the client options from its Secrets. */
  private createProvider(
    consumer: Consumer,
    config: AutoscaleConfig,
    credentials: MetricsCredentials,
  ): Promise<MetricsProvider> {
    return metricsSource(config.mode).create(
      consumer.spec.autoscaler[config.mode],
      credentials[config.mode],
      {
        consumerName: consumer.metadata.name,
        observer: this.observerFor(consumer),
      },
    );
  }

  /** When the next read is due, for requeueing. */
  nextReadInMs(consumer: Consumer, config: AutoscaleConfig, now: Date): number {
    const entry = this.entries.get(consumer.metadata.uid);
    const since = (t: Date) => config.minSyncPeriodMs - (now.getTime() - t.getTime());
    // Credentials that could not be read are tried again once per minSyncPeriod.
    const from = entry?.credentialsError ? entry.credentialsCheckedAt : entry?.lastAttemptAt;
    return from ? Math.max(0, since(from)) : config.minSyncPeriodMs;
  }

  async forget(uid: string): Promise<void> {
    const entry = this.entries.get(uid);
    this.entries.delete(uid);
    await entry?.provider?.close?.().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((uid) => this.forget(uid)));
  }

  uids(): string[] {
    return [...this.entries.keys()];
  }
}

/** After a restart, the last reading and its time come from status, so minSyncPeriod holds. */
function warmStart(consumer: Consumer): Pick<Entry, 'lastReadAt' | 'lastAttemptAt' | 'reading'> {
  const { lastSyncTime, lastSyncState } = consumer.status ?? {};
  const reading = fromLastSyncState(lastSyncState, lastSyncTime, consumer.spec.numPartitions);
  return reading
    ? { lastReadAt: reading.time, lastAttemptAt: reading.time, reading }
    : { lastReadAt: undefined, lastAttemptAt: undefined, reading: undefined };
}
