// Control-plane faults under a running operator: the API server killed and restarted (with the
// operator cut off, and with it connected), watches that expire (410 Gone) while changes are
// made, write conflicts (409), a slow API server, and one that accepts requests and never
// answers. The operator talks to the real API server through a fault proxy, which also shows its
// requests as they happened on the wire; the periodic resync is set to 10 minutes, so nothing
// here is repaired by it: whatever happened while the operator was not watching must come back
// through the watches and relists.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { Operator } from '../../src/controller/operator.js';
import { createLogger, silentLogger } from '../../src/util/log.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { kubeStatus, type FaultProxy } from '../../src/testplane/fault-proxy.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient } from '../support/operator.js';
import { baseSpec } from '../support/consumers.js';
import { apiServerProxy, isApplyOf, isList, isWatch, restartApiServer } from '../support/faults.js';

const DEPLOYMENTS = '/apis/apps/v1/deployments';
const consumers = new ConsumerClient();
const apps = kubeConfig().makeApiClient(AppsV1Api);
const core = kubeConfig().makeApiClient(CoreV1Api);
let proxy: FaultProxy;
let operator: Operator | undefined;

before(async () => {
  await installCrd(kubeConfig());
  const made = await apiServerProxy();
  proxy = made.proxy;
  operator = new Operator({
    kubeConfig: made.config,
    log: process.env.KONSUMERATOR_TEST_LOGS ? createLogger('debug') : silentLogger(),
    version: 'test',
    resyncMs: 600_000,
    workers: 4,
    // Shorter than the 30 s default, to keep the hung-request test short.
    deadlines: { requestMs: 5000, watchIdleMs: 5000 },
  });
  await operator.start();
});
after(async () => {
  proxy.clearRules();
  await deleteTestNamespaces();
  await operator?.stop();
  await proxy.close();
});

const spec = (ns: string, name: string, numPartitions: number): ConsumerSpec =>
  baseSpec({ namespace: ns, name, numPartitions, numPartitionsPerInstance: 1 });

async function deploymentsOf(ns: string): Promise<V1Deployment[]> {
  return (await apps.listNamespacedDeployment({ namespace: ns })).items.sort((a, b) =>
    a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true }),
  );
}

/** Waits until the namespace holds exactly these Deployments; returns them by name. */
async function waitForDeployments(
  ns: string,
  names: string[],
  timeoutMs = 90_000,
): Promise<Map<string, V1Deployment>> {
  const want = [...names].sort().join(',');
  return waitFor(
    `Deployments ${want} in ${ns}`,
    async () => {
      const list = await deploymentsOf(ns);
      const have = list.map((d) => d.metadata!.name!).sort();
      return have.join(',') === want ? new Map(list.map((d) => [d.metadata!.name!, d])) : undefined;
    },
    timeoutMs,
  );
}

/** How often each Deployment was applied (successfully or not) since `mark`. */
function appliesSince(ns: string, names: string[], mark: number): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, proxy.count(isApplyOf(ns, n), mark)]));
}

const ones = (names: string[]) => Object.fromEntries(names.map((n) => [n, 1]));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const relative = (ms: number) => `${seconds(Math.abs(ms))} ${ms < 0 ? 'before' : 'after'}`;

