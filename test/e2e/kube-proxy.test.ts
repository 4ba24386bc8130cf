// The operator reaches the plane's kube-apiserver through a forward proxy: the kubeconfig's
// proxy-url (an http CONNECT proxy, a SOCKS5 proxy) or, without one, HTTPS_PROXY from the
// environment. The API server is addressed by a name on its certificate that only the proxies
// resolve, so a connection that bypassed the proxy could not succeed. A proxy that refuses the
// tunnel (407) is reported as the proxy's refusal, not as an answer of the API server.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { Operator } from '../../src/controller/operator.js';
import { CRD_NAME } from '../../src/api/constants.js';
import type { ExportsKubeconfig } from '../../src/kube/config.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, testEnv, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient, startOperator } from '../support/operator.js';
import { baseSpec } from '../support/consumers.js';
import { operatorServiceAccountConfig } from '../support/service-account.js';
import { TEST_READ_LIMITS, testEndpointPolicy } from '../support/endpoints.js';
import { connectProxy, socks5Proxy, type ForwardProxy } from '../support/forward-proxy.js';

/** On the plane's serving certificate; resolvable here only by the test proxies. */
const API_NAME = 'kubernetes.default.svc';
const apiPort = () => new URL(testEnv().apiServerUrl).port;
const apiAddress = () => `${API_NAME}:${apiPort()}`;
const proxyHosts = { [API_NAME]: '127.0.0.1' };

let token: string;
const running = new Set<Operator>();

before(async () => {
  await installCrd(kubeConfig());
  token = (await operatorServiceAccountConfig()).getCurrentUser()!.token!;
});
after(async () => {
  await deleteTestNamespaces();
  await Promise.all([...running].map((o) => o.stop()));
});

/** The operator's kubeconfig (its ServiceAccount's token), with `proxy-url` when given. */
function kubeconfig(proxyUrl?: string): ExportsKubeconfig {
  const text = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'plane',
        cluster: {
          server: `https://${apiAddress()}`,
          'certificate-authority': testEnv().caFile,
          ...(proxyUrl ? { 'proxy-url': proxyUrl } : {}),
        },
      },
    ],
    users: [{ name: 'operator', user: { token } }],
    contexts: [{ name: 'operator', context: { cluster: 'plane', user: 'operator' } }],
    'current-context': 'operator',
  });
  return { exportConfig: () => text };
}

/** Runs an operator until it has created the Deployments of a new Consumer, then stops it. */
async function reconcileWith(start: () => Promise<Operator>, prefix: string): Promise<void> {
  const operator = await start();
  running.add(operator);
  try {
    const ns = await newNamespace(prefix);
    const consumers = new ConsumerClient();
    await consumers.create(
      ns,
      'orders',
      baseSpec({ namespace: ns, numPartitions: 2, numPartitionsPerInstance: 1 }),
    );
    await waitFor(
      `the Deployments of ${ns}/orders`,
      async () => (await consumers.deployments(ns)).length === 2,
    );
  } finally {
    running.delete(operator);
    await operator.stop();
  }
}

function assertTunnelledToApiServer(proxy: ForwardProxy): void {
  assert.ok(proxy.tunnels.length >= 1, `${proxy.url}: no tunnel`);
  assert.deepEqual(new Set(proxy.tunnels), new Set([apiAddress()]), proxy.tunnels.join(','));
}

test("through the kubeconfig's proxy-url: an http CONNECT proxy, then a SOCKS5 proxy", async () => {
  const connect = await connectProxy({ hosts: proxyHosts });
  const socks = await socks5Proxy({ hosts: proxyHosts });
  try {
    await reconcileWith(() => startOperator(kubeconfig(connect.url)), 'proxy-connect');
    assertTunnelledToApiServer(connect);
    await reconcileWith(() => startOperator(kubeconfig(socks.url)), 'proxy-socks');
    assertTunnelledToApiServer(socks);
  } finally {
    await Promise.all([connect.close(), socks.close()]);
  }
});

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];

