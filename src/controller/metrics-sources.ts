// One metrics provider per Consumer, kept between reconciles (the Kafka provider computes rates
// from its own history), re-created when the Consumer's metrics settings change, and read at
// most once per minSyncPeriod — also across operator restarts, through status.lastSyncTime.
// The provider comes from the Consumer's metrics source (src/metrics/sources/). Credentials come
// from Secrets (credentials.ts), re-read with one GET each when a read is due and at most once
// per minSyncPeriod; the provider is re-created when a Secret's uid or resourceVersion changes.
//
// Tenants choose the endpoints and minSyncPeriod, so reads are bounded by the operator: never more
// often than the operator's floor (ReadLimits.minSyncPeriodMs), at most `concurrency` at once
// shared fairly among namespaces (FairScheduler), and a read holds a reconcile worker for at most
// a second (five for a Consumer's first read, so new instances start from a prediction): past
// that it goes on in the background and its Consumer is reconciled again when it ends. A slow or
// hanging endpoint therefore delays its own Consumer, not the others.
import type { Consumer } from '../api/schema.js';
import type { AutoscaleConfig } from '../autoscale/config.js';
import {
  fromLastSyncState,
  noopObserver,
  type MetricsProvider,
  type MetricsReading,
  type ProviderObserver,
  reportValues,
} from '../metrics/index.js';
import { buildCredentials, credentialsPlan, type MetricsCredentials } from '../metrics/credentials.js';
import { metricsSource } from '../metrics/sources/index.js';
import type { CredentialsPlan } from '../metrics/sources/source.js';
import { canonicalJson } from '../util/hash.js';
import { FairScheduler } from '../util/fair-scheduler.js';
import type { Logger } from '../util/log.js';
import type { EndpointPolicy } from '../net/endpoint-policy.js';
import { MetricsReadError } from '../metrics/types.js';
import { CredentialsError, loadCredentials, type SecretReader } from './credentials.js';
import { DEFAULT_READ_LIMITS } from './tenant-defaults.js';

export interface MetricsSync {
  /** Read in this reconcile: decisions may be made from it. */
  fresh: boolean;
  reading: MetricsReading | undefined;
  /** Why no usable reading could be had. */
  error: string | undefined;
  /** Endpoints the endpoint policy refused in this read (messages for status and events). */
  denied?: readonly string[];
}

/** How the operator bounds the metrics reads tenants ask for. */
export interface ReadLimits {
  /** Reads are never more frequent than this, whatever a Consumer's minSyncPeriod (0: no floor). */
  minSyncPeriodMs: number;
  /** Reads running at once, shared fairly among namespaces. */
  concurrency: number;
}

export interface MetricsSourcesOptions {
  /** Reads the Secrets that hold credentials (without it, a Consumer that references one gets an error). */
  secrets?: SecretReader;
  limits?: Partial<ReadLimits>;
  /** Where Consumers' sources may connect; without one, anywhere. */
  endpointPolicy?: EndpointPolicy;
  /** A read that went on in the background ended: reconcile its Consumer again. */
  onReadDone?: (consumer: Consumer) => void;
  /** The operator's log, where what the servers said goes (never to status). */
  log?: Logger;
}

interface Entry {
  key: string;
  /** The Secrets the metrics settings name and how they become client options (walked once per settings). */
  plan: CredentialsPlan<MetricsCredentials>;
  /** Created when the first read is due (and its credentials could be read). */
  provider: MetricsProvider | undefined;
  /** The hooks the provider reports to; the controller's reads report there too. */
  observer?: ProviderObserver | undefined;
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
  /** The read running now (in the background once the reconcile stopped waiting for it). */
  inFlight?: Promise<MetricsSync> | undefined;
  /** A background read's result, not yet used by a reconcile. */
  completed?: MetricsSync | undefined;
  /** What was last logged about this source, so an unchanged failure is logged once. */
  logged?: string | undefined;
  /**
   * The settings changed and have not been read from yet: that read is due once the operator's
   * floor has passed since the last attempt (the Consumer's minSyncPeriod is not waited for).
   */
  newSettings?: boolean;
}

const READ_TIMEOUT_MS = 20_000;
/** How long a reconcile waits for a read before it goes on in the background. */
const INLINE_READ_WAIT_MS = 1000;
/** The same for a Consumer's first read: new instances start from its prediction. */
const FIRST_READ_WAIT_MS = 5000;

export { DEFAULT_READ_LIMITS } from './tenant-defaults.js';

export class MetricsSources {
  private readonly entries = new Map<string, Entry>();
  private readonly secrets: SecretReader | undefined;
  private readonly limits: ReadLimits;
  private readonly scheduler: FairScheduler;
  private readonly options: MetricsSourcesOptions;