test(
  'API server restarted while the operator is cut off: what changed meanwhile is handled once it reconnects',
  { timeout: 240_000 },
  async (t) => {
    const ns = await newNamespace('cp-restart');
    await consumers.create(ns, 'a', spec(ns, 'a', 2));
    const before = await waitForDeployments(ns, ['a-0', 'a-1']);
    await consumers.waitReady(ns, 'a');

    // The operator loses the API server; the API server restarts; the world changes.
    await proxy.stop();
    const restart = await restartApiServer({ kill: true });
    await consumers.create(ns, 'b', spec(ns, 'b', 2));
    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'a-0' });
    await consumers.setSpec(ns, 'a', spec(ns, 'a', 3));
    const mark = proxy.log.length;
    const t0 = Date.now();
    await proxy.start();

    const after = await waitForDeployments(ns, ['a-0', 'a-1', 'a-2', 'b-0', 'b-1']);
    assert.notEqual(after.get('a-0')!.metadata!.uid, before.get('a-0')!.metadata!.uid, 'a-0 re-created');
    await waitFor('a-1 updated to the new spec', async () => {
      const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'a-1' });
      const env = d.spec!.template.spec!.containers[0]!.env ?? [];
      return env.find((e) => e.name === 'KONSUMERATOR_NUM_PARTITIONS')?.value === '3' ? true : undefined;
    });
    const convergedMs = Date.now() - t0;
    await consumers.waitReady(ns, 'a');
    await consumers.waitReady(ns, 'b');
    // Each change was written once: no Deployment written twice.
    const writes = proxy.log
      .slice(mark)
      .filter((e) => e.method !== 'GET' && e.path.includes(`/namespaces/${ns}/`))
      .map((e) => `${e.method} ${e.path.slice(e.path.lastIndexOf('/') + 1)} ${e.status}`);
    // a-0's deletion and a's new spec reach the two caches in either order after reconnecting; when
    // the spec comes first, a-0 is written from the stale view and once more from the fresh one
    // (seen once, on a loaded machine; not reproduced alone). Every other instance is written once.
    const applies = appliesSince(ns, ['a-0', 'a-1', 'a-2', 'b-0', 'b-1'], mark);
    assert.ok(applies['a-0']! >= 1 && applies['a-0']! <= 2, `a-0: ${writes.join('; ')}`);
    assert.deepEqual(
      { ...applies, 'a-0': 1 },
      ones(['a-0', 'a-1', 'a-2', 'b-0', 'b-1']),
      `writes after reconnecting: ${writes.join('; ')}`,
    );
    const lists = proxy.count(isList(DEPLOYMENTS), mark);
    const watches = proxy.count(isWatch(DEPLOYMENTS), mark);
    t.diagnostic(
      `API server unavailable ${seconds(restart.unavailableMs)} (SIGKILL, start ${seconds(restart.startMs)}); after reconnecting: converged in ${seconds(convergedMs)}, ` +
        `${lists} Deployment relist(s), ${watches} Deployment watch request(s)`,
    );
    assert.ok(watches >= 1);
  },
);

test(
  'API server killed and restarted under a connected operator: watches resume and a Consumer created right after is handled',
  { timeout: 240_000 },
  async (t) => {
    const ns = await newNamespace('cp-kill');
    const mark = proxy.log.length;
    const killedAt = Date.now();
    const restart = await restartApiServer({ kill: true, downMs: 1000 });
    const back = Date.now();
    await consumers.create(ns, 'c', spec(ns, 'c', 2));
    await waitForDeployments(ns, ['c-0', 'c-1']);
    await consumers.waitReady(ns, 'c');
    const handledMs = Date.now() - back;
    // The watches broke with the API server and came back (a little before /readyz said so, at times).
    const resumedAt = (path: string) =>
      Math.min(
        ...proxy.log
          .slice(mark)
          .filter((e) => e.watch && e.status === 200 && e.path === path && e.at > killedAt)
          .map((e) => e.at),
      );
    const deploymentsBack = resumedAt(DEPLOYMENTS);
    const consumersBack = resumedAt('/apis/konsumerator.lwolf.org/v1/consumers');
    assert.ok(Number.isFinite(deploymentsBack), 'the Deployment watch was re-established');
    assert.ok(Number.isFinite(consumersBack), 'the Consumer watch was re-established');
    t.diagnostic(
      `API server unavailable ${seconds(restart.unavailableMs)} (SIGKILL, 1 s down, start ${seconds(restart.startMs)}); ` +
        `watches re-established ${relative(deploymentsBack - back)} (Deployments) and ${relative(consumersBack - back)} (Consumers) ` +
        `it passed /readyz; a Consumer created then was Ready after ${seconds(handledMs)}; ` +
        `${proxy.count(isList(DEPLOYMENTS), mark)} Deployment relist(s), ` +
        `${proxy.count((e) => e.watch && e.status === 0, mark)} watch attempt(s) refused while it was down`,
    );
    assert.deepEqual(appliesSince(ns, ['c-0', 'c-1'], mark), ones(['c-0', 'c-1']));
  },
);

