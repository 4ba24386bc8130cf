// When a pod cannot be resized in place, InPlaceOrRollout rolls the instance out once (a new pod
// is scheduled where it fits) and InPlace reports it and leaves the pod. kwok's fake nodes make a
// resize Infeasible (static CPU manager), Deferred (a small, busy node) or refused by the API
// server (beyond the node's allocatable); see "In-place resize on kwok" in docs/testplane.md.
import { after, before, describe, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Operator } from '../../src/controller/operator.js';
import { SMALL_NODE, STATIC_CPU_NODE, placeOnNode } from '../../src/testplane/index.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient, apiRequestCounts, operatorWrites, startOperator } from '../support/operator.js';
import {
  busy,
  calm,
  cluster,
  envOf,
  instancePods,
  replicaSetUids,
  restartsOf,
  sized,
  specOf,
  staticSpec,
  statusOf,
  waitPodAt,
} from '../support/in-place.js';
import { PodHistory } from '../support/pod-resize.js';

const consumers = new ConsumerClient();
let operator: Operator | undefined;

before(async () => {
  await installCrd(kubeConfig());
  // The default bound for a Deferred resize (5 minutes): the lagging instance below must not wait it.
  operator = await startOperator(undefined, 60_000);
});
after(async () => {
  await deleteTestNamespaces();
  await operator?.stop();
});

const events = async (namespace: string, reason: string) =>
  (await kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({ namespace })).items.filter(
    (e) => e.reason === reason && e.source?.component === 'konsumerator',
  );

const waitEvent = (namespace: string, reason: string) =>
  waitFor(`a ${reason} event`, async () => {
    const list = await events(namespace, reason);
    return list.length > 0 ? list : undefined;
  });

/** Starts a one-instance Consumer and waits until its pod runs with `resources`. */
async function oneInstance(
  prefix: string,
  partition: typeof calm,
  resources: ReturnType<typeof sized>,
  extra: Parameters<typeof staticSpec>[1] extends infer O ? Partial<O> : never = {},
) {
  const ns = await newNamespace(prefix);
  const spec = (p: typeof calm) => staticSpec(ns, { partitions: { '0': p }, ...extra });
  await consumers.create(ns, 'orders', spec(partition));
  await consumers.waitReady(ns, 'orders');
  const pod = await waitPodAt(ns, 'orders-0', resources);
  return { ns, spec, pod, replicaSets: await replicaSetUids(ns) };
}

const small = { requests: { cpu: '100m', memory: '100M' }, limits: { cpu: '1', memory: '100M' } };

