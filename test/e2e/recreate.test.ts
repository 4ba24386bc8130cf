// A change of `deploymentTemplate.selector` (a field Kubernetes does not update) on a Consumer of
// 20 instances, each with one pod that kwok runs: the operator replaces every Deployment, and a
// poll every 200 ms checks that each partition always has an available pod (Ready, not being
// deleted) of either the old or the new Deployment. At the end nothing is left behind: 20
// Deployments with the new selector, each with one ReplicaSet and one pod, no held ReplicaSet,
// and (from the API server's audit log) no Deployment or ReplicaSet deleted twice. The second
// test SIGKILLs the operator process while the replacement is under way and starts another.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, makeInformer, type V1Pod } from '@kubernetes/client-node';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { REPLACED_FINALIZER, REPLACED_LABEL } from '../../src/api/constants.js';
import type { ManagedProcess } from '../../src/testplane/process.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient } from '../support/operator.js';
import { baseSpec } from '../support/consumers.js';
import {
  auditEvents,
  auditedOperatorIdentity,
  auditedUser,
  startOperatorProcess,
  successfulWrites,
} from '../support/operator-process.js';

const PARTITIONS = 20;
const POLL_MS = 200;
const LEASE = 'konsumerator-recreate-test';
const IDENTITY = 'recreate-test';

const consumers = new ConsumerClient();
const core = kubeConfig().makeApiClient(CoreV1Api);
const apps = kubeConfig().makeApiClient(AppsV1Api);
let kubeconfigFile = '';
let operator: ManagedProcess | undefined;
const startOperator = () =>
  (operator = startOperatorProcess({ name: `recreate-${Date.now()}`, kubeconfigFile, leaseName: LEASE }));

before(async () => {
  await installCrd(kubeConfig());
  kubeconfigFile = await auditedOperatorIdentity(IDENTITY);
  startOperator();
});
after(async () => {
  await operator?.stop(5000);
  await deleteTestNamespaces();
});

function specOf(namespace: string, track: string): ConsumerSpec {
  const labels = { app: 'orders-consumer', track };
  const spec = baseSpec({
    namespace,
    name: 'orders',
    numPartitions: PARTITIONS,
    numPartitionsPerInstance: 1,
  });
  spec.deploymentTemplate.selector = { matchLabels: labels };
  spec.deploymentTemplate.template.metadata = { labels };
  spec.resourcePolicy = {
    containerPolicies: [
      {
        containerName: 'consumer',
        minAllowed: { cpu: '10m', memory: '16M' },
        maxAllowed: { cpu: '100m', memory: '64M' },
      },
    ],
  };
  return spec;
}

const partitionOf = (pod: V1Pod) =>
  pod.spec?.containers?.[0]?.env?.find((e) => e.name === 'KONSUMERATOR_PARTITION')?.value;
const isAvailable = (pod: V1Pod) =>
  !pod.metadata?.deletionTimestamp &&
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** The partitions of 0..PARTITIONS-1 that no available pod serves. */
function uncoveredPartitions(pods: readonly V1Pod[]): string[] {
  const covered = new Set(pods.filter(isAvailable).map(partitionOf));
  return Array.from({ length: PARTITIONS }, (_, p) => String(p)).filter((p) => !covered.has(p));
}

/**
 * Checks that every partition has an available pod two ways until stopped: a poll every 200 ms
 * (which measures the longest gap), and a watch of the namespace's pods checked after every
 * change it reports (which sees each state the API server went through, however short).
 */
