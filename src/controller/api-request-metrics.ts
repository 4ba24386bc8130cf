// Counts and times every request the operator makes to the API server (client-go's
// rest_client_* metrics). client-node sends its requests, watches included, with undici's fetch
// through the dispatcher its authentication step sets on the request; an undici interceptor on
// that dispatcher sees each request's method and origin and its answer's status.
import type { KubeConfig } from '@kubernetes/client-node';
import { getGlobalDispatcher, type Dispatcher } from 'undici';

/** An answer with `code` (undefined: none, the request failed) `seconds` after the request began. */
export type ApiRequestReport = (
  method: string,
  host: string,
  code: number | undefined,
  seconds: number,
) => void;

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/** The same configuration; requests made from it are reported to `report`. */
export function withRequestMetrics(kubeConfig: KubeConfig, report: ApiRequestReport): KubeConfig {
  const wrapped = Object.create(kubeConfig) as KubeConfig;
  const interceptor = reportingInterceptor(report);
  wrapped.applySecurityAuthentication = async (context: RequestContext) => {
    await kubeConfig.applySecurityAuthentication(context);
    // Without TLS settings client-node leaves the dispatcher unset: fetch then uses the global one.
    const dispatcher = (context.getDispatcher() as Dispatcher | undefined) ?? getGlobalDispatcher();
    context.setDispatcher(dispatcher.compose(interceptor));
  };
  return wrapped;
}

/** The handler callbacks undici may call, in its current and its legacy form. */
const CALLBACKS = [
  'onRequestStart',
  'onRequestUpgrade',
  'onResponseStart',
  'onResponseData',
  'onResponseEnd',
  'onResponseError',
  'onRequestSent',
  'onBodySent',
  'onConnect',
  'onHeaders',
  'onData',
  'onComplete',
  'onError',
  'onUpgrade',
  'onResponseStarted',
] as const;

type Handler = Partial<Record<(typeof CALLBACKS)[number], (...args: unknown[]) => unknown>>;

export function reportingInterceptor(report: ApiRequestReport): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const started = performance.now();
    const method = String(options.method ?? 'GET');
    const host = hostOf(options.origin);
    let reported = false;
    const once = (code: number | undefined) => {
      if (reported) return;
      reported = true;
      report(method, host, code, (performance.now() - started) / 1000);
    };
    const inner = handler as Handler;
    const outer: Handler = {};
    for (const name of CALLBACKS) {
      const callback = inner[name];
      if (typeof callback !== 'function') continue;
      outer[name] = (...args: unknown[]) => {
        // The final answer's status: onResponseStart(controller, status, ...) or onHeaders(status, ...).
        if (name === 'onResponseStart' || name === 'onHeaders') {
          const code = Number(args[name === 'onResponseStart' ? 1 : 0]);
          if (code >= 200) once(code);
        }
        if (name === 'onResponseError' || name === 'onError') once(undefined);
        return callback.apply(inner, args);
      };
    }
    return dispatch(options, outer as Dispatcher.DispatchHandler);
  };
}

function hostOf(origin: Dispatcher.DispatchOptions['origin']): string {
  if (origin === undefined) return '';
  try {
    return new URL(String(origin)).host;
  } catch {
    return String(origin);
  }
}