describe('InPlaceOrRollout falls back to one rollout', () => {
  test('Infeasible: a Guaranteed pod on a node with the static CPU manager', async () => {
    const { ns, spec, pod, replicaSets } = await oneInstance(
      'fallback-infeasible',
      busy(1),
      sized('1', '100M'),
      {
        podSpec: placeOnNode(STATIC_CPU_NODE, 'preferred'),
      },
    );
    assert.equal(pod.spec!.nodeName, STATIC_CPU_NODE.name);
    await consumers.setSpec(ns, 'orders', spec(busy(3)));
    const replacement = await waitPodAt(ns, 'orders-0', sized('3', '300M'));
    assert.notEqual(replacement.metadata!.uid, pod.metadata!.uid, 'a new pod');
    assert.deepEqual(restartsOf(replacement), { consumer: 0 });
    assert.equal((await replicaSetUids(ns)).length, replicaSets.length + 1, 'exactly one rollout');
    const [fallback] = await waitEvent(ns, 'ResizeFallback');
    assert.match(fallback!.message!, /orders-0: rolling out instead of resizing in place: Infeasible/);
    const deployment = (await instancePods(ns)).get('orders-0')!.deployment;
    assert.deepEqual(
      specOf({ spec: deployment.spec!.template.spec! }),
      sized('3', '300M'),
      'the template carries it',
    );
    // Settled: no more rollouts, and the condition says resizes are in place again.
    await waitFor('InPlaceResize back to InPlace, the scale-up done', async () => {
      const c = await consumers.get(ns, 'orders');
      return (
        c.status?.conditions?.find((x) => x.type === 'InPlaceResize')?.reason === 'InPlace' &&
        c.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True' &&
        // The status lists the last change while its size stands.
        c.status.instances?.[0]?.action === 'scale-up' &&
        c.status.instances[0].cpu === '3'
      );
    });
    const quiet = await apiRequestCounts();
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(operatorWrites(quiet, await apiRequestCounts()), {}, 'nothing more to do');
    assert.equal((await replicaSetUids(ns)).length, replicaSets.length + 1);
  });

  test('NodeCapacity: the API server refuses a resize beyond the node’s allocatable (403)', async () => {
    const { ns, spec, pod, replicaSets } = await oneInstance('fallback-capacity', calm, small, {
      podSpec: placeOnNode(SMALL_NODE, 'preferred'),
    });
    assert.equal(pod.spec!.nodeName, SMALL_NODE.name);
    await consumers.setSpec(ns, 'orders', spec(busy(5)));
    const replacement = await waitPodAt(ns, 'orders-0', sized('5', '500M'));
    assert.notEqual(replacement.metadata!.uid, pod.metadata!.uid);
    assert.equal(replacement.spec!.nodeName, 'kwok-node-0', 'scheduled where it fits');
    assert.equal((await replicaSetUids(ns)).length, replicaSets.length + 1, 'exactly one rollout');
    const [fallback] = await waitEvent(ns, 'ResizeFallback');
    assert.match(fallback!.message!, /NodeCapacity/);
  });

  test('Deferred while the instance lags: a small node whose neighbour leaves no room, rolled out without waiting the bound', async () => {
    const { ns, spec, pod, replicaSets } = await oneInstance('fallback-deferred', calm, small, {
      podSpec: placeOnNode(SMALL_NODE, 'preferred'),
    });
    // Every version of the pod, watched: with no bound to wait, the Deferred state may last less
    // than a poll.
    const history = await PodHistory.watch(pod);
    await consumers.setSpec(ns, 'orders', spec(busy(3)));
    const replacement = await waitPodAt(ns, 'orders-0', sized('3', '300M'));
    history.close();
    // First the node deferred it: the pod asked for 3 cores and ran with 100m.
    const deferred = history.first(
      (p) => p.status?.conditions?.find((x) => x.type === 'PodResizePending')?.reason === 'Deferred',
    )?.pod;
    assert.ok(deferred, 'the resize was Deferred by the node');
    assert.deepEqual(statusOf(deferred), small);
    assert.notEqual(replacement.metadata!.uid, pod.metadata!.uid);
    assert.equal((await replicaSetUids(ns)).length, replicaSets.length + 1, 'exactly one rollout');
    // The instance lags 600 s (tolerableLag 1m): its resize does not wait for the node.
    const [fallback] = await waitEvent(ns, 'ResizeFallback');
    assert.match(fallback!.message!, /Deferred/);
    assert.match(fallback!.message!, /bound 0s: the instance lags 600s, 20 % of tolerableLag or more/);
  });

  test('GOMAXPROCS: a pod started under Rollout is rolled once when it grows beyond its GOMAXPROCS', async () => {
    const ns = await newNamespace('fallback-gomaxprocs');
    const spec = (p: typeof calm, actuation: 'Rollout' | 'InPlaceOrRollout') =>
      staticSpec(ns, { partitions: { '0': p }, actuation });
    await consumers.create(ns, 'orders', spec(calm, 'Rollout'));
    await consumers.waitReady(ns, 'orders');
    const pod = await waitPodAt(ns, 'orders-0', small);
    assert.equal(envOf(pod).GOMAXPROCS, '1', 'the original rule: the CPU limit in whole cores');
    const replicaSets = await replicaSetUids(ns);

    // Switching to in-place resizes rolls nothing by itself.
    await consumers.setSpec(ns, 'orders', spec(calm, 'InPlaceOrRollout'));
    await waitFor('the InPlaceResize condition', async () =>
      (await consumers.get(ns, 'orders')).status?.conditions?.some((c) => c.type === 'InPlaceResize'),
    );
    assert.deepEqual(await replicaSetUids(ns), replicaSets, 'no rollout for the switch');

    await consumers.setSpec(ns, 'orders', spec(busy(3), 'InPlaceOrRollout'));
    const rolled = await waitPodAt(ns, 'orders-0', sized('3', '300M'));
    assert.notEqual(rolled.metadata!.uid, pod.metadata!.uid, 'rolled');
    assert.equal(envOf(rolled).GOMAXPROCS, '8', 'GOMAXPROCS is now the policy maximum');
    const [fallback] = await waitEvent(ns, 'ResizeFallback');
    assert.match(fallback!.message!, /GoMaxProcs/);
    assert.equal((await replicaSetUids(ns)).length, replicaSets.length + 1);

    // From then on, in place.
    await consumers.setSpec(ns, 'orders', spec(busy(5), 'InPlaceOrRollout'));
    const grown = await waitPodAt(ns, 'orders-0', sized('5', '500M'));
    assert.equal(grown.metadata!.uid, rolled.metadata!.uid, 'resized in place');
    assert.equal((await replicaSetUids(ns)).length, replicaSets.length + 1);
  });
});

