// The operator's Kubernetes client (src/kube) against small local HTTP servers: authentication,
// errors carrying the status and the API server's Status, request and watch deadlines, and the
// configuration loaders (kubeconfig files, $KUBECONFIG, in-cluster, exec plugins).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiSecretReader } from '../../src/controller/credentials.js';
import { describeApiError } from '../../src/controller/kube.js';
import { KubeApiError, KubeClient, microTime } from '../../src/kube/client.js';
import {
  accessFromKubeconfig,
  inClusterAccess,
  loadClusterAccess,
  toClusterAccess,
} from '../../src/kube/config.js';
import { connectProxy, socks5Proxy } from '../support/forward-proxy.js';
import { listenLocally, selfSignedCertificate, type LocalServer } from '../support/local-server.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** Hands each request to `handler` with its whole body. */
const withBody =
  (handler: Handler) =>
  (req: http.IncomingMessage, res: http.ServerResponse): void => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, res, body));
  };

const server = (handler: Handler): Promise<LocalServer> =>
  listenLocally(http.createServer(withBody(handler)));

const json = (res: http.ServerResponse, status: number, body: unknown) =>
  void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

test('requests carry the credentials, JSON bodies, the patch type and the query', async () => {
  const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const api = await server((req, res, body) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers, body });
    json(res, 200, { ok: true });
  });
  try {
    const client = new KubeClient({ server: api.url, token: 't0k', impersonate: 'someone' });
    assert.deepEqual(await client.patch('/p', { a: 1 }, 'strategic', { fieldManager: 'k', force: true }), {
      ok: true,
    });
    await client.patch('/m', { b: 2 }, 'merge');
    await client.patch('/a', { c: 3 }, 'apply');
    await new KubeClient({ server: api.url, username: 'u', password: 'p' }).get('/x', {
      labelSelector: 'a=b',
    });
    assert.equal(seen[0]!.method, 'PATCH');
    assert.equal(seen[0]!.url, '/p?fieldManager=k&force=true');
    assert.equal(seen[0]!.headers.authorization, 'Bearer t0k');
    assert.equal(seen[0]!.headers['impersonate-user'], 'someone');
    assert.equal(seen[0]!.headers['content-type'], 'application/strategic-merge-patch+json');
    assert.deepEqual(JSON.parse(seen[0]!.body), { a: 1 });
    assert.equal(seen[1]!.headers['content-type'], 'application/merge-patch+json');
    assert.equal(seen[2]!.headers['content-type'], 'application/apply-patch+yaml');
    assert.equal(seen[3]!.url, '/x?labelSelector=a%3Db');
    assert.equal(seen[3]!.headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
  } finally {
    await api.close();
  }
});

