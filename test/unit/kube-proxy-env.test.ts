// The proxy taken from the environment when the kubeconfig names none (src/kube/proxy.ts): which
// variable for which server, and NO_PROXY read entry by entry as Go's net/http reads it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proxyFromEnvironment, usesProxy } from '../../src/kube/proxy.js';

const PROXY = 'http://proxy.corp:3128';

test('an https server takes HTTPS_PROXY, an http server HTTP_PROXY; upper case before lower case', () => {
  assert.equal(proxyFromEnvironment('https://api.example:6443', {}), undefined);
  assert.equal(proxyFromEnvironment('https://api.example:6443', { HTTPS_PROXY: PROXY }), PROXY);
  assert.equal(proxyFromEnvironment('https://api.example:6443', { https_proxy: PROXY }), PROXY);
  assert.equal(proxyFromEnvironment('https://api.example:6443', { HTTP_PROXY: PROXY }), undefined);
  assert.equal(proxyFromEnvironment('http://api.example:8080', { HTTP_PROXY: PROXY }), PROXY);
  assert.equal(proxyFromEnvironment('http://api.example:8080', { http_proxy: PROXY }), PROXY);
  assert.equal(proxyFromEnvironment('http://api.example:8080', { HTTPS_PROXY: PROXY }), undefined);
  const both = { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2' };
  assert.equal(proxyFromEnvironment('https://api.example', both), 'http://upper:1');
  // An empty upper-case variable counts as unset.
  assert.equal(proxyFromEnvironment('https://api.example', { ...both, HTTPS_PROXY: '' }), 'http://lower:2');
  // ALL_PROXY is not read (Go does not read it either).
  assert.equal(proxyFromEnvironment('https://api.example', { ALL_PROXY: PROXY }), undefined);
});

test('a proxy without a scheme is an http proxy; socks5 is taken; other schemes stop the client', () => {
  const at = (HTTPS_PROXY: string) => proxyFromEnvironment('https://api.example', { HTTPS_PROXY });
  assert.equal(at('proxy.corp:3128'), 'http://proxy.corp:3128');
  assert.equal(at('10.0.0.5:3128'), 'http://10.0.0.5:3128');
  assert.equal(at('socks5://127.0.0.1:1080'), 'socks5://127.0.0.1:1080');
  assert.equal(at('https://user:pw@proxy.corp'), 'https://user:pw@proxy.corp');
  assert.throws(
    () => at('ftp://user:secret@proxy.corp:21'),
    (e: Error) =>
      e.message === 'HTTPS_PROXY: proxy scheme "ftp" is not supported (use http, https or socks5)',
  );
  assert.throws(() => at('http://[bad'), /HTTPS_PROXY is neither a URL nor host:port/);
  // Not read at all when NO_PROXY exempts the server.
  assert.equal(
    proxyFromEnvironment('https://api.example', { HTTPS_PROXY: 'ftp://x', NO_PROXY: '*' }),
    undefined,
  );
});

test('localhost and loopback addresses never go through the proxy, as in Go', () => {
  for (const server of [
    'https://localhost:6443',
    'https://LOCALHOST',
    'https://127.0.0.1:6443',
    'https://127.5.6.7',
    'https://[::1]:6443',
  ])
    assert.equal(proxyFromEnvironment(server, { HTTPS_PROXY: PROXY }), undefined, server);
  // A name that merely resolves to loopback is not exempt: nothing is looked up.
  assert.equal(proxyFromEnvironment('https://vm:6443', { HTTPS_PROXY: PROXY }), PROXY);
});

test('NO_PROXY: domain names match themselves and subdomains; a leading dot or *. subdomains only', () => {
  const direct = (host: string, noProxy: string, port = '443') => !usesProxy(host, port, noProxy);
  assert.ok(direct('corp.example', 'corp.example'));
  assert.ok(direct('api.corp.example', 'corp.example'));
  assert.ok(!direct('notcorp.example', 'corp.example'));
  assert.ok(!direct('corp.example', '.corp.example'));
  assert.ok(direct('api.corp.example', '.corp.example'));
  assert.ok(!direct('corp.example', '*.corp.example'));
  assert.ok(direct('api.corp.example', '*.corp.example'));
  assert.ok(direct('API.Corp.Example', ' Corp.Example '), 'case and spaces');
  assert.ok(direct('x.svc', 'localhost, ,foo,.svc'), 'one entry of several, empty ones skipped');
  assert.ok(direct('anything', 'foo,*'));
  assert.ok(!direct('anything', ''));
  // Only commas separate entries.
  assert.ok(!direct('b.example', 'a.example b.example'));
  // Non-ASCII entries compare in their ASCII (punycode) form, as the URL's host name does.
  assert.ok(direct(new URL('https://api.bücher.example').hostname, 'bücher.example'));
});

test('NO_PROXY: addresses, CIDR blocks and ports', () => {
  const direct = (host: string, noProxy: string, port = '443') => !usesProxy(host, port, noProxy);
  assert.ok(direct('10.0.0.7', '10.0.0.7'));
  assert.ok(!direct('10.0.0.8', '10.0.0.7'));
  assert.ok(direct('10.96.0.1', '10.96.0.0/12'));
  assert.ok(direct('10.111.255.255', '10.96.0.0/12'));
  assert.ok(!direct('10.112.0.1', '10.96.0.0/12'));
  assert.ok(direct('fd00::1', 'fd00::/8'));
  assert.ok(direct('fd00::1', 'fd00::1'));
  assert.ok(direct('fd00::1', '[fd00::1]:443'));
  assert.ok(!direct('fd00::1', '[fd00::1]:6443'));
  assert.ok(direct('10.0.0.7', '::ffff:10.0.0.7'), 'an IPv4-mapped IPv6 address is the same address');
  // With a port, only that port is exempt (the server's default port counts).
  assert.ok(direct('api.corp.example', 'corp.example:443'));
  assert.ok(!direct('api.corp.example', 'corp.example:6443'));
  assert.ok(direct('api.corp.example', 'corp.example:6443', '6443'));
  assert.ok(direct('10.0.0.7', '10.0.0.7:6443', '6443'));
  assert.ok(!direct('10.0.0.7', '10.0.0.7:6443', '443'));
  // A CIDR block or an address never matches a name; malformed entries are ignored.
  assert.ok(!direct('kubernetes.default.svc', '10.96.0.0/12,10.96.0.1'));
  assert.ok(!direct('10.0.0.7', '10.0.0.0/99,:443,[]'));
  assert.equal(
    proxyFromEnvironment('https://api.example:6443', { HTTPS_PROXY: PROXY, NO_PROXY: 'api.example:443' }),
    PROXY,
  );
});

test('in a pod: HTTPS_PROXY for the outside, NO_PROXY with the Service network keeps the API server direct', () => {
  const env = {
    HTTPS_PROXY: PROXY,
    NO_PROXY: 'localhost,127.0.0.1,10.96.0.0/12,.svc,.cluster.local',
  };
  // The in-cluster configuration's server: the kubernetes Service's IP and port.
  assert.equal(proxyFromEnvironment('https://10.96.0.1:443', env), undefined);
  assert.equal(proxyFromEnvironment('https://kubernetes.default.svc', env), undefined);
  // The lower-case spelling when NO_PROXY is unset.
  assert.equal(
    proxyFromEnvironment('https://10.96.0.1:443', { https_proxy: PROXY, no_proxy: '10.96.0.0/12' }),
    undefined,
  );
  // Without the Service network in NO_PROXY, the proxy is used, as client-go would.
  assert.equal(
    proxyFromEnvironment('https://10.96.0.1:443', { HTTPS_PROXY: PROXY, NO_PROXY: '.svc' }),
    PROXY,
  );
});