  /**
   * `observerFor` gives the hooks a Consumer's provider reports its requests to. Without limits in
   * `options`, a Consumer's own minSyncPeriod is the only floor (library use and unit tests).
   */
  constructor(
    private readonly observerFor: (consumer: Consumer) => ProviderObserver = () => noopObserver,
    options: MetricsSourcesOptions | SecretReader = {},
  ) {
    this.options = 'read' in options ? { secrets: options } : options;
    this.secrets = this.options.secrets;
    this.limits = {
      minSyncPeriodMs: this.options.limits?.minSyncPeriodMs ?? 0,
      concurrency: this.options.limits?.concurrency ?? DEFAULT_READ_LIMITS.concurrency,
    };
    this.scheduler = new FairScheduler(this.limits.concurrency);
  }

  /** The time between two reads of this Consumer: its minSyncPeriod, at least the operator's floor. */
  periodMs(config: AutoscaleConfig): number {
    return Math.max(config.minSyncPeriodMs, this.limits.minSyncPeriodMs);
  }

  /** The time from the last attempt to the next read: the operator's floor alone for new settings. */
  private readPeriodMs(entry: Entry, config: AutoscaleConfig): number {
    return entry.newSettings ? this.limits.minSyncPeriodMs : this.periodMs(config);
  }

  /**
   * The Consumer's metrics settings changed and no read of them has ended yet: one is due within
   * the operator's floor (see nextReadInMs).
   */
  awaitsNewSettings(consumer: Consumer): boolean {
    const entry = this.entries.get(consumer.metadata.uid);
    return entry?.newSettings === true;
  }

  async sync(consumer: Consumer, config: AutoscaleConfig, now: Date): Promise<MetricsSync> {
    const uid = consumer.metadata.uid;
    const section = consumer.spec.autoscaler[config.mode];
    const key = canonicalJson({ mode: config.mode, section });
    let entry = this.entries.get(uid);
    if (!entry || entry.key !== key) {
      await entry?.provider?.close?.().catch(() => undefined);
      const previous = entry;
      entry = {
        key,
        plan: credentialsPlan(consumer.spec.autoscaler, config.mode),
        provider: undefined,
        ...warmStart(consumer),
        // Until the new settings are read, what the old ones read stands (as after a restart).
        ...(previous
          ? {
              lastAttemptAt: previous.lastAttemptAt,
              lastReadAt: previous.lastReadAt,
              reading: previous.reading,
              newSettings: true,
            }
          : {}),
        credentialsVersion: undefined,
        credentialsCheckedAt: undefined,
        credentialsError: undefined,
      };
      this.entries.set(uid, entry);
    }
    // A read that ended in the background: this reconcile decides from it.
    if (entry.completed) {
      const done = entry.completed;
      entry.completed = undefined;
      return done;
    }
    const period = this.readPeriodMs(entry, config);
    const due = !entry.lastAttemptAt || now.getTime() - entry.lastAttemptAt.getTime() >= period;
    if (entry.inFlight || !due) return this.stale(entry);
    const first = entry.lastAttemptAt === undefined && entry.reading === undefined;
    const current = entry;
    const read = this.scheduler.run(consumer.metadata.namespace, () =>
      this.readNow(current, consumer, config, now).finally(() => {
        current.newSettings = false;
      }),
    );
    entry.inFlight = read;
    const waited = await settledWithin(read, first ? FIRST_READ_WAIT_MS : INLINE_READ_WAIT_MS);
    if (waited) {
      entry.inFlight = undefined;
      return waited.value;
    }
    void read.then((result) => {
      if (this.entries.get(consumer.metadata.uid) !== current || current.inFlight !== read) return;
      current.inFlight = undefined;
      current.completed = result;
      this.options.onReadDone?.(consumer);
    });
    return this.stale(entry);
  }

  /** What is known between reads. */
  private stale(entry: Entry): MetricsSync {
    if (entry.reading === undefined && entry.lastError === undefined)
      return { fresh: false, reading: undefined, error: 'the first metrics read is still running' };
    return { fresh: false, reading: entry.reading, error: entry.lastError };
  }