/** Sets the proxy variables of this process while `run` runs, then puts them back as they were. */
async function withProxyEnvironment<T>(values: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = new Map(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
  try {
    return await run();
  } finally {
    for (const [name, value] of saved)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  }
}

test('without a proxy-url, through the HTTPS_PROXY of the environment (NO_PROXY not matching)', async () => {
  const connect = await connectProxy({ hosts: proxyHosts });
  try {
    // The operator's client reads the environment when it is made, at the operator's start.
    const start = () =>
      withProxyEnvironment(
        { HTTPS_PROXY: connect.url, NO_PROXY: 'localhost,.cluster.local,10.96.0.0/12' },
        () => startOperator(kubeconfig()),
      );
    await reconcileWith(start, 'proxy-env');
    assertTunnelledToApiServer(connect);
  } finally {
    await connect.close();
  }
});

test("a proxy that refuses the tunnel (407) is reported as the proxy's refusal; the operator starts once it lets through", async () => {
  const proxy = await connectProxy({ hosts: proxyHosts, refuse: 407 });
  const lines: { level: number; msg: string; err?: string; code?: number }[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const operator = new Operator({
    kubeConfig: kubeconfig(proxy.url),
    log,
    version: 'test',
    workers: 1,
    endpointPolicy: testEndpointPolicy(),
    readLimits: TEST_READ_LIMITS,
  });
  running.add(operator);
  const started = operator.start();
  try {
    const refusal = `the proxy ${new URL(proxy.url).host} refused the tunnel to ${apiAddress()}: HTTP 407`;
    await waitFor('the refusal in the log', async () =>
      lines.some((l) => l.msg === 'list or watch failed; restarting' && l.err === `Error: ${refusal}`),
    );
    // The CRD check says the same, with no status code of the API server's.
    const crd = lines.find((l) => l.msg.startsWith(`could not read CRD ${CRD_NAME}`));
    assert.equal(crd?.msg, `could not read CRD ${CRD_NAME}: ${refusal}`);
    assert.equal(crd?.code, undefined);
    assert.equal(operator.notReadyReason, 'caches not synced yet');
    assert.ok(
      proxy.tunnels.length >= 2 && proxy.tunnels.every((t) => t === apiAddress()),
      proxy.tunnels.join(','),
    );
    // Once the proxy lets it through, the start goes on without a restart.
    proxy.refuse = undefined;
    await started;
    assert.equal(operator.notReadyReason, undefined);
  } finally {
    // Stopped only once started: a start still waiting for its first list would go on after stop.
    proxy.refuse = undefined;
    await started.catch(() => undefined);
    running.delete(operator);
    await operator.stop();
    await proxy.close();
  }
});

test('stopped while its start still waits for the first list: nothing starts after the stop', async () => {
  const proxy = await connectProxy({ hosts: proxyHosts, refuse: 407 });
  const ns = await newNamespace('proxy-stop');
  const consumers = new ConsumerClient();
  await consumers.create(
    ns,
    'orders',
    baseSpec({ namespace: ns, numPartitions: 1, numPartitionsPerInstance: 1 }),
  );
  const operator = new Operator({
    kubeConfig: kubeconfig(proxy.url),
    log: pino({ level: 'silent' }),
    version: 'test',
    workers: 1,
    endpointPolicy: testEndpointPolicy(),
    readLimits: TEST_READ_LIMITS,
  });
  const started = operator.start();
  try {
    await waitFor('a refused tunnel', async () => proxy.tunnels.length >= 1);
    await operator.stop();
    proxy.refuse = undefined;
    await started;
    assert.equal(operator.isLeader, false, 'no worker started after the stop');
    assert.equal(operator.notReadyReason, 'stopping');
    // A worker would have created the Consumer's Deployment by now (one second between reads).
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await consumers.deployments(ns), []);
  } finally {
    await proxy.close();
  }
});
