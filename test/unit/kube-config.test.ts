// The deadlines the operator puts on its API requests and watches, set through client-node's own
// hooks: a signal on each request context, and the Watch's idle deadline (a field client-node's
// typings mark private, so an upgrade that renames it must fail here).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig, RequestContext, Watch } from '@kubernetes/client-node';
import { ApiSecretReader } from '../../src/controller/credentials.js';
import { describeApiError } from '../../src/controller/kube.js';
import { DEFAULT_REQUEST_MS, watchIdleMs, withDeadlines } from '../../src/controller/kube-config.js';
import { setWatchIdleMs } from '../../src/controller/cache.js';

function kubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return config;
}

test('every API request gets a deadline; one the caller set is kept', async () => {
  const config = withDeadlines(kubeConfig(), { requestMs: 50 });
  const context = new RequestContext('https://127.0.0.1:6443/api/v1/pods', 'GET');
  await config.applySecurityAuthentication(context);
  const signal = context.getSignal();
  assert.ok(signal && !signal.aborted);
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(signal.aborted, true, 'aborted after requestMs');
  assert.equal(
    context.getHeaders()['Authorization'],
    'Bearer t',
    "the original's authentication still applies",
  );

  const own = new AbortController();
  const mine = new RequestContext('https://127.0.0.1:6443/api/v1/pods', 'GET');
  mine.setSignal(own.signal);
  await config.applySecurityAuthentication(mine);
  assert.equal(mine.getSignal(), own.signal);
});

test("the watch deadline reaches client-node's Watch", () => {
  assert.equal(watchIdleMs(withDeadlines(kubeConfig(), { watchIdleMs: 5000 })), 5000);
  assert.equal(watchIdleMs(withDeadlines(kubeConfig())), DEFAULT_REQUEST_MS);
  assert.equal(watchIdleMs(kubeConfig()), DEFAULT_REQUEST_MS);
  const watch = new Watch(kubeConfig());
  assert.equal((watch as unknown as { requestTimeoutMs: unknown }).requestTimeoutMs, 30_000);
  assert.equal(setWatchIdleMs(watch, 1234), true);
  assert.equal((watch as unknown as { requestTimeoutMs: unknown }).requestTimeoutMs, 1234);
});

test('a request that hits its deadline is reported as such, not as an HTTP status', async () => {
  // An API server that accepts the connection and never answers.
  const server = http.createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    const core = withDeadlines(config, { requestMs: 300 }).makeApiClient(CoreV1Api);
    const error = await core.readNamespace({ name: 'default' }).then(
      () => assert.fail('the request should have hit its deadline'),
      (e: unknown) => e,
    );
    assert.deepEqual(describeApiError(error), {
      code: undefined,
      message: 'The operation was aborted due to timeout',
    });
    const secrets = new ApiSecretReader(withDeadlines(config, { requestMs: 300 }));
    await assert.rejects(secrets.read('ns', 'creds'), /no answer within the API request deadline/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
