// What tenants may read about a failed connection. A Consumer's status and events are read by its
// author, who chose the address: they say what kind of failure it was (refused, timed out, a
// certificate problem, ...) from the error's code, never the error's text, which can carry what
// the other side sent (a certificate's names, an HTTP parser's view of the answer, a broker's
// message). The full text goes to the operator's log (see `errorDetail`).
import { EndpointDeniedError } from './endpoint-guard.js';

const PHRASES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the other side',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed while sending',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  EHOSTDOWN: 'host down',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporarily)',
  EAI_FAIL: 'host name lookup failed',
  EADDRNOTAVAIL: 'address not available',
  ERR_SOCKET_CONNECTION_TIMEOUT: 'connection timed out',
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's certificate is not for this host name",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "the server's certificate chain ends in an untrusted self-signed CA",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's certificate is not signed by a trusted CA",
  UNABLE_TO_GET_ISSUER_CERT: "the issuer of the server's certificate is not trusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the issuer of the server's certificate is not trusted",
  CERT_HAS_EXPIRED: "the server's certificate has expired",
  CERT_NOT_YET_VALID: "the server's certificate is not valid yet",
  ERR_TLS_HANDSHAKE_TIMEOUT: 'TLS handshake timed out',
  EPROTO: 'protocol error (is it TLS on one side only?)',
  EENDPOINTDENIED: "denied by the operator's endpoint policy",
};

/** A code is shown only when it looks like one (capitals, digits, underscores). */
const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && CODE.test(code) ? code : undefined;
}

/**
 * The failure as tenants may read it: an EndpointDeniedError's own message (written from the
 * policy and the host the tenant gave), else a phrase and the error's code, e.g. `connection
 * refused (ECONNREFUSED)`. `fallback` when the error has no code.
 */
export function describeConnectionError(error: unknown, fallback = 'network error'): string {
  const denied = findEndpointDenied(error);
  if (denied) return denied.message;
  const code = codeOf(error) ?? codeOf((error as { cause?: unknown } | undefined)?.cause);
  if (!code) return fallback;
  if (code.startsWith('HPE_')) return `malformed HTTP answer (${code})`;
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))
    return `${PHRASES[code] ?? 'TLS handshake failed'} (${code})`;
  return `${PHRASES[code] ?? 'network error'} (${code})`;
}

/** The EndpointDeniedError in `error` or what it wraps (causes, AggregateErrors), if any. */
export function findEndpointDenied(error: unknown, depth = 0): EndpointDeniedError | undefined {
  if (depth > 8 || !(error instanceof Error)) return undefined;
  if (error instanceof EndpointDeniedError) return error;
  if (error instanceof AggregateError)
    for (const inner of error.errors) {
      const found = findEndpointDenied(inner, depth + 1);
      if (found) return found;
    }
  return findEndpointDenied((error as { cause?: unknown }).cause, depth + 1);
}

/** The error's own text and its causes', cut to `max` characters: for the operator's log only. */
export function errorDetail(error: unknown, max = 1000): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? (current as { cause?: unknown }).cause : undefined;
  }
  const text = parts.join(': ');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
