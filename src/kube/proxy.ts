// Which proxy, if any, the API server is reached through when the kubeconfig sets no proxy-url:
// HTTPS_PROXY / HTTP_PROXY and NO_PROXY, read as Go's net/http reads them (client-go's default,
// so kubectl and the Go operator behave the same). Pure: the environment is a parameter.
import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** The proxy schemes taken in a kubeconfig's proxy-url and in the environment. */
export const PROXY_SCHEMES = ['http:', 'https:', 'socks5:', 'socks5h:'];

/** The first of the names set to a non-empty value (upper case first, as Go reads them). */
function firstSet(env: NodeJS.ProcessEnv, ...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

/**
 * The proxy URL for `server` from the environment, or undefined for a direct connection: an
 * https server uses HTTPS_PROXY (else https_proxy), an http server HTTP_PROXY (else http_proxy),
 * unless NO_PROXY (else no_proxy) exempts the server; `localhost` and loopback addresses are
 * always reached directly. A value without a scheme (`proxy:3128`) is an http proxy. A value that
 * is not a URL, or of another scheme, is an error (its text is not repeated: it may hold a password).
 */
export function proxyFromEnvironment(server: string, env: NodeJS.ProcessEnv): string | undefined {
  const url = new URL(server);
  const proxy =
    url.protocol === 'https:'
      ? firstSet(env, 'HTTPS_PROXY', 'https_proxy')
      : url.protocol === 'http:'
        ? firstSet(env, 'HTTP_PROXY', 'http_proxy')
        : undefined;
  if (!proxy) return undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (!usesProxy(host, port, firstSet(env, 'NO_PROXY', 'no_proxy')?.value ?? '')) return undefined;
  return checkedProxyValue(proxy.name, proxy.value);
}

function checkedProxyValue(name: string, value: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`${name} is neither a URL nor host:port`);
  }
  if (!PROXY_SCHEMES.includes(url.protocol))
    throw new Error(
      `${name}: proxy scheme "${url.protocol.replace(/:$/, '')}" is not supported (use http, https or socks5)`,
    );
  return withScheme;
}

/**
 * Whether a connection to `host` (a name, or an address without brackets) and `port` goes through
 * the proxy under this NO_PROXY: comma-separated entries, each `*` (nothing is proxied), an IP
 * address, a CIDR block, or a domain name that matches itself and its subdomains (`.name` and
 * `*.name`: its subdomains only); an address or a name may carry `:port`, then only that port is
 * exempt. Entries that are none of these are ignored.
 */
export function usesProxy(host: string, port: string, noProxy: string): boolean {
  const name = host.toLowerCase();
  const family = isIP(name);
  if (name === 'localhost' || (family !== 0 && isLoopback(name, family))) return false;
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return false;
    const cidr = parseCidr(entry);
    if (cidr) {
      if (family !== 0 && cidr.check(name, family === 4 ? 'ipv4' : 'ipv6')) return false;
      continue;
    }
    const [entryHost, entryPort] = splitHostPort(entry);
    if (!entryHost) continue;
    if (entryPort !== undefined && entryPort !== port) continue;
    const entryFamily = isIP(entryHost);
    if (entryFamily !== 0) {
      if (family !== 0 && sameAddress(name, family, entryHost, entryFamily)) return false;
      continue;
    }
    const domain = domainToASCII(entryHost.replace(/^\*\./, '.')) || entryHost;
    if (domain.startsWith('.') ? name.endsWith(domain) : name === domain || name.endsWith(`.${domain}`))
      return false;
  }
  return true;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const isLoopback = (address: string, family: number) =>
  LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');

/** `10.96.0.0/12` or `fd00::/8` as a one-block list; undefined when the entry is no CIDR. */
function parseCidr(entry: string): BlockList | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(entry);
  if (!match) return undefined;
  const family = isIP(match[1]!);
  const prefix = Number(match[2]);
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return undefined;
  const list = new BlockList();
  list.addSubnet(match[1]!, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return list;
}

/** `host:port`, `[v6]:port`, `[v6]`, or a bare host (an IPv6 address without brackets has no port). */
function splitHostPort(entry: string): [string, string | undefined] {
  const bracketed = /^\[([^\]]*)\](?::(\d*))?$/.exec(entry);
  if (bracketed) return [bracketed[1]!, bracketed[2] || undefined];
  const colons = entry.split(':').length - 1;
  if (colons !== 1) return [entry, undefined];
  const at = entry.indexOf(':');
  return [entry.slice(0, at), entry.slice(at + 1) || undefined];
}

/** The same address, also across the IPv4 and IPv4-mapped IPv6 spellings. */
function sameAddress(a: string, aFamily: number, b: string, bFamily: number): boolean {
  const list = new BlockList();
  list.addAddress(b, bFamily === 4 ? 'ipv4' : 'ipv6');
  return list.check(a, aFamily === 4 ? 'ipv4' : 'ipv6');
}
