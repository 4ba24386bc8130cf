// Deadlines on every request to the API server. client-node's generated API calls set none: a
// request to an API server that accepts the connection and never answers (overloaded, half-dead,
// a broken network path) would hang forever, and with it a reconcile worker or an informer's
// relist. Its Watch has a deadline of its own (a watch that receives nothing, not even its
// answer's headers, for 30 s is given up); the informers set it from here (see cache.ts).
import type { KubeConfig } from '@kubernetes/client-node';

export interface RequestDeadlines {
  /** Whole request, answer included (default 30 s). Not used for watches, which stream. */
  requestMs?: number;
  /** A watch that receives nothing for this long, its answer's headers included (default 30 s). */
  watchIdleMs?: number;
}

export const DEFAULT_REQUEST_MS = 30_000;

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

const watchIdle = new WeakMap<KubeConfig, number>();

/**
 * The same configuration, with deadlines: API calls made from it (makeApiClient,
 * KubernetesObjectApi) fail with an abort or timeout error instead of hanging, and the informers'
 * watches built on it use its watch deadline.
 */
export function withDeadlines(kubeConfig: KubeConfig, deadlines: RequestDeadlines = {}): KubeConfig {
  const requestMs = deadlines.requestMs ?? DEFAULT_REQUEST_MS;
  // Everything else (clusters, users, credentials refresh) is the original's.
  const wrapped = Object.create(kubeConfig) as KubeConfig;
  wrapped.applySecurityAuthentication = async (context: RequestContext) => {
    await kubeConfig.applySecurityAuthentication(context);
    // The Watch passes its own signal to fetch and ignores this one.
    if (!context.getSignal()) context.setSignal(AbortSignal.timeout(requestMs));
  };
  watchIdle.set(wrapped, deadlines.watchIdleMs ?? DEFAULT_REQUEST_MS);
  return wrapped;
}

/** The watch deadline of a configuration made by withDeadlines (default 30 s otherwise). */
export function watchIdleMs(kubeConfig: KubeConfig): number {
  return watchIdle.get(kubeConfig) ?? DEFAULT_REQUEST_MS;
}
