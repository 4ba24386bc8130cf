// Lease-based leader election in the way of client-go's leaderelection package (which
// controller-runtime uses): one Lease object; the holder renews it every retry period; others
// take it over once it has not been renewed for the lease duration, measured on their own clock
// from when they last saw it change (so clocks of different machines need not agree).
// Written by hand: @kubernetes/client-node has no leader election.
import type { V1Lease } from '@kubernetes/client-node';
import { microTime, type KubeClient } from '../kube/client.js';
import { describeApiError } from './kube.js';
import type { Logger } from '../util/log.js';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  /** The Lease's name; the original used `konsumerator-global`. */
  name: string;
  identity: string;
  /** controller-runtime's defaults: 15 s, 10 s, 2 s. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
}

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

/** Resolves after `ms` or on abort; removes its abort listener either way (it runs every retry period). */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => (clearTimeout(timer), resolve());
    const timer = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class LeaderElector {
  private readonly api: KubeClient;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  /** The Lease as last seen, and when (local clock) its holder or renew time last changed. */
  private observed: V1Lease | undefined;
  private observedAt = 0;
  private leading = false;

  constructor(private readonly options: LeaderElectionOptions) {
    this.api = options.client;
    this.leaseMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Waits until this process holds the Lease, then renews it until `signal` aborts (resolves
   * 'stopped') or a renewal cannot be made within the renew deadline (resolves 'lost').
   */
  async run(onStartedLeading: () => void, signal: AbortSignal): Promise<'stopped' | 'lost'> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) await sleep(this.retryMs, signal);
    if (signal.aborted) return 'stopped';
    this.leading = true;
    this.options.log.info({ lease: this.options.name, identity: this.options.identity }, 'became leader');
    onStartedLeading();
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(this.retryMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.renewDeadlineMs) {
        this.leading = false;
        this.options.log.error({ lease: this.options.name }, 'leader election lost');
        return 'lost';
      }
    }
    return 'stopped';
  }

  /** Gives the Lease up at once (on graceful shutdown), so another process need not wait for it to expire. */
  async release(): Promise<void> {
    if (!this.leading || !this.observed) return;
    this.leading = false;
    const lease = structuredClone(this.observed);
    lease.spec = {
      ...lease.spec,
      holderIdentity: '',
      leaseDurationSeconds: 1,
      renewTime: microTime() as unknown as Date,
    };
    try {
      await this.api.replace(this.path(), lease);
      this.options.log.info({ lease: this.options.name }, 'released leadership');
    } catch (error) {
      this.options.log.warn({ err: describeApiError(error).message }, 'could not release the lease');
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    // V1Lease types the times as Date; the API server wants MicroTime's six fraction digits.
    const now = microTime() as unknown as Date;
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    let current: V1Lease;
    try {
      current = await this.api.get<V1Lease>(this.path());
    } catch (error) {
      if (describeApiError(error).code !== 404) return this.failed(error);
      try {
        this.remember(
          await this.api.create<V1Lease>(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec,
          }),
        );
        return true;
      } catch (createError) {
        return this.failed(createError);
      }
    }
    this.remember(current);
    const holder = current.spec?.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== identity;
    const durationMs = (current.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (heldByOther && this.observedAt + durationMs > Date.now()) return false;
    const renewed: V1Lease = {
      ...current,
      spec: {
        ...current.spec,
        holderIdentity: identity,
        leaseDurationSeconds: spec.leaseDurationSeconds,
        renewTime: now,
        ...(holder === identity
          ? {}
          : { acquireTime: now, leaseTransitions: (current.spec?.leaseTransitions ?? 0) + (holder ? 1 : 0) }),
      },
    };
    try {
      // The resourceVersion in `renewed` makes this a compare-and-swap: two candidates never both win.
      this.remember(await this.api.replace<V1Lease>(this.path(), renewed));
      return true;
    } catch (error) {
      return this.failed(error);
    }
  }

  private path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases/${this.options.name}`;
  }

  private remember(lease: V1Lease): void {
    const key = (l: V1Lease | undefined) =>
      `${l?.spec?.holderIdentity}/${l?.spec?.renewTime?.toString()}/${l?.metadata?.resourceVersion}`;
    if (key(lease) !== key(this.observed)) this.observedAt = Date.now();
    this.observed = lease;
  }

  private failed(error: unknown): false {
    const { code, message } = describeApiError(error);
    if (code !== 409) this.options.log.warn({ code, err: message }, 'leader election request failed');
    return false;
  }
}
