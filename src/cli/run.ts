// `konsumerator run`: the operator until SIGINT/SIGTERM.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Operator } from '../controller/operator.js';
import { EndpointPolicy } from '../net/endpoint-policy.js';
import { createLogger } from '../util/log.js';
import { parseDuration } from '../util/units.js';
import { loadClusterAccess } from '../kube/config.js';
import { DEFAULT_NAMESPACE, VERSION } from './version.js';

export interface RunOptions {
  kubeconfig?: string;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  workers: string;
  resync: string;
  logLevel: string;
  leaderElect?: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId?: string;
  leaderElectLeaseDuration: string;
  leaderElectRenewDeadline: string;
  leaderElectRetryPeriod: string;
  /** Guest mode: only this namespace, Consumers from its annotated ConfigMaps. */
  namespace?: string;
  /** How long a resize may stay Deferred before InPlaceOrRollout rolls the instance out. */
  resizePendingTimeout: string;
  /** Endpoint policy rules (each value may hold several, comma-separated). */
  allowEndpoints?: string[];
  denyEndpoints?: string[];
  maxInstancesPerConsumer: string;
  maxConsumersPerNamespace: string;
  minSyncPeriod: string;
  metricsReadConcurrency: string;
  /** Webhook targets (repeatable). */
  notifyUrl?: string[];
  notifyHeader?: string[];
  notifyTimeout: string;
  notifyQueueSize: string;
}

function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return n;
}

/**
 * The Lease, as the original named it: `konsumerator-global`, or `konsumerator-<ns>` in guest mode,
 * where it lives in the watched namespace (the only one the guest Role covers).
 */
export function leaseOf(
  options: Pick<RunOptions, 'namespace' | 'leaderElectionNamespace' | 'leaderElectionId'>,
  podNamespace = process.env.POD_NAMESPACE,
): { namespace: string; name: string } {
  const guest = options.namespace || undefined;
  return {
    namespace: options.leaderElectionNamespace || guest || podNamespace || DEFAULT_NAMESPACE,
    name: options.leaderElectionId || `konsumerator-${guest ?? 'global'}`,
  };
}

/** The three durations of leader election, checked as client-go checks them. */
function electionTimings(options: RunOptions) {
  const leaseDurationMs = parseDuration(options.leaderElectLeaseDuration);
  const renewDeadlineMs = parseDuration(options.leaderElectRenewDeadline);
  const retryPeriodMs = parseDuration(options.leaderElectRetryPeriod);
  if (!(retryPeriodMs > 0 && renewDeadlineMs > retryPeriodMs && leaseDurationMs > renewDeadlineMs))
    throw new Error(
      'leader election needs 0 < --leader-elect-retry-period < --leader-elect-renew-deadline < --leader-elect-lease-duration',
    );
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

export async function runOperator(options: RunOptions): Promise<void> {
  const log = createLogger(options.logLevel);
  const workers = positiveInteger('--workers', options.workers);
  const operator = new Operator({
    kubeConfig: loadClusterAccess(options.kubeconfig),
    log,
    version: VERSION,
    workers,
    resyncMs: parseDuration(options.resync),
    resizePendingBoundMs: parseDuration(options.resizePendingTimeout),
    metricsAddress: options.metricsBindAddress || undefined,
    healthAddress: options.healthProbeBindAddress || undefined,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    endpointPolicy: EndpointPolicy.fromFlags(options.allowEndpoints, options.denyEndpoints),
    limits: {
      maxInstancesPerConsumer: positiveInteger(
        '--max-instances-per-consumer',
        options.maxInstancesPerConsumer,
      ),
      maxConsumersPerNamespace: positiveInteger(
        '--max-consumers-per-namespace',
        options.maxConsumersPerNamespace,
      ),
    },
    notifyUrls: options.notifyUrl ?? [],
    notifyHeaders: options.notifyHeader ?? [],
    notifyOptions: {
      timeoutMs: parseDuration(options.notifyTimeout),
      queueCapacity: positiveInteger('--notify-queue-size', options.notifyQueueSize),
    },
    readLimits: {
      minSyncPeriodMs: parseDuration(options.minSyncPeriod),
      concurrency: positiveInteger('--metrics-read-concurrency', options.metricsReadConcurrency),
    },
    ...(options.leaderElect
      ? {
          leaderElection: {
            ...leaseOf(options),
            identity: `${hostname()}_${randomUUID()}`,
            ...electionTimings(options),
          },
        }
      : {}),
  });
  process.on('unhandledRejection', (reason) => log.error({ err: String(reason) }, 'unhandled rejection'));
  await operator.start();
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await operator.stop();
}
