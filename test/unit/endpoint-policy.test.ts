// The endpoint policy's rules and decisions (src/net/endpoint-policy.ts), without sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressForms,
  EndpointPolicy,
  EndpointRuleError,
  parseEndpointRule,
  parseEndpointRules,
  type Denial,
} from '../../src/net/endpoint-policy.js';

const policy = (allow: string[] = [], deny: string[] = []) => EndpointPolicy.fromFlags(allow, deny);
const check = (p: EndpointPolicy, host: string, port: number, addresses: string[] = []) =>
  p.check({ host, port }, addresses);
const rule = (d: Denial | undefined) => d && `${d.source}: ${d.rule}`;

test('rule syntax: addresses, ranges, ports, IPv6 in brackets, names and domains', () => {
  const r = parseEndpointRule('10.1.2.3:9090');
  assert.equal(r.host.kind, 'address');
  assert.deepEqual(r.ports, [9090, 9090]);
  assert.deepEqual(parseEndpointRule('10.0.0.0/8:9090-9099').ports, [9090, 9099]);
  assert.equal(parseEndpointRule('fd00::/8').host.kind, 'address');
  assert.deepEqual(parseEndpointRule('[fd00::1]:443').ports, [443, 443]);
  assert.deepEqual(parseEndpointRule('Prometheus.Monitoring.svc.:9090').host, {
    kind: 'name',
    pattern: 'prometheus.monitoring.svc',
  });
  assert.deepEqual(parseEndpointRule('*.svc.cluster.local').host, {
    kind: 'name',
    pattern: '*.svc.cluster.local',
  });
  assert.equal(parseEndpointRule('*:9092').ports?.[0], 9092);
  assert.equal(parseEndpointRules(['10.0.0.0/8, 192.168.0.0/16', 'a.b:1']).length, 3);
  for (const bad of ['10.0.0.0/33', 'host:0', 'host:70000', 'host:9-1', '[fd00::1', 'a b', '*foo', '']) {
    assert.throws(() => parseEndpointRule(bad), EndpointRuleError, bad);
  }
});

test('built-in denies: loopback, link-local and cloud metadata, "this host", in every spelling', () => {
  const p = policy();
  for (const address of [
    '127.0.0.1',
    '127.255.0.9',
    '0.0.0.0',
    '169.254.169.254',
    '169.254.170.2',
    '100.100.100.200',
    '168.63.129.16',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1', // IPv4-mapped
    '::ffff:a9fe:a9fe', // 169.254.169.254, mapped, in hex
    '64:ff9b::a9fe:a9fe', // 169.254.169.254 through NAT64
    'fe80::1%eth0',
  ]) {
    assert.equal(check(p, address, 80)?.source, 'built-in', address);
  }
  // A name is judged by what it resolves to.
  assert.match(rule(check(p, 'metadata.google.internal', 80, ['169.254.169.254']))!, /169\.254\.0\.0\/16/);
  assert.equal(check(p, 'prometheus', 9090, ['10.96.0.10']), undefined);
  assert.equal(check(p, '93.184.216.34', 443), undefined);
  // One bad address among the resolved ones is enough.
  assert.equal(check(p, 'mixed', 80, ['10.0.0.1', '127.0.0.1'])?.source, 'built-in');
});

test('addressForms: mapped addresses are IPv4, NAT64 is checked both ways', () => {
  assert.deepEqual(addressForms('::ffff:10.0.0.1'), [{ address: '10.0.0.1', family: 'ipv4' }]);
  assert.deepEqual(
    addressForms('64:ff9b::0a00:0001').map((f) => f.address),
    ['64:ff9b::0a00:0001', '10.0.0.1'],
  );
  assert.deepEqual(addressForms('not-an-ip'), []);
});

test('an address rule in --allow-endpoints lifts a built-in deny; a name rule does not', () => {
  assert.equal(check(policy(['127.0.0.1:9090']), '127.0.0.1', 9090), undefined);
  assert.equal(check(policy(['127.0.0.1:9090']), '127.0.0.1', 9091)?.source, 'built-in');
  // Whoever controls the DNS of an allowed name must not reach the metadata service through it.
  const byName = policy(['prometheus.local:9090']);
  assert.equal(check(byName, 'prometheus.local', 9090, ['127.0.0.1'])?.source, 'built-in');
  assert.equal(check(byName, 'prometheus.local', 9090, ['10.0.0.7']), undefined);
  // Allowing everything (0.0.0.0/0) turns the built-in denies off.
  assert.equal(check(policy(['0.0.0.0/0']), '169.254.169.254', 80), undefined);
});

test('with allow rules, only what they match; deny rules win over allow rules', () => {
  const p = policy(['10.0.0.0/8', '*.monitoring.svc:9090'], ['10.0.5.0/24', 'evil.monitoring.svc']);
  assert.equal(check(p, '10.1.1.1', 9090), undefined);
  assert.equal(check(p, 'prom.monitoring.svc', 9090, ['192.168.1.1']), undefined, 'allowed by name');
  assert.equal(check(p, 'prom.monitoring.svc', 9091, ['192.168.1.1'])?.source, 'allow-list');
  assert.equal(check(p, 'other.example', 9090, ['192.168.1.1'])?.source, 'allow-list');
  assert.equal(rule(check(p, '10.0.5.9', 9090)), 'deny: 10.0.5.0/24');
  assert.equal(rule(p.checkName({ host: 'EVIL.monitoring.svc', port: 9090 })), 'deny: evil.monitoring.svc');
  assert.equal(check(p, 'monitoring.svc', 9090, ['192.168.1.1'])?.source, 'allow-list', '*.x is below x');
  // Without allow rules, anything not denied.
  assert.equal(check(policy([], ['*:6443']), 'anything', 6443, ['10.0.0.1'])?.source, 'deny');
  assert.equal(check(policy([], ['*:6443']), 'anything', 443, ['10.0.0.1']), undefined);
});

test("the operator's own ports and API server are denied whatever the flags allow", () => {
  const p = policy(['0.0.0.0/0', '::/0']);
  p.protectOwnPorts([8080, 8081], ['10.1.2.3', 'fe80::5']);
  p.protectOwnEndpoint({ host: '10.96.0.1', port: 443 }, 'the Kubernetes API server the operator uses');
  p.protectOwnEndpoint(
    { host: 'kubernetes.default.svc', port: 443 },
    'the Kubernetes API server the operator uses',
  );
  for (const host of ['127.0.0.1', '127.0.0.2', '0.0.0.0', '::1', '10.1.2.3', '::ffff:10.1.2.3'])
    assert.equal(rule(check(p, host, 8081)), "own: the operator's own port 8081", host);
  assert.equal(check(p, '10.9.9.9', 8081), undefined, 'another host, same port');
  assert.equal(check(p, '10.1.2.3', 9090), undefined, 'this host, another port');
  assert.equal(check(p, '10.96.0.1', 443)?.source, 'own');
  assert.equal(p.checkName({ host: 'Kubernetes.Default.svc', port: 443 })?.source, 'own');
  assert.equal(check(p, 'api', 443, ['10.96.0.1'])?.source, 'own', 'by address after DNS');
});
