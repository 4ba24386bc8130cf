// The endpoint policy on real sockets: the HTTP client and the Kafka client library never connect
// to a denied address, whether the Consumer wrote it as an IP, as a name that resolves to it, or
// the broker advertised it; and the Node behaviour the Kafka guard relies on holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { lookup } from 'node:dns/promises';
import { EndpointPolicy } from '../../src/net/endpoint-policy.js';
import { EndpointDeniedError, guardSocket } from '../../src/net/endpoint-guard.js';
import { describeConnectionError, findEndpointDenied } from '../../src/net/errors.js';
import { HttpClient } from '../../src/metrics/http.js';
import { KafkaAdmin, kafkaErrorSummary } from '../../src/kafka/client.js';

/** A TCP server on `host` that counts the connections it accepts and answers HTTP. */
async function countingServer(host = '127.0.0.1') {
  let connections = 0;
  const server = http.createServer((_req, res) => res.writeHead(200).end('{"secret":"s3cr3t"}'));
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 200));

test('HTTP: a denied IP literal and a name resolving to loopback get no connection; an allowed one does', async () => {
  const server = await countingServer();
  const denyAll = new HttpClient({ endpointPolicy: new EndpointPolicy() });
  const allowed = new HttpClient({
    endpointPolicy: EndpointPolicy.fromFlags([`127.0.0.1:${server.port}`], []),
  });
  try {
    const literal = await denyAll
      .request('GET', new URL(`http://127.0.0.1:${server.port}/`), { timeoutMs: 2000 })
      .catch((e: unknown) => e);
    assert.ok(literal instanceof EndpointDeniedError);
    assert.match(literal.message, /endpoint 127\.0\.0\.1 is denied by .*built-in rule 127\.0\.0\.0\/8/);
    // `localhost` (and any name in /etc/hosts) resolves to 127.0.0.1 here: checked after DNS.
    assert.deepEqual(
      (await lookup('localhost', { all: true })).map((a) => a.address),
      ['127.0.0.1'],
    );
    const byName = await denyAll
      .request('GET', new URL(`http://localhost:${server.port}/`), { timeoutMs: 2000 })
      .catch((e: unknown) => e);
    assert.ok(byName instanceof EndpointDeniedError, String(byName));
    assert.match(byName.message, /^endpoint localhost is denied/);
    assert.doesNotMatch(byName.message, /127\.0\.0\.1/, 'the resolved address is not shown');
    await settle();
    assert.equal(server.connections(), 0, 'nothing reached the server');
    const res = await allowed.request('GET', new URL(`http://localhost:${server.port}/`), {
      timeoutMs: 2000,
    });
    assert.equal(res.status, 200);
    assert.equal(server.connections(), 1);
  } finally {
    denyAll.close();
    allowed.close();
    await server.close();
  }
});