async function watchAvailability(namespace: string) {
  let stopped = false;
  let polls = 0;
  const uncovered = new Map<string, number>(); // partition → consecutive polls without a pod
  let longestGapPolls = 0;
  const gaps: string[] = [];
  const reasons = new Set<string>();
  const run = (async () => {
    while (!stopped) {
      const started = Date.now();
      const [pods, c] = await Promise.all([
        core.listNamespacedPod({ namespace }),
        consumers.get(namespace, 'orders'),
      ]);
      const missing = new Set(uncoveredPartitions(pods.items));
      for (let p = 0; p < PARTITIONS; p++) {
        const key = String(p);
        if (!missing.has(key)) uncovered.delete(key);
        else {
          const n = (uncovered.get(key) ?? 0) + 1;
          uncovered.set(key, n);
          longestGapPolls = Math.max(longestGapPolls, n);
          if (n === 1) gaps.push(`partition ${p} at poll ${polls}`);
        }
      }
      const progressing = c.status?.conditions?.find((x) => x.type === 'Progressing')?.reason;
      if (progressing) reasons.add(progressing);
      polls++;
      await sleep(Math.max(0, POLL_MS - (Date.now() - started)));
    }
  })();
  const watchGaps: string[] = [];
  let changes = 0;
  const informer = makeInformer(kubeConfig(), `/api/v1/namespaces/${namespace}/pods`, () =>
    core.listNamespacedPod({ namespace }),
  );
  let listed = false;
  const check = () => {
    // The first list fires one add per pod while the cache fills: checked once it is full.
    if (!listed) return;
    changes++;
    const missing = uncoveredPartitions(informer.list(namespace));
    if (missing.length > 0) watchGaps.push(`after change ${changes}: partitions ${missing.join(',')}`);
  };
  informer.on('add', check);
  informer.on('update', check);
  informer.on('delete', check);
  informer.on('error', (err: unknown) => watchGaps.push(`the watch failed: ${String(err)}`));
  await informer.start();
  listed = true;
  check();
  return {
    async stop() {
      stopped = true;
      await run;
      await informer.stop();
      return { polls, longestGapPolls, gaps, reasons, watchGaps, changes };
    },
  };
}

/** 20 instances with the old selector, every pod available. */
async function startConsumer(prefix: string) {
  const ns = await newNamespace(prefix);
  await consumers.create(ns, 'orders', specOf(ns, 'v1'));
  await consumers.waitReady(ns, 'orders', 90_000);
  await waitFor('a pod available for every partition', async () => {
    const pods = (await core.listNamespacedPod({ namespace: ns })).items.filter(isAvailable);
    return new Set(pods.map(partitionOf)).size === PARTITIONS && pods.length === PARTITIONS;
  });
  return ns;
}

/** Nothing left behind: the new Deployments, one ReplicaSet and one pod each, nothing held. */
async function assertClean(ns: string) {
  const settled = await waitFor(
    'only the new Deployments, ReplicaSets and pods',
    async () => {
      const deployments = await consumers.deployments(ns);
      const sets = (await apps.listNamespacedReplicaSet({ namespace: ns })).items;
      const pods = (await core.listNamespacedPod({ namespace: ns })).items;
      const ok =
        deployments.length === PARTITIONS &&
        deployments.every((d) => d.spec?.selector?.matchLabels?.track === 'v2') &&
        sets.length === PARTITIONS &&
        pods.length === PARTITIONS &&
        pods.every(isAvailable);
      return ok ? { deployments, sets, pods } : undefined;
    },
    60_000,
  );
  const uids = new Set(settled.deployments.map((d) => d.metadata!.uid));
  for (const rs of settled.sets) {
    assert.ok(
      rs.metadata?.ownerReferences?.some((r) => r.controller && uids.has(r.uid)),
      `${rs.metadata?.name} belongs to a current Deployment`,
    );
    assert.equal(rs.metadata?.labels?.[REPLACED_LABEL], undefined, `${rs.metadata?.name} is not marked`);
    assert.ok(!rs.metadata?.finalizers?.includes(REPLACED_FINALIZER));
  }
  assert.deepEqual(
    new Set(settled.pods.map(partitionOf)),
    new Set(Array.from({ length: PARTITIONS }, (_, p) => String(p))),
  );
}

