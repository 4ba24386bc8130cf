// The endpoint policy: which addresses the operator may connect to on a Consumer's behalf
// (Prometheus addresses, Kafka bootstrap and advertised brokers, and any future outbound target).
// A Consumer's author chooses those addresses, and the operator connects from its own network
// position, so the operator's administrator decides where that may go. Pure: rules in, decisions
// out; resolving names and guarding sockets is in endpoint-guard.ts.
//
// Rule syntax (flags --allow-endpoints / --deny-endpoints, comma-separated, repeatable):
//   10.0.0.0/8              an IPv4 or IPv6 range (CIDR), any port
//   10.1.2.3:9090           one address, one port
//   [fd00::/8]:9090-9099    IPv6 with a port or port range (brackets needed with a port)
//   fd00::/8                IPv6 without a port
//   prometheus.monitoring.svc:9090
//                           a host name as written in the Consumer (or advertised by a broker)
//   *.monitoring.svc.cluster.local
//                           every name under this domain
//   *:9092                  any host, this port
//
// Decision, first match wins:
//   1. the operator's own endpoints (its metrics and health ports on this host, the Kubernetes API
//      server it talks to): denied, whatever the flags say;
//   2. a deny rule matching the name or any resolved address: denied;
//   3. a built-in range (below) containing any resolved address: denied, unless an allow rule that
//      is an address range (not a name) contains that address;
//   4. with allow rules given, the endpoint must match one (its name, or every resolved address);
//   5. otherwise allowed.
// A name rule never lifts a built-in range: whoever controls DNS of an allowed name (an
// ExternalName Service, for one) could otherwise point it at a cloud metadata address.
import { BlockList, isIP } from 'node:net';

/** One place to connect to: the host as written (name or IP literal, no brackets) and the port. */
export interface Endpoint {
  host: string;
  port: number;
}

/** Why an endpoint is refused: the rule as the administrator wrote it (or a built-in's label). */
export interface Denial {
  rule: string;
  /** Where the rule comes from, for messages: `--deny-endpoints`, `built-in`, ... */
  source: 'deny' | 'built-in' | 'allow-list' | 'own';
}

type Family = 'ipv4' | 'ipv6';

interface AddressMatcher {
  kind: 'address';
  list: BlockList;
}

interface NameMatcher {
  kind: 'name';
  /** Lower case, no trailing dot; `*.` prefix for a domain, `*` alone for any host. */
  pattern: string;
}

export interface EndpointRule {
  /** As written. */
  text: string;
  host: AddressMatcher | NameMatcher;
  /** Inclusive port range; undefined for any port. */
  ports?: readonly [number, number];
}

/** Ranges denied unless an address rule allows them, with why. */
export const BUILT_IN_DENIED: ReadonlyArray<{ cidr: string; why: string }> = [
  { cidr: '0.0.0.0/8', why: '"this host": 0.0.0.0 reaches the operator\'s own host' },
  { cidr: '127.0.0.0/8', why: "loopback: the operator's own pod or machine" },
  { cidr: '169.254.0.0/16', why: 'link-local: cloud metadata services (169.254.169.254, 169.254.170.2)' },
  { cidr: '100.100.100.200/32', why: 'Alibaba Cloud metadata service' },
  { cidr: '168.63.129.16/32', why: 'Azure WireServer' },
  { cidr: '192.0.0.192/32', why: 'Oracle Cloud Classic metadata service' },
  { cidr: '::/128', why: "the unspecified IPv6 address: reaches the operator's own host" },
  { cidr: '::1/128', why: 'IPv6 loopback' },
  { cidr: 'fe80::/10', why: 'IPv6 link-local' },
  { cidr: 'fd00:ec2::254/128', why: 'AWS instance metadata over IPv6' },
];

export class EndpointRuleError extends Error {
  override name = 'EndpointRuleError';
}

const NAME_PATTERN = /^(\*|(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*)$/;

function familyOf(address: string): Family | undefined {
  const v = isIP(address);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

function parsePorts(text: string, rule: string): readonly [number, number] {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const from = match ? Number(match[1]) : NaN;
  const to = match?.[2] !== undefined ? Number(match[2]) : from;
  if (!(from >= 1 && to <= 65535 && from <= to))
    throw new EndpointRuleError(
      `endpoint rule "${rule}": the port must be 1-65535 or a range like 9090-9099`,
    );
  return [from, to];
}

function addressMatcher(text: string, rule: string): AddressMatcher | undefined {
  const [address, prefixText, extra] = text.split('/');
  if (extra !== undefined || address === undefined) return undefined;
  const family = familyOf(address);
  if (!family) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max))
    throw new EndpointRuleError(`endpoint rule "${rule}": the prefix length must be 0-${max}`);
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { kind: 'address', list };
}