describe('the pod’s QoS class is kept', () => {
  test('a Guaranteed pod keeps limits equal to its requests when it gets a fractional CPU', async () => {
    const { ns, spec, pod, replicaSets } = await oneInstance('qos-guaranteed', busy(1), sized('1', '100M'));
    assert.equal(pod.status!.qosClass, 'Guaranteed');
    // 75 msg/s with 10 minutes of backlog: 150 msg/s, 1.5 cores; the rule's limit would be 2 cores.
    await consumers.setSpec(ns, 'orders', spec({ production: 75, consumption: 75, behind: 75 * 600 }));
    const resized = await waitPodAt(ns, 'orders-0', sized('1500m', '200M'));
    assert.equal(resized.metadata!.uid, pod.metadata!.uid, 'resized in place');
    assert.equal(resized.status!.qosClass, 'Guaranteed');
    assert.deepEqual(restartsOf(resized), { consumer: 0 });
    assert.deepEqual(await replicaSetUids(ns), replicaSets);
    const deployment = (await instancePods(ns)).get('orders-0')!.deployment;
    const decision = JSON.parse(deployment.metadata!.annotations!['konsumerator.lwolf.org/resources']!);
    assert.deepEqual(decision.limits, { cpu: '2', memory: '200M' }, 'the decision keeps the rule’s limits');
    const [resizedEvent] = await waitEvent(ns, 'ResizedInPlace');
    assert.match(resizedEvent!.message!, /limits kept equal to requests \(the pod is Guaranteed\)/);
  });
});

describe('InPlace never rolls out', () => {
  test('an Infeasible resize is reported and the pod keeps running as it is', async () => {
    const { ns, spec, pod, replicaSets } = await oneInstance('inplace-only', busy(1), sized('1', '100M'), {
      actuation: 'InPlace',
      podSpec: placeOnNode(STATIC_CPU_NODE, 'required'),
    });
    await consumers.setSpec(ns, 'orders', spec(busy(3)));
    const consumer = await consumers.waitCondition(ns, 'orders', 'InPlaceResize', 'NotApplied');
    const condition = consumer.status!.conditions!.find((c) => c.type === 'InPlaceResize')!;
    assert.equal(condition.status, 'False');
    assert.match(condition.message, /orders-0 \(Infeasible\)/);
    const [notApplied] = await waitEvent(ns, 'ResizeNotApplied');
    assert.match(notApplied!.message!, /Infeasible/);
    // The read that decided wrote its status once, as things stand after it; the quiet window
    // spans four 1-second reads, each of which would retry if the operator looped.
    await waitFor('the status after the decision', async () => {
      const entry = (await consumers.get(ns, 'orders')).status?.instances?.[0];
      return entry?.action === 'scale-up' && entry.cpu === '3';
    });
    const quiet = await apiRequestCounts();
    await new Promise((r) => setTimeout(r, 4000));
    const writes = operatorWrites(quiet, await apiRequestCounts());
    assert.deepEqual(writes, {}, `no retry loop: ${JSON.stringify(writes)}`);
    const [now] = (await instancePods(ns)).get('orders-0')!.pods;
    assert.equal(now!.metadata!.uid, pod.metadata!.uid, 'the same pod');
    assert.deepEqual(specOf(now!), sized('3', '300M'), 'asked for');
    assert.deepEqual(statusOf(now!), sized('1', '100M'), 'still running with what it had');
    assert.deepEqual(await replicaSetUids(ns), replicaSets, 'no rollout');
    await cluster.waitAllRunning(ns, 1);
  });
});