/**
 * Each Deployment and ReplicaSet of the namespace deleted at most once by the operator, and every
 * old Deployment deleted by it. A delete in flight when the operator is SIGKILLed can take effect
 * while the API server records it as failed (the request's context is cancelled with the dropped
 * connection after the write); its successor then waits for that deletion instead of repeating
 * it. So the second count is of delete requests, whatever their answer.
 */
function assertNothingDeletedTwice(ns: string) {
  const requests = auditEvents([auditedUser(IDENTITY)]).filter(
    (e) => e.namespace === ns && e.verb === 'delete',
  );
  const deletes = successfulWrites(requests);
  const seen = new Map<string, number>();
  for (const e of deletes)
    seen.set(`${e.resource}/${e.name}`, (seen.get(`${e.resource}/${e.name}`) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], 'nothing deleted twice');
  const deployments = new Set(requests.filter((e) => e.resource === 'deployments').map((e) => e.name));
  assert.equal(deployments.size, PARTITIONS, 'every old Deployment deleted by the operator');
  return deletes.length;
}

const events = async (ns: string, reason: string) =>
  (await core.listNamespacedEvent({ namespace: ns })).items.filter(
    (e) => e.reason === reason && e.source?.component === 'konsumerator',
  );

test(
  'a selector change on 20 instances recreates every Deployment with a pod available for every partition',
  { timeout: 150_000 },
  async (t) => {
    const ns = await startConsumer('recreate');
    const watch = await watchAvailability(ns);
    const t0 = Date.now();
    await consumers.setSpec(ns, 'orders', specOf(ns, 'v2'));
    await consumers.waitReady(ns, 'orders', 90_000);
    await assertClean(ns);
    const seen = await watch.stop();
    t.diagnostic(
      `converged in ${Date.now() - t0} ms; ${seen.polls} polls, ${seen.changes} pod changes watched; longest gap ${seen.longestGapPolls * POLL_MS} ms`,
    );
    assert.deepEqual(seen.gaps, [], 'every partition had an available pod at every poll');
    assert.deepEqual(seen.watchGaps, [], 'and after every change of a pod');
    assert.ok(seen.reasons.has('Recreating'), `status said Recreating (saw ${[...seen.reasons].join(', ')})`);
    assert.ok((await events(ns, 'Recreating')).length > 0, 'a Recreating event');
    assert.ok((await events(ns, 'Recreated')).length > 0, 'a Recreated event');
    assertNothingDeletedTwice(ns);
  },
);

test(
  'the operator SIGKILLed in the middle of a selector change: its successor finishes it, without a gap',
  { timeout: 150_000 },
  async (t) => {
    const ns = await startConsumer('recreate-kill');
    const watch = await watchAvailability(ns);
    const t0 = Date.now();
    await consumers.setSpec(ns, 'orders', specOf(ns, 'v2'));
    // In the middle: some old ReplicaSets are held, and not every Deployment has been replaced.
    await waitFor(
      'the replacement under way',
      async () => {
        const held = (await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: REPLACED_LABEL }))
          .items;
        return held.length > 0 && held.length < PARTITIONS;
      },
      60_000,
    );
    const victim = operator!;
    process.kill(victim.pid, 'SIGKILL');
    const exit = await victim.exited;
    assert.equal(exit.signal, 'SIGKILL');
    const killedAt = Date.now() - t0;
    const held = (await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: REPLACED_LABEL })).items
      .length;
    startOperator();
    await consumers.waitReady(ns, 'orders', 120_000);
    await assertClean(ns);
    const seen = await watch.stop();
    t.diagnostic(
      `killed ${killedAt} ms after the change with ${held} old ReplicaSets held; converged after ${Date.now() - t0} ms; ` +
        `${seen.polls} polls, ${seen.changes} pod changes watched; longest gap ${seen.longestGapPolls * POLL_MS} ms`,
    );
    assert.deepEqual(seen.gaps, [], 'every partition had an available pod at every poll');
    assert.deepEqual(seen.watchGaps, [], 'and after every change of a pod');
    assertNothingDeletedTwice(ns);
  },
);
