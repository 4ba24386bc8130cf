// The endpoint policy on the Kafka client library's connections: the bootstrap brokers and every
// broker their metadata advertises (partition leaders, group coordinators), each checked after DNS
// on the socket the library opens.
//
// @platformatic/kafka has no option to set a socket's `lookup` or to make the socket ourselves:
// its Connection calls net.connect / tls.connect with the host and port only. It does publish,
// synchronously right after creating the socket, the `end` event of its `connections:connects`
// tracing channel (a documented diagnostics_channel), with the Connection whose `socket` and
// `context` (our client option) we read. A client made with a policy carries a context object we
// recognise; its sockets get `guardSocket` (src/net/endpoint-guard.ts) before they can connect.
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { guardSocket } from '../net/endpoint-guard.js';
import { normalizeHost, type EndpointPolicy } from '../net/endpoint-policy.js';

const CONNECTS_END = 'tracing:plt:kafka:connections:connects:end';

interface Guard {
  policy: EndpointPolicy;
  /** `host:port` of the bootstrap brokers the Consumer names: shown in messages (advertised ones are not). */
  bootstrap: ReadonlySet<string>;
}

const guards = new WeakMap<object, Guard>();
let installed = false;

const key = (host: string, port: number) => `${normalizeHost(host)}:${port}`;

interface ConnectContext {
  connection?: { context?: unknown; socket?: Socket };
  host?: unknown;
  port?: unknown;
}

function onConnect(message: unknown): void {
  try {
    const { connection, host, port } = (message ?? {}) as ConnectContext;
    const context = connection?.context;
    const guard = typeof context === 'object' && context !== null ? guards.get(context) : undefined;
    const socket = connection?.socket;
    if (!guard || !socket || typeof host !== 'string' || typeof port !== 'number') return;
    const shown = guard.bootstrap.has(key(host, port)) ? host : undefined;
    guardSocket(socket, guard.policy, { host, port }, shown);
  } catch {
    // A subscriber's exception would be an uncaught exception; guardSocket does not throw.
  }
}

/**
 * The `context` client option that puts a client's connections under `policy`. `bootstrap` are
 * the brokers as the Consumer names them (`host:port`).
 */
export function guardedContext(policy: EndpointPolicy, bootstrap: readonly string[]): object {
  if (!installed) {
    subscribe(CONNECTS_END, onConnect);
    installed = true;
  }
  const context = { endpointPolicy: 'konsumerator' };
  const keys = bootstrap.map((b) => {
    const colon = b.lastIndexOf(':');
    return key(b.slice(0, colon), Number(b.slice(colon + 1)));
  });
  guards.set(context, { policy, bootstrap: new Set(keys) });
  return context;
}