test("an error status rejects with its code and the API server's Status, as callers read it", async () => {
  const status = {
    kind: 'Status',
    code: 409,
    reason: 'AlreadyExists',
    message: 'deployments.apps "x" already exists',
  };
  const api = await server((_req, res) => json(res, 409, status));
  try {
    const error = await new KubeClient({ server: api.url })
      .create('/apis/apps/v1/namespaces/n/deployments', {})
      .then(
        () => assert.fail('should fail'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof KubeApiError);
    assert.equal(error.code, 409);
    assert.deepEqual(error.body, status);
    assert.deepEqual(describeApiError(error), { code: 409, message: status.message });
  } finally {
    await api.close();
  }
});

test('a request that hits its deadline is reported as such, not as an HTTP status', async () => {
  // An API server that accepts the connection and never answers.
  const hung = http.createServer(() => undefined);
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  try {
    const client = new KubeClient(
      { server: `http://127.0.0.1:${(hung.address() as AddressInfo).port}` },
      { requestMs: 200 },
    );
    const started = Date.now();
    const error = await client.get('/api/v1/namespaces/default').then(
      () => assert.fail('the request should have hit its deadline'),
      (e: unknown) => e,
    );
    assert.ok(Date.now() - started < 5_000);
    assert.equal((error as Error).name, 'TimeoutError');
    assert.equal(describeApiError(error).code, undefined);
    await assert.rejects(
      new ApiSecretReader(client).read('ns', 'creds'),
      /no answer within the API request deadline/,
    );
  } finally {
    hung.closeAllConnections();
    hung.close();
  }
});

test('a watch streams events, and one that receives nothing for its idle deadline fails', async () => {
  const api = await server((req, res) => {
    if (req.url?.includes('silent')) return void res.writeHead(200).flushHeaders();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n');
    res.end(JSON.stringify({ type: 'DELETED', object: { metadata: { name: 'a' } } }) + '\n');
  });
  try {
    const client = new KubeClient({ server: api.url }, { watchIdleMs: 200 });
    const events: string[] = [];
    await client.watch<{ metadata: { name: string } }>(
      '/w',
      {},
      (e) => events.push(`${e.type} ${e.object.metadata.name}`),
      new AbortController().signal,
    );
    assert.deepEqual(events, ['ADDED a', 'DELETED a']);
    await assert.rejects(
      client.watch('/silent', {}, () => undefined, new AbortController().signal),
      {
        name: 'TimeoutError',
      },
    );
    const stop = new AbortController();
    const watching = client.with({ watchIdleMs: 10_000 }).watch('/silent', {}, () => undefined, stop.signal);
    setTimeout(() => stop.abort(), 50);
    await watching; // resolves on abort
  } finally {
    await api.close();
  }
});

test('a token file is read again, so a rotated service-account token is used', async () => {
  const tokens: (string | undefined)[] = [];
  const api = await server((req, res) => (tokens.push(req.headers.authorization), json(res, 200, {})));
  const dir = mkdtempSync(join(tmpdir(), 'kube-token-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'first\n');
  try {
    const client = new KubeClient({ server: api.url, tokenFile }, { tokenFileRereadMs: 2_000 });
    await client.get('/a');
    writeFileSync(tokenFile, 'second\n');
    await client.get('/b'); // within the re-read interval: the token read before
    await new Promise((r) => setTimeout(r, 2_100));
    await client.get('/c');
    assert.deepEqual(tokens, ['Bearer first', 'Bearer first', 'Bearer second']);
  } finally {
    await api.close();
  }
});

test('an exec plugin supplies the token, fetched again once it expires', async () => {
  const tokens: (string | undefined)[] = [];
  const api = await server((req, res) => (tokens.push(req.headers.authorization), json(res, 200, {})));
  const dir = mkdtempSync(join(tmpdir(), 'kube-exec-'));
  const counter = join(dir, 'n');
  writeFileSync(counter, '0');
  // Each run hands out a new token that expired a minute ago, so every request runs it again.
  const script = `const fs=require('fs');const n=Number(fs.readFileSync(${JSON.stringify(counter)},'utf8'))+1;fs.writeFileSync(${JSON.stringify(counter)},String(n));
    const info=JSON.parse(process.env.KUBERNETES_EXEC_INFO);
    console.log(JSON.stringify({apiVersion:info.apiVersion,kind:'ExecCredential',status:{token:process.env.PREFIX+n,expirationTimestamp:new Date(Date.now()-60000).toISOString()}}));`;
  try {
    const client = new KubeClient({
      server: api.url,
      exec: {
        command: process.execPath,
        args: ['-e', script],
        env: { PREFIX: 'tok-' },
        apiVersion: 'client.authentication.k8s.io/v1',
        dir,
      },
    });
    await client.get('/a');
    await client.get('/b');
    assert.deepEqual(tokens, ['Bearer tok-1', 'Bearer tok-2']);
  } finally {
    await api.close();
  }
});

test('a 401 runs the exec plugin again and retries once', async () => {
  const tokens: (string | undefined)[] = [];
  // The first token is refused (revoked before it expired); the next one is good.
  const api = await server((req, res) => {
    tokens.push(req.headers.authorization);
    json(res, req.headers.authorization === 'Bearer tok-1' ? 401 : 200, { kind: 'Status' });
  });
  const dir = mkdtempSync(join(tmpdir(), 'kube-exec-'));
  const counter = join(dir, 'n');
  writeFileSync(counter, '0');
  const script = `const fs=require('fs');const n=Number(fs.readFileSync(${JSON.stringify(counter)},'utf8'))+1;fs.writeFileSync(${JSON.stringify(counter)},String(n));
    console.log(JSON.stringify({kind:'ExecCredential',status:{token:'tok-'+n}}));`;
  try {
    const exec = { command: process.execPath, args: ['-e', script], env: {}, apiVersion: 'v1', dir };
    const client = new KubeClient({ server: api.url, exec });
    await client.get('/a');
    await client.get('/b');
    assert.deepEqual(tokens, ['Bearer tok-1', 'Bearer tok-2', 'Bearer tok-2']);
  } finally {
    await api.close();
  }
});

test('a kubeconfig: the current context, inline and file credentials, paths relative to the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  writeFileSync(join(dir, 'ca.pem'), 'CA-PEM');
  writeFileSync(join(dir, 'token'), 'file-token\n');
  const text = `
apiVersion: v1
kind: Config
current-context: b
clusters:
  - name: one
    cluster: { server: 'https://one:6443/', certificate-authority: ca.pem, tls-server-name: api.one }
  - name: two
    cluster: { server: 'https://two:6443', insecure-skip-tls-verify: true }
users:
  - name: certs
    user:
      client-certificate-data: ${Buffer.from('CERT').toString('base64')}
      client-key-data: ${Buffer.from('KEY').toString('base64')}
  - name: tokens
    user: { tokenFile: token }
contexts:
  - name: a
    context: { cluster: one, user: certs }
  - name: b
    context: { cluster: two, user: tokens, namespace: team }
`;
  const b = accessFromKubeconfig([{ text, dir }]);
  assert.deepEqual(b, {
    server: 'https://two:6443',
    insecureSkipTlsVerify: true,
    tokenFile: join(dir, 'token'),
    namespace: 'team',
  });
  const a = accessFromKubeconfig([{ text, dir }], 'a');
  assert.equal(a.server, 'https://one:6443');
  assert.equal(a.ca?.toString(), 'CA-PEM');
  assert.equal(a.tlsServerName, 'api.one');
  assert.equal(a.clientCert?.toString(), 'CERT');
  assert.equal(a.clientKey?.toString(), 'KEY');
  assert.throws(() => accessFromKubeconfig([{ text, dir }], 'c'), /no context "c"/);
  const oidc = text.replace(
    'user: { tokenFile: token }',
    'user: { auth-provider: { name: oidc, config: {} } }',
  );
  assert.throws(() => accessFromKubeconfig([{ text: oidc, dir }]), /auth-provider "oidc" is not supported/);
  const proxied = (url: string) =>
    text.replace('insecure-skip-tls-verify: true }', `insecure-skip-tls-verify: true, proxy-url: '${url}' }`);
  assert.equal(accessFromKubeconfig([{ text: proxied('socks5://p:1080'), dir }]).proxyUrl, 'socks5://p:1080');
  assert.equal(accessFromKubeconfig([{ text: proxied('http://p:3128'), dir }]).proxyUrl, 'http://p:3128');
  // Refused at start (never a silent direct connection), without echoing credentials in the URL.
  assert.throws(
    () => accessFromKubeconfig([{ text: proxied('ftp://user:secret@p:21'), dir }]),
    (e: Error) => /proxy-url scheme "ftp" is not supported/.test(e.message) && !e.message.includes('secret'),
  );
  assert.throws(() => accessFromKubeconfig([{ text: proxied('not a url'), dir }]), /proxy-url is not a URL/);
});

/** An https API stand-in with a certificate for the name api.test (served on 127.0.0.1). */
async function tlsServer(handler: Handler) {
  const tls = selfSignedCertificate('api.test');
  return { ...(await listenLocally(https.createServer(tls, withBody(handler)))), ca: tls.cert };
}

test("the kubeconfig's proxy-url: TLS to the API server through an http CONNECT tunnel or socks5, with its CA and server name", async () => {
  const tokens: (string | undefined)[] = [];
  const api = await tlsServer((req, res) => {
    tokens.push(req.headers.authorization);
    if (req.url?.includes('watch=true'))
      return void res.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'p' } } })}\n`);
    json(res, 200, { items: [] });
  });
  const port = new URL(api.url).port;
  const connect = await connectProxy();
  const socks = await socks5Proxy();
  try {
    for (const proxy of [connect, socks]) {
      const client = new KubeClient({
        server: api.url,
        ca: api.ca,
        tlsServerName: 'api.test',
        token: 'via-proxy',
        proxyUrl: proxy.url,
      });
      assert.deepEqual(await client.get('/api/v1/namespaces'), { items: [] });
      const events: string[] = [];
      await client.watch('/api/v1/pods', {}, (e) => events.push(e.type), new AbortController().signal);
      client.close();
      assert.deepEqual(events, ['ADDED']);
      assert.ok(proxy.tunnels.length >= 1, `${proxy.url}: no tunnel opened`);
      assert.ok(
        proxy.tunnels.every((t) => t === `127.0.0.1:${port}`),
        proxy.tunnels.join(','),
      );
    }
    assert.ok(tokens.length === 4 && tokens.every((t) => t === 'Bearer via-proxy'));
    // The server's certificate is still checked through the tunnel: another CA fails.
    const other = await tlsServer((_req, res) => json(res, 200, {}));
    await assert.rejects(
      new KubeClient({ server: api.url, ca: other.ca, tlsServerName: 'api.test', proxyUrl: connect.url }).get(
        '/x',
      ),
      /certificate/,
    );
    await other.close();
  } finally {
    await Promise.all([api.close(), connect.close(), socks.close()]);
  }
});

test('a proxy that refuses the tunnel fails the request with its answer, not a hang', async () => {
  const proxy = await connectProxy({ refuse: 403 });
  try {
    await assert.rejects(
      new KubeClient({ server: 'https://127.0.0.1:1', proxyUrl: proxy.url }, { requestMs: 5000 }).get('/x'),
      /the proxy 127\.0\.0\.1:\d+ refused the tunnel to 127\.0\.0\.1:1: HTTP 403/,
    );
    assert.deepEqual(proxy.tunnels, ['127.0.0.1:1']);
  } finally {
    await proxy.close();
  }
});

test("socks5 hands the API server's name to the proxy to resolve, as kubectl does", async () => {
  const api = await tlsServer((_req, res) => json(res, 200, { kind: 'NamespaceList' }));
  const port = new URL(api.url).port;
  // api.test resolves nowhere but at the proxy: a client that looked it up itself would fail.
  const socks = await socks5Proxy({ hosts: { 'api.test': '127.0.0.1' } });
  try {
    const client = new KubeClient({ server: `https://api.test:${port}`, ca: api.ca, proxyUrl: socks.url });
    assert.deepEqual(await client.get('/api/v1/namespaces'), { kind: 'NamespaceList' });
    client.close();
    assert.deepEqual(socks.tunnels, [`api.test:${port}`]);
  } finally {
    await Promise.all([api.close(), socks.close()]);
  }
});