/** Parses one rule; throws an EndpointRuleError naming it when it is not understood. */
export function parseEndpointRule(text: string): EndpointRule {
  const rule = text.trim();
  if (!rule) throw new EndpointRuleError('empty endpoint rule');
  let hostText: string;
  let portText: string | undefined;
  if (rule.startsWith('[')) {
    const end = rule.indexOf(']');
    if (end < 0) throw new EndpointRuleError(`endpoint rule "${rule}": unclosed [`);
    hostText = rule.slice(1, end);
    const rest = rule.slice(end + 1);
    if (rest && !rest.startsWith(':'))
      throw new EndpointRuleError(`endpoint rule "${rule}": expected :port after ]`);
    portText = rest ? rest.slice(1) : undefined;
  } else if ((rule.match(/:/g) ?? []).length > 1) {
    hostText = rule; // bare IPv6 (with a port it needs brackets)
  } else {
    const colon = rule.lastIndexOf(':');
    hostText = colon < 0 ? rule : rule.slice(0, colon);
    portText = colon < 0 ? undefined : rule.slice(colon + 1);
  }
  const ports = portText === undefined ? undefined : parsePorts(portText, rule);
  const address = addressMatcher(hostText, rule);
  if (address) return { text: rule, host: address, ...(ports ? { ports } : {}) };
  const name = hostText.toLowerCase().replace(/\.$/, '');
  if (!NAME_PATTERN.test(name) || name.length > 253)
    throw new EndpointRuleError(
      `endpoint rule "${rule}": expected an address, a CIDR range, a host name or *.domain, with an optional :port`,
    );
  return { text: rule, host: { kind: 'name', pattern: name }, ...(ports ? { ports } : {}) };
}

/** Parses flag values: each may hold several rules separated by commas. */
export function parseEndpointRules(values: readonly string[] | undefined): EndpointRule[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseEndpointRule);
}

/** The host as rules see it: lower case, no brackets or trailing dot. */
export function normalizeHost(host: string): string {
  return host
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase()
    .replace(/\.$/, '');
}

/**
 * The forms an address is checked in: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4
 * address; a NAT64 address (64:ff9b::/96) is checked as itself and as the IPv4 address it embeds.
 * A zone index (fe80::1%eth0) is dropped.
 */
export function addressForms(address: string): Array<{ address: string; family: Family }> {
  const plain = address.split('%')[0]!.toLowerCase();
  const family = familyOf(plain);
  if (family === 'ipv4') return [{ address: plain, family }];
  const bytes = family === 'ipv6' ? ipv6Bytes(plain) : undefined;
  if (!bytes) return [];
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff)
    return [{ address: v4(bytes), family: 'ipv4' }];
  const forms: Array<{ address: string; family: Family }> = [{ address: plain, family: 'ipv6' }];
  const nat64 = bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12);
  if (nat64) forms.push({ address: v4(bytes), family: 'ipv4' });
  return forms;
}

/** The 16 bytes of an IPv6 address, or undefined. */
function ipv6Bytes(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const groups = [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailParts];
  if (groups.length !== 8) return undefined;
  return groups.flatMap((g) => {
    const n = parseInt(g || '0', 16);
    return [n >> 8, n & 0xff];
  });
}

const v4 = (bytes: number[]) => bytes.slice(12).join('.');

function portMatches(rule: EndpointRule, port: number): boolean {
  return !rule.ports || (port >= rule.ports[0] && port <= rule.ports[1]);
}

function nameMatches(rule: EndpointRule, host: string): boolean {
  if (rule.host.kind !== 'name') return false;
  const pattern = rule.host.pattern;
  if (pattern === '*') return true;
  if (isIP(host)) return false;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return host === pattern;
}

function addressMatches(rule: EndpointRule, address: string): boolean {
  if (rule.host.kind === 'name') return rule.host.pattern === '*';
  const list = rule.host.list;
  return addressForms(address).some((f) => list.check(f.address, f.family));
}

export interface EndpointPolicyOptions {
  allow?: readonly EndpointRule[];
  deny?: readonly EndpointRule[];
}

interface BuiltIn {
  rule: EndpointRule;
  why: string;
}

export class EndpointPolicy {
  private readonly allow: readonly EndpointRule[];
  private readonly deny: readonly EndpointRule[];
  private readonly builtIn: readonly BuiltIn[];
  /** The operator's own listening ports, and the addresses that reach them. */
  private ownPorts = new Set<number>();
  private ownAddresses = new BlockList();
  /** Other endpoints of the operator's own (the Kubernetes API server). */
  private readonly ownEndpoints: Array<{ rule: EndpointRule; label: string }> = [];

  constructor(options: EndpointPolicyOptions = {}) {
    this.allow = options.allow ?? [];
    this.deny = options.deny ?? [];
    this.builtIn = BUILT_IN_DENIED.map(({ cidr, why }) => ({ rule: parseEndpointRule(cidr), why }));
  }

  /** From flag values; throws an EndpointRuleError naming a rule it does not understand. */
  static fromFlags(
    allow: readonly string[] | undefined,
    deny: readonly string[] | undefined,
  ): EndpointPolicy {
    return new EndpointPolicy({ allow: parseEndpointRules(allow), deny: parseEndpointRules(deny) });
  }