test(
  'a watch that expires (410 Gone) while changes are made: the relist finds them, and nothing is done twice',
  { timeout: 180_000 },
  async (t) => {
    const ns = await newNamespace('cp-gone');
    await consumers.create(ns, 'a', spec(ns, 'a', 2));
    const before = await waitForDeployments(ns, ['a-0', 'a-1']);
    await consumers.waitReady(ns, 'a');

    // The Deployment watch breaks and cannot be re-established for a while.
    const mark = proxy.log.length;
    const unblock = proxy.add({
      name: 'watch-unavailable',
      match: (r) => r.watch && r.path === DEPLOYMENTS,
      action: {
        kind: 'respond',
        status: 503,
        body: kubeStatus(503, 'ServiceUnavailable', 'fault proxy: watch unavailable'),
      },
    });
    proxy.cutConnections();
    await waitFor('a refused Deployment watch', async () =>
      proxy.count((e) => e.fault === 'watch-unavailable', mark) > 0 ? true : undefined,
    );
    // Meanwhile: a Deployment is deleted behind the operator's back and a Consumer is created,
    // whose Deployments the operator creates without seeing them in its cache.
    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'a-1' });
    await consumers.create(ns, 'd', spec(ns, 'd', 2));
    await waitFor('d-0 and d-1 applied', async () =>
      proxy.count(isApplyOf(ns, 'd-0'), mark) > 0 && proxy.count(isApplyOf(ns, 'd-1'), mark) > 0
        ? true
        : undefined,
    );

    // The watch comes back, but the resourceVersion it resumes from has expired.
    const expiredAt = proxy.log.length;
    unblock();
    proxy.add({
      name: 'watch-expired',
      match: (r) => r.watch && r.path === DEPLOYMENTS,
      action: { kind: 'watch-error', code: 410, message: 'too old resource version (fault proxy)' },
      times: 1,
    });
    const after = await waitForDeployments(ns, ['a-0', 'a-1', 'd-0', 'd-1']);
    assert.notEqual(after.get('a-1')!.metadata!.uid, before.get('a-1')!.metadata!.uid, 'a-1 re-created');
    await consumers.waitReady(ns, 'd');
    await consumers.waitReady(ns, 'a');
    assert.equal(
      proxy.count((e) => e.fault === 'watch-expired', expiredAt),
      1,
      'the 410 was delivered',
    );
    const relists = proxy.count(isList(DEPLOYMENTS), expiredAt);
    assert.equal(relists, 1, 'one relist after the 410');
    assert.deepEqual(appliesSince(ns, ['a-0', 'a-1', 'd-0', 'd-1'], mark), {
      'a-0': 0,
      'a-1': 1,
      'd-0': 1,
      'd-1': 1,
    });

    // The other form of 410: the watch request itself answered 410.
    const httpGoneAt = proxy.log.length;
    proxy.add({
      name: 'watch-gone-status',
      match: (r) => r.watch && r.path === DEPLOYMENTS,
      action: { kind: 'respond', status: 410, body: kubeStatus(410, 'Gone', 'fault proxy: gone') },
      times: 1,
    });
    proxy.cutConnections();
    await waitFor('relist after an HTTP 410', async () =>
      proxy.count(isList(DEPLOYMENTS), httpGoneAt) >= 1 && proxy.count(isWatch(DEPLOYMENTS), httpGoneAt) >= 2
        ? true
        : undefined,
    );
    t.diagnostic(
      `watch refused ${proxy.count((e) => e.fault === 'watch-unavailable', mark)} time(s) while blocked; ` +
        `relists: ${relists} after the 410 ERROR event, ${proxy.count(isList(DEPLOYMENTS), httpGoneAt)} after the HTTP 410`,
    );
  },
);

