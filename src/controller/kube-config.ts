// Deadlines on every request to the API server. client-node 1.4.0 sets none: a request to an API
// server that accepts the connection and never answers (overloaded, half-dead, a broken network
// path) would hang forever, and with it a reconcile worker or an informer's relist. Its watch
// means to give up after 30 s but overwrites its own timeout signal, so a watch whose answer
// never starts would hang too.
import type { KubeConfig } from '@kubernetes/client-node';

export interface RequestDeadlines {
  /** Whole request, answer included (default 30 s). Not used for watches, which stream. */
  requestMs?: number;
  /** Until a watch's answer starts (default 30 s). */
  watchHeadersMs?: number;
}

export const DEFAULT_REQUEST_MS = 30_000;

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/**
 * The same configuration, with deadlines: client calls made from it (makeApiClient,
 * KubernetesObjectApi, Watch) fail with an abort or timeout error instead of hanging.
 */
export function withDeadlines(kubeConfig: KubeConfig, deadlines: RequestDeadlines = {}): KubeConfig {
  const requestMs = deadlines.requestMs ?? DEFAULT_REQUEST_MS;
  const watchHeadersMs = deadlines.watchHeadersMs ?? DEFAULT_REQUEST_MS;
  // Everything else (clusters, users, credentials refresh) is the original's.
  const wrapped = Object.create(kubeConfig) as KubeConfig;
  wrapped.applySecurityAuthentication = async (context: RequestContext) => {
    await kubeConfig.applySecurityAuthentication(context);
    if (!context.getSignal()) context.setSignal(AbortSignal.timeout(requestMs));
  };
  // Used by Watch: node-fetch's `timeout` bounds the wait for the answer's headers only.
  wrapped.applyToFetchOptions = async (opts) => {
    const options = await kubeConfig.applyToFetchOptions(opts);
    return { ...options, timeout: opts.timeout ?? watchHeadersMs };
  };
  return wrapped;
}