test('HTTP: a redirect is returned, never followed', async () => {
  const target = await countingServer();
  let hits = 0;
  const redirector = http.createServer((_req, res) => {
    hits++;
    res.writeHead(302, { location: `http://127.0.0.1:${target.port}/` }).end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.2', resolve));
  const port = (redirector.address() as AddressInfo).port;
  const client = new HttpClient({ endpointPolicy: EndpointPolicy.fromFlags([`127.0.0.2:${port}`], []) });
  try {
    const res = await client.request('GET', new URL(`http://127.0.0.2:${port}/`), { timeoutMs: 2000 });
    assert.equal(res.status, 302);
    await settle();
    assert.equal(hits, 1);
    assert.equal(target.connections(), 0);
  } finally {
    client.close();
    redirector.closeAllConnections();
    await new Promise((r) => redirector.close(r));
    await target.close();
  }
});

test('guardSocket: every resolved address is checked before Node connects to any', async () => {
  const server = await countingServer();
  // Node emits `lookup` for each address of an asynchronous resolution before it starts
  // connecting, and stops once the socket is destroyed: the Kafka guard relies on it.
  for (const order of [
    ['192.0.2.1', '127.0.0.1'],
    ['127.0.0.1', '192.0.2.1'],
    ['::1', '127.0.0.1'],
  ]) {
    const fakeLookup = ((_host: string, options: { all?: boolean }, cb: (...a: unknown[]) => void) =>
      setImmediate(() =>
        options.all
          ? cb(
              null,
              order.map((address) => ({ address, family: net.isIP(address) })),
            )
          : cb(null, order[0], net.isIP(order[0]!)),
      )) as unknown as net.LookupFunction;
    const socket = net.connect({ host: 'multi.example', port: server.port, lookup: fakeLookup });
    guardSocket(socket, new EndpointPolicy(), { host: 'multi.example', port: server.port }, 'multi.example');
    const error = await new Promise<unknown>((resolve) => {
      socket.once('error', resolve);
      socket.once('connect', () => resolve(undefined));
    });
    assert.ok(error instanceof EndpointDeniedError, `${order.join(',')}: ${String(error)}`);
  }
  // An IP literal is refused in the tick the socket is made.
  const literal = net.connect({ host: '127.0.0.1', port: server.port });
  guardSocket(literal, new EndpointPolicy(), { host: '127.0.0.1', port: server.port }, undefined);
  const error = await new Promise<unknown>((resolve) => literal.once('error', resolve));
  assert.ok(error instanceof EndpointDeniedError);
  assert.match(error.message, /^an endpoint is denied/, 'a host a server chose is not shown');
  await settle();
  assert.equal(server.connections(), 0);
  await server.close();
});

test('Kafka: a denied bootstrap, by IP or by a name resolving to loopback, plain or TLS, gets no connection', async () => {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    for (const [brokers, tls] of [
      [[`127.0.0.1:${port}`], false],
      [[`localhost:${port}`], false],
      [[`localhost:${port}`], true],
    ] as const) {
      const admin = new KafkaAdmin({
        brokers: [...brokers],
        retries: 0,
        connectionTimeoutMs: 1000,
        tls,
        endpointPolicy: new EndpointPolicy(),
      });
      const error = await admin.connect().catch((e: unknown) => e);
      await admin.close();
      assert.ok(findEndpointDenied(error), `${brokers[0]} tls=${tls}: ${String(error)}`);
      assert.equal(
        kafkaErrorSummary(error),
        `endpoint ${brokers[0]!.split(':')[0]} is denied by the operator's endpoint policy (the built-in rule 127.0.0.0/8 (loopback: the operator's own pod or machine)); nothing was sent to it`,
      );
    }
    await settle();
    assert.equal(connections, 0);
    // The same client without a policy does connect (the guard is what stopped it).
    const open = new KafkaAdmin({ brokers: [`127.0.0.1:${port}`], retries: 0, connectionTimeoutMs: 1000 });
    await open.connect().catch(() => undefined);
    await open.close();
    assert.ok(connections > 0);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('describeConnectionError: the code, never the text', () => {
  const tls = Object.assign(
    new Error("Hostname/IP does not match certificate's altnames: DNS:internal-admin.corp"),
    { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
  );
  assert.equal(
    describeConnectionError(tls),
    "the server's certificate is not for this host name (ERR_TLS_CERT_ALTNAME_INVALID)",
  );
  assert.equal(
    describeConnectionError(
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:80'), { code: 'ECONNREFUSED' }),
    ),
    'connection refused (ECONNREFUSED)',
  );
  assert.equal(
    describeConnectionError(
      Object.assign(new Error('Parse Error: secret'), { code: 'HPE_INVALID_CONSTANT' }),
    ),
    'malformed HTTP answer (HPE_INVALID_CONSTANT)',
  );
  assert.equal(describeConnectionError(new Error('whatever the server said')), 'network error');
  assert.equal(
    describeConnectionError(Object.assign(new Error('x'), { code: 'not a code!' })),
    'network error',
  );
});