/** The first IPv4 address of this machine that is not loopback (a pod's view of a Service IP). */
function nonLoopbackAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  assert.ok(address, 'this machine has no non-loopback IPv4 address');
  return address;
}

test("without a proxy-url the environment's HTTPS_PROXY is used, and NO_PROXY keeps the in-cluster API server direct", async () => {
  const address = nonLoopbackAddress();
  const tls = selfSignedCertificate('api.test');
  const seen: string[] = [];
  const api = await listenLocally(
    https.createServer(tls, (req, res) => (seen.push(req.url ?? ''), json(res, 200, {}))),
    address,
  );
  const port = new URL(api.url).port;
  const connect = await connectProxy({ hosts: { 'api.test': address } });
  const socks = await socks5Proxy({ hosts: { 'api.test': address } });
  const dir = mkdtempSync(join(tmpdir(), 'serviceaccount-'));
  writeFileSync(join(dir, 'token'), 'sa-token');
  writeFileSync(join(dir, 'ca.crt'), tls.cert);
  try {
    // A kubeconfig without proxy-url, in an environment with a proxy: through it.
    const env = { https_proxy: connect.url, NO_PROXY: 'localhost,.svc,10.96.0.0/12' };
    const viaEnv = new KubeClient({ server: `https://api.test:${port}`, ca: tls.cert }, { env });
    assert.equal(viaEnv.proxyUrl, connect.url);
    await viaEnv.get('/via-env');
    viaEnv.close();
    assert.deepEqual(connect.tunnels, [`api.test:${port}`]);

    // The kubeconfig's proxy-url wins over the environment.
    const named = new KubeClient(
      { server: `https://api.test:${port}`, ca: tls.cert, proxyUrl: socks.url },
      { env },
    );
    await named.get('/named');
    named.close();
    assert.deepEqual(socks.tunnels, [`api.test:${port}`]);
    assert.equal(connect.tunnels.length, 1);

    // In a pod: HTTPS_PROXY for the outside world, NO_PROXY listing the Service network. The
    // API server (here this machine's address, as the Service IP) is reached directly.
    const pod = inClusterAccess({ KUBERNETES_SERVICE_HOST: address, KUBERNETES_SERVICE_PORT: port }, dir);
    const podEnv = {
      HTTPS_PROXY: connect.url,
      NO_PROXY: `localhost,127.0.0.1,10.96.0.0/12,${address}/32,kubernetes.default.svc,.cluster.local`,
    };
    const inCluster = new KubeClient({ ...pod, tlsServerName: 'api.test' }, { env: podEnv });
    assert.equal(inCluster.proxyUrl, undefined);
    await inCluster.get('/in-cluster');
    inCluster.close();
    assert.equal(connect.tunnels.length, 1, 'the in-cluster request went through the proxy');
    assert.deepEqual(seen, ['/via-env', '/named', '/in-cluster']);

    // An environment proxy of an unsupported scheme stops the client at start, without echoing it.
    assert.throws(
      () => new KubeClient(pod, { env: { HTTPS_PROXY: 'ftp://user:secret@proxy:21' } }),
      (e: Error) =>
        /HTTPS_PROXY: proxy scheme "ftp" is not supported/.test(e.message) && !e.message.includes('secret'),
    );
  } finally {
    await Promise.all([api.close(), connect.close(), socks.close()]);
  }
});