  /** The rules as written, for the operator's start-up log. */
  describe(): { allow: string[]; deny: string[]; builtIn: string[] } {
    return {
      allow: this.allow.map((r) => r.text),
      deny: this.deny.map((r) => r.text),
      builtIn: this.builtIn.map((b) => b.rule.text),
    };
  }

  /**
   * Denies the operator's own listening ports on the addresses that reach them: loopback, the
   * unspecified addresses and `localAddresses` (this host's interfaces).
   */
  protectOwnPorts(ports: readonly number[], localAddresses: readonly string[]): void {
    this.ownPorts = new Set(ports.filter((p) => p > 0));
    const list = new BlockList();
    list.addSubnet('127.0.0.0', 8, 'ipv4');
    list.addSubnet('0.0.0.0', 8, 'ipv4');
    list.addAddress('::1', 'ipv6');
    list.addAddress('::', 'ipv6');
    for (const address of localAddresses) {
      const family = familyOf(address);
      if (family) list.addAddress(address, family);
    }
    this.ownAddresses = list;
  }

  /** Denies an endpoint the operator itself uses (the API server), by name or address and port. */
  protectOwnEndpoint(endpoint: Endpoint, label: string): void {
    const host = normalizeHost(endpoint.host);
    const hostText = isIP(host) === 6 ? `[${host}]` : host;
    this.ownEndpoints.push({ rule: parseEndpointRule(`${hostText}:${endpoint.port}`), label });
  }

  /** The check before resolving a name: a deny rule or an own endpoint matching the name. */
  checkName(endpoint: Endpoint): Denial | undefined {
    const host = normalizeHost(endpoint.host);
    for (const own of this.ownEndpoints)
      if (portMatches(own.rule, endpoint.port) && nameMatches(own.rule, host))
        return { rule: own.label, source: 'own' };
    for (const rule of this.deny)
      if (portMatches(rule, endpoint.port) && nameMatches(rule, host))
        return { rule: rule.text, source: 'deny' };
    return undefined;
  }

  /** The whole decision, with every address the name resolved to (the literal itself for an IP). */
  check(endpoint: Endpoint, addresses: readonly string[]): Denial | undefined {
    const byName = this.checkName(endpoint);
    if (byName) return byName;
    const { port } = endpoint;
    const host = normalizeHost(endpoint.host);
    const resolved = addresses.length > 0 ? addresses.map(normalizeHost) : isIP(host) ? [host] : [];
    for (const address of resolved) {
      const own = this.ownDenial(address, port);
      if (own) return own;
      const rule = this.deny.find((r) => portMatches(r, port) && addressMatches(r, address));
      if (rule) return { rule: rule.text, source: 'deny' };
    }
    const allowsAddress = (address: string) =>
      this.allow.some((r) => r.host.kind === 'address' && portMatches(r, port) && addressMatches(r, address));
    for (const address of resolved) {
      const builtIn = this.builtIn.find((b) => addressMatches(b.rule, address));
      if (builtIn && !allowsAddress(address))
        return { rule: `${builtIn.rule.text} (${builtIn.why})`, source: 'built-in' };
    }
    if (this.allow.length > 0) {
      const byAllowedName = this.allow.some(
        (r) => r.host.kind === 'name' && portMatches(r, port) && nameMatches(r, host),
      );
      if (!byAllowedName && (resolved.length === 0 || !resolved.every(allowsAddress)))
        return { rule: 'not matched by --allow-endpoints', source: 'allow-list' };
    }
    return undefined;
  }

  private ownDenial(address: string, port: number): Denial | undefined {
    for (const own of this.ownEndpoints)
      if (portMatches(own.rule, port) && addressMatches(own.rule, address))
        return { rule: own.label, source: 'own' };
    if (!this.ownPorts.has(port)) return undefined;
    const local = addressForms(address).some((f) => this.ownAddresses.check(f.address, f.family));
    return local ? { rule: `the operator's own port ${port}`, source: 'own' } : undefined;
  }
}

/** A policy that allows everything: for tools that connect where their own user says (loadgen, tests). */
export const allowAllEndpoints = (): EndpointPolicy =>
  new EndpointPolicy({ allow: [parseEndpointRule('0.0.0.0/0'), parseEndpointRule('::/0')] });

/** The text tenants read for a refused endpoint: the host as they (not a server) wrote it, and the rule. */
export function describeDenial(denial: Denial, shownHost: string | undefined): string {
  const what = shownHost ? `endpoint ${shownHost}` : 'an endpoint';
  const by =
    denial.source === 'own'
      ? `it is ${denial.rule}`
      : denial.source === 'deny'
        ? `rule "${denial.rule}" of --deny-endpoints`
        : denial.source === 'built-in'
          ? `the built-in rule ${denial.rule}`
          : 'it matches no rule of --allow-endpoints';
  return `${what} is denied by the operator's endpoint policy (${by}); nothing was sent to it`;
}