test(
  'write conflicts (409) are retried until the Consumer converges, and a concurrent writer loses to the spec',
  { timeout: 180_000 },
  async (t) => {
    const ns = await newNamespace('cp-conflict');
    const mark = proxy.log.length;
    const conflict = kubeStatus(
      409,
      'Conflict',
      'Operation cannot be fulfilled: the object has been modified',
    );
    proxy.add({
      name: 'apply-conflict',
      match: (r) => r.method === 'PATCH' && r.path.startsWith(`/apis/apps/v1/namespaces/${ns}/deployments/`),
      action: { kind: 'respond', status: 409, body: conflict },
      times: 2,
    });
    proxy.add({
      name: 'status-conflict',
      match: (r) =>
        r.method === 'PATCH' && r.path.startsWith(`/apis/konsumerator.lwolf.org/v1/namespaces/${ns}/`),
      action: { kind: 'respond', status: 409, body: conflict },
      times: 1,
    });
    await consumers.create(ns, 'e', spec(ns, 'e', 3));
    const names = ['e-0', 'e-1', 'e-2'];
    await waitForDeployments(ns, names);
    await consumers.waitReady(ns, 'e');
    assert.equal(
      proxy.count((e) => e.fault === 'apply-conflict', mark),
      2,
    );
    assert.equal(
      proxy.count((e) => e.fault === 'status-conflict', mark),
      1,
    );
    const applied = (n: string) =>
      proxy.count((e) => isApplyOf(ns, n)(e) && e.status >= 200 && e.status < 300, mark);
    assert.deepEqual(Object.fromEntries(names.map((n) => [n, applied(n)])), ones(names), 'each written once');

    // A concurrent writer changes e-0's image, with optimistic concurrency, for 5 seconds. Each of
    // its accepted writes is checked on the answer: a new generation with its image.
    const generationBefore = (await apps.readNamespacedDeployment({ namespace: ns, name: 'e-0' })).metadata!
      .generation!;
    const writerStart = proxy.log.length;
    let writes = 0;
    let conflicts = 0;
    const end = Date.now() + 5000;
    while (Date.now() < end) {
      const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'e-0' });
      const image = `example.com/intruder:${writes}`;
      d.spec!.template.spec!.containers[0]!.image = image;
      try {
        const written = await apps.replaceNamespacedDeployment({ namespace: ns, name: 'e-0', body: d });
        assert.equal(written.spec!.template.spec!.containers[0]!.image, image, 'the writer wrote its image');
        assert.ok(written.metadata!.generation! > d.metadata!.generation!, 'the write changed the spec');
        writes++;
      } catch (error) {
        if ((error as { code?: number }).code === 409) conflicts++;
        else throw error;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await waitFor('e-0 back to the spec image', async () => {
      const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'e-0' });
      return d.spec!.template.spec!.containers[0]!.image === 'example.com/orders-consumer:1.0'
        ? true
        : undefined;
    });
    // The writer wrote (a try meets a conflict only when the operator wrote e-0 between the
    // writer's read and its write), and the operator wrote e-0 back with applies of its own. Every
    // spec change raises the generation by one: the writer's writes and the applies that reverted
    // them account for all of it, and at least the last of the writer's writes was reverted.
    const reverts = proxy.count(
      (e) => isApplyOf(ns, 'e-0')(e) && e.status >= 200 && e.status < 300,
      writerStart,
    );
    const generationAfter = (await apps.readNamespacedDeployment({ namespace: ns, name: 'e-0' })).metadata!
      .generation!;
    assert.ok(writes >= 1, `the concurrent writer wrote nothing (${conflicts} conflicts)`);
    assert.ok(reverts >= 1, 'the operator wrote e-0 back');
    assert.ok(
      generationAfter - generationBefore >= writes + 1 &&
        generationAfter - generationBefore <= writes + reverts,
      `generation ${generationBefore} → ${generationAfter}: ${writes} write(s) by the writer, ${reverts} apply(s) by the operator`,
    );
    // Settled: no more writes to e-0.
    await new Promise((r) => setTimeout(r, 1000));
    const quiet = proxy.log.length;
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(proxy.count(isApplyOf(ns, 'e-0'), quiet), 0, 'no writes once converged');
    t.diagnostic(
      `409s injected: 2 applies + 1 status write, all retried; concurrent writer: ${writes} write(s), ${conflicts} real 409(s) it got; ` +
        `the operator's applies of e-0 meanwhile: ${reverts}; generation ${generationBefore} → ${generationAfter}`,
    );
  },
);

test(
  'a slow API server (800 ms per request, 200 ms per watch chunk): converges, each Deployment written once',
  { timeout: 180_000 },
  async (t) => {
    const ns = await newNamespace('cp-slow');
    const mark = proxy.log.length;
    const slow = proxy.add({ name: 'slow', action: { kind: 'delay', ms: 800, chunkMs: 200 } });
    try {
      const t0 = Date.now();
      await consumers.create(ns, 'f', spec(ns, 'f', 4));
      const names = ['f-0', 'f-1', 'f-2', 'f-3'];
      await waitForDeployments(ns, names);
      await consumers.waitReady(ns, 'f', 120_000);
      const convergedMs = Date.now() - t0;
      assert.deepEqual(appliesSince(ns, names, mark), ones(names), 'each Deployment written once');
      const quiet = proxy.log.length;
      await new Promise((r) => setTimeout(r, 5000));
      const later = proxy.log
        .slice(quiet)
        .filter(
          (e) => e.method !== 'GET' && e.path.includes(`/namespaces/${ns}/`) && !e.path.endsWith('/events'),
        );
      assert.deepEqual(
        later.map((e) => `${e.method} ${e.path}`),
        [],
        'no writes once converged',
      );
      t.diagnostic(
        `converged in ${seconds(convergedMs)} with 800 ms added to every request; status writes: ` +
          `${proxy.count((e) => e.method === 'PATCH' && e.path.endsWith('/f/status'), mark)}`,
      );
    } finally {
      slow();
    }
  },
);

