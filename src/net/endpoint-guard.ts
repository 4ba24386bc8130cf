// Enforcing the endpoint policy (endpoint-policy.ts) on real connections, after DNS: every address
// a name resolves to is checked, and the connection goes to the checked addresses only (the
// resolution that was checked is the one connected to, so a name cannot resolve to an allowed
// address for the check and to a denied one for the connection). Two ways in:
// - `checkedLookup`: a `lookup` option for node:http/https and net.connect, for clients whose
//   socket options we set;
// - `guardSocket`: for a socket someone else created (the Kafka client library's), checked
//   synchronously when its host is an IP literal and on its `lookup` events otherwise. Node emits
//   `lookup` for every resolved address before it starts connecting, and does not connect once
//   the socket is destroyed (see test/unit/endpoint-guard.test.ts, which checks this).
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import {
  describeDenial,
  normalizeHost,
  type Denial,
  type Endpoint,
  type EndpointPolicy,
} from './endpoint-policy.js';

/** A connection the endpoint policy refused; nothing was sent to the endpoint. */
export class EndpointDeniedError extends Error {
  override name = 'EndpointDeniedError';
  readonly code = 'EENDPOINTDENIED';
  constructor(
    readonly endpoint: Endpoint,
    readonly denial: Denial,
    /** The host to show tenants: the one they wrote, or undefined for one a server chose. */
    readonly shownHost: string | undefined,
    /** The addresses the name resolved to (for the operator's log only). */
    readonly addresses: readonly string[] = [],
  ) {
    super(describeDenial(denial, shownHost));
  }
}

/** `host:port` with IPv6 in brackets. */
export const formatEndpoint = ({ host, port }: Endpoint): string =>
  `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;

/**
 * Checks what can be checked without resolving: an IP literal, and deny rules on the name.
 * Throws an EndpointDeniedError.
 */
export function checkBeforeLookup(policy: EndpointPolicy, endpoint: Endpoint, shownHost?: string): void {
  const host = normalizeHost(endpoint.host);
  const target = { host, port: endpoint.port };
  const denial = isIP(host) ? policy.check(target, [host]) : policy.checkName(target);
  if (denial) throw new EndpointDeniedError(target, denial, shownHost, isIP(host) ? [host] : []);
}

/**
 * A `lookup` for sockets to `endpoint`: resolves every address, refuses them all when one is
 * denied, and hands the socket only the addresses it checked.
 */
export function checkedLookup(
  policy: EndpointPolicy,
  endpoint: Endpoint,
  shownHost?: string,
): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    const all: LookupAllOptions = { all: true };
    if (options.family !== undefined) all.family = options.family;
    if (options.hints !== undefined) all.hints = options.hints;
    dnsLookup(hostname, all, (error, addresses: LookupAddress[]) => {
      const reply = callback as unknown as (
        err: Error | null,
        address: string | LookupAddress[],
        family?: number,
      ) => void;
      if (error) return reply(error, '');
      const list = addresses.map((a) => a.address);
      const denial = policy.check(endpoint, list);
      if (denial) return reply(new EndpointDeniedError(endpoint, denial, shownHost, list), '');
      if (addresses.length === 0)
        return reply(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      if (options.all) return reply(null, addresses);
      reply(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

const guarded = new WeakSet<Socket>();

/**
 * Guards a socket that is connecting to `endpoint` (created by someone else, just now, in this
 * tick): destroys it with an EndpointDeniedError before it connects to a denied address.
 */
export function guardSocket(
  socket: Socket,
  policy: EndpointPolicy,
  endpoint: Endpoint,
  shownHost: string | undefined,
): void {
  if (guarded.has(socket)) return;
  guarded.add(socket);
  const target = { host: normalizeHost(endpoint.host), port: endpoint.port };
  try {
    checkBeforeLookup(policy, target, shownHost);
  } catch (error) {
    socket.destroy(error as Error);
    return;
  }
  if (isIP(target.host)) return;
  const onLookup = (error: Error | null, address: string) => {
    if (error || socket.destroyed) return;
    const denial = policy.check(target, [address]);
    if (denial) socket.destroy(new EndpointDeniedError(target, denial, shownHost, [address]));
  };
  socket.on('lookup', onLookup);
  socket.once('connect', () => socket.off('lookup', onLookup));
}