  /** One read: the credentials when they are due, then the provider's read. Never rejects. */
  private async readNow(
    entry: Entry,
    consumer: Consumer,
    config: AutoscaleConfig,
    now: Date,
  ): Promise<MetricsSync> {
    const warnings: string[] = [];
    try {
      if (entry.plan.uses.length > 0) {
        const checked = entry.credentialsCheckedAt;
        if (!checked || now.getTime() - checked.getTime() >= this.periodMs(config)) {
          await this.refreshCredentials(entry, consumer, config, now);
        }
        const failure = entry.credentialsError;
        if (failure && !(failure.transient && entry.provider)) {
          entry.lastError = failure.message;
          return { fresh: false, reading: entry.reading, error: failure.message };
        }
        // An API hiccup while re-reading: keep the credentials read before, and say so.
        if (failure) warnings.push(`${failure.message}; using the credentials read before`);
      } else if (!entry.provider) {
        // Nothing from Secrets: the client options are the section's own (e.g. TLS with the system CAs).
        const { credentials } = buildCredentials(consumer.metadata.namespace, entry.plan, new Map());
        entry.provider = await this.createProvider(entry, consumer, config, credentials);
      }
    } catch (error) {
      // A provider that cannot be made from this section (a bug, or a check the schema missed):
      // tried again when the next read is due.
      const message = error instanceof Error ? error.message : String(error);
      entry.lastAttemptAt = now;
      entry.lastError = message;
      return { fresh: false, reading: entry.reading, error: message };
    }
    entry.lastAttemptAt = now;
    const deadline = AbortSignal.timeout(READ_TIMEOUT_MS);
    try {
      const reading = await entry.provider!.read(consumer.spec.numPartitions, deadline);
      if (entry.observer) reportValues(reading, consumer.spec.numPartitions, entry.observer);
      if (warnings.length > 0) reading.warnings.push(...warnings);
      entry.reading = reading;
      entry.lastReadAt = now;
      entry.lastError = undefined;
      this.logDetails(entry, consumer, reading.warnings.join('; '), reading.details ?? []);
      return {
        fresh: true,
        reading,
        error: undefined,
        ...(reading.denied?.length ? { denied: reading.denied } : {}),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A source that hangs (a broker that accepts and never answers) is cut off by the deadline.
      entry.lastError = deadline.aborted
        ? `no answer within ${READ_TIMEOUT_MS / 1000} s (${message})`
        : message;
      const readError = error instanceof MetricsReadError ? error : undefined;
      this.logDetails(entry, consumer, entry.lastError, readError?.details ?? []);
      return {
        fresh: false,
        reading: entry.reading,
        error: entry.lastError,
        ...(readError?.denied.length ? { denied: readError.denied } : {}),
      };
    }
  }

  /**
   * What the servers said (bounded, never in status) goes to the operator's log: at warn level
   * when it changed since the last read of this Consumer, else at debug.
   */
  private logDetails(entry: Entry, consumer: Consumer, summary: string, details: readonly string[]): void {
    const log = this.options.log;
    if (!log) return;
    if (details.length === 0) {
      entry.logged = undefined;
      return;
    }
    const key = `${summary}\n${details.join('\n')}`;
    const fields = {
      consumer: consumer.metadata.name,
      namespace: consumer.metadata.namespace,
      summary: summary.slice(0, 2000),
      details: details.slice(0, 10),
    };
    if (entry.logged === key) log.debug(fields, 'metrics source detail (unchanged)');
    else log.warn(fields, 'metrics source detail');
    entry.logged = key;
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
      entry.provider = await this.createProvider(entry, consumer, config, loaded.credentials);
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
    entry: Entry,
    consumer: Consumer,
    config: AutoscaleConfig,
    credentials: MetricsCredentials,
  ): Promise<MetricsProvider> {
    entry.observer = this.observerFor(consumer);
    return metricsSource(config.mode).create(
      consumer.spec.autoscaler[config.mode],
      credentials[config.mode],
      {
        consumerName: consumer.metadata.name,
        observer: entry.observer,
        ...(this.options.endpointPolicy ? { endpointPolicy: this.options.endpointPolicy } : {}),
      },
    );
  }

  /** When the next read is due, for requeueing. */
  nextReadInMs(consumer: Consumer, config: AutoscaleConfig, now: Date): number {
    const entry = this.entries.get(consumer.metadata.uid);
    const period = entry ? this.readPeriodMs(entry, config) : this.periodMs(config);
    const since = (t: Date) => period - (now.getTime() - t.getTime());
    // Credentials that could not be read are tried again once per minSyncPeriod.
    const from = entry?.credentialsError ? entry.credentialsCheckedAt : entry?.lastAttemptAt;
    return from ? Math.max(0, since(from)) : period;
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

/** The task's result if it settles within `ms`, else undefined (the task goes on). */
async function settledWithin<T>(task: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([task.then((value) => ({ value })), timeout]);
  } finally {
    clearTimeout(timer);
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