test(
  'an API server that accepts requests and never answers: the watch and the write give up at their deadline and are retried',
  { timeout: 120_000 },
  async (t) => {
    const ns = await newNamespace('cp-hang');
    await consumers.create(ns, 'h', spec(ns, 'h', 2));
    const before = await waitForDeployments(ns, ['h-0', 'h-1']);
    await consumers.waitReady(ns, 'h');
    const mark = proxy.log.length;
    const releaseWatch = proxy.add({
      name: 'hung-watch',
      match: (r) => r.watch && r.path === DEPLOYMENTS,
      action: { kind: 'hang' },
    });
    proxy.add({
      name: 'hung-apply',
      match: (r) => r.method === 'PATCH' && r.path === `/apis/apps/v1/namespaces/${ns}/deployments/h-1`,
      action: { kind: 'hang' },
      times: 1,
    });
    proxy.cutConnections();
    await waitFor('a hung Deployment watch', async () =>
      proxy.count((e) => e.fault === 'hung-watch', mark) > 0 ? true : undefined,
    );
    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'h-1' });
    // From now on watches are answered, but the one already hanging stays so until its deadline.
    releaseWatch();
    const t0 = Date.now();
    // The deletion is immediate (background propagation): h-1 present again means re-created.
    const after = (await waitForDeployments(ns, ['h-0', 'h-1'], 60_000)).get('h-1')!;
    const repairedMs = Date.now() - t0;
    assert.notEqual(after.metadata!.uid, before.get('h-1')!.metadata!.uid);
    assert.equal(
      proxy.count((e) => e.fault === 'hung-apply', mark),
      1,
      'the first apply hung',
    );
    assert.equal(
      proxy.count((e) => isApplyOf(ns, 'h-1')(e) && e.status >= 200 && e.status < 300, mark),
      1,
      'then one apply went through',
    );
    t.diagnostic(
      `hung watch and hung apply (5 s deadlines): h-1 re-created ${seconds(repairedMs)} after the watch could resume`,
    );
  },
);

test(
  'a Secret GET that never answers: the credentials read fails at the client deadline, and the next read gets the Secret',
  { timeout: 120_000 },
  async (t) => {
    const ns = await newNamespace('cp-secret-hang');
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'prom-auth' }, stringData: { token: 't' } },
    });
    const secretPath = `/api/v1/namespaces/${ns}/secrets/prom-auth`;
    const mark = proxy.log.length;
    proxy.add({
      name: 'hung-secret',
      match: (r) => r.method === 'GET' && r.path === secretPath,
      action: { kind: 'hang' },
      times: 1,
    });
    const query = { query: 'vector(1)', partitionLabel: 'partition' };
    const s = spec(ns, 's', 1);
    s.autoscaler = {
      mode: 'prometheus',
      prometheus: {
        // Nothing listens there: once the Secret is read, the read fails on the connection instead.
        address: ['http://127.0.0.1:1'],
        offset: query,
        production: query,
        consumption: query,
        auth: { secretRef: { name: 'prom-auth' }, bearerTokenKey: 'token' },
        // The Secrets are read again once per minSyncPeriod: the first failure stays on the
        // status for about 10 s after the 5 s deadline, long enough to be seen.
        minSyncPeriod: '15s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '5s',
        criticalLag: '1h',
        recoveryTime: '10s',
      },
    };
    const t0 = Date.now();
    await consumers.create(ns, 's', s);
    const metricsMessage = async (pattern: RegExp) => {
      const c = await consumers.get(ns, 's');
      const metrics = c.status?.conditions?.find((x) => x.type === 'MetricsAvailable');
      if (metrics?.status === 'False' && pattern.test(metrics.message)) return metrics.message;
      throw new Error(`MetricsAvailable is ${metrics?.status} (${metrics?.message})`);
    };
    const failed = await waitFor('the hung Secret GET reported', () =>
      metricsMessage(
        new RegExp(
          `cannot read Secret ${ns}/prom-auth \\(wanted: key "token".*\\): no answer within the API request deadline`,
        ),
      ),
    );
    const failedMs = Date.now() - t0;
    await waitFor('the Secret read on the next try', () => metricsMessage(/prometheus: no usable answer/));
    assert.equal(
      proxy.count((e) => e.fault === 'hung-secret', mark),
      1,
      'the first GET hung',
    );
    assert.ok(
      proxy.count((e) => e.path === secretPath && e.status === 200, mark) >= 1,
      'a later GET read the Secret',
    );
    t.diagnostic(
      `hung Secret GET (5 s request deadline) reported ${seconds(failedMs)} after create: ${failed}`,
    );
  },
);