test('$KUBECONFIG lists files merged as kubectl merges them; without any, the pod service account', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  const first = join(dir, 'first');
  const second = join(dir, 'second');
  writeFileSync(first, 'current-context: c\nusers: [{ name: u, user: { token: first } }]\n');
  writeFileSync(
    second,
    'current-context: other\nclusters: [{ name: k, cluster: { server: "https://k" } }]\n' +
      'users: [{ name: u, user: { token: second } }]\ncontexts: [{ name: c, context: { cluster: k, user: u } }]\n',
  );
  const access = loadClusterAccess(undefined, { KUBECONFIG: `${first}:${join(dir, 'missing')}:${second}` });
  assert.deepEqual(access, { server: 'https://k', token: 'first' });
  assert.throws(() => loadClusterAccess(undefined, { HOME: dir }), /no Kubernetes cluster configured/);

  const sa = mkdtempSync(join(tmpdir(), 'sa-'));
  writeFileSync(join(sa, 'token'), 't');
  writeFileSync(join(sa, 'ca.crt'), 'CA');
  writeFileSync(join(sa, 'namespace'), 'ops\n');
  const inCluster = inClusterAccess(
    { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
    sa,
  );
  assert.equal(inCluster.server, 'https://[fd00::1]:443');
  assert.equal(inCluster.tokenFile, join(sa, 'token'));
  assert.equal(inCluster.ca?.toString(), 'CA');
  assert.equal(inCluster.namespace, 'ops');
});

test("client-node's KubeConfig converts through its exported kubeconfig (as the tests and the CLI's other verbs hold it)", () => {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  assert.deepEqual(toClusterAccess(config), {
    server: 'https://127.0.0.1:6443',
    insecureSkipTlsVerify: true,
    token: 't',
  });
});

test('MicroTime has the six fraction digits the API server parses', () => {
  assert.equal(microTime(new Date('2026-01-02T03:04:05.678Z')), '2026-01-02T03:04:05.678000Z');
});
