import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1ReplicaSet } from '@kubernetes/client-node';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import { buildStatus } from '../../src/plan/status.js';
import { immutableChanges, replacedReplicaSets, strayReplaced } from '../../src/plan/recreate.js';
import { Annotation, REPLACED_FINALIZER, REPLACED_LABEL } from '../../src/api/constants.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { applied } from '../support/applied.js';
import { baseSpec, consumer } from '../support/consumers.js';

const now = new Date('2026-01-01T00:00:00Z');

function withSelector(labels: Record<string, string>): ConsumerSpec {
  const spec = baseSpec();
  spec.deploymentTemplate.selector = { matchLabels: labels };
  spec.deploymentTemplate.template.metadata = { labels };
  return spec;
}

const c1 = consumer(withSelector({ app: 'orders-consumer' }));
const c2 = { ...consumer(withSelector({ app: 'orders-consumer', track: 'v2' })), metadata: c1.metadata };

function replicaSet(
  name: string,
  instance: string,
  owners: { uid: string; controller?: boolean; name?: string }[],
  held = true,
): V1ReplicaSet {
  return {
    metadata: {
      name,
      namespace: c1.metadata.namespace,
      uid: `rs-${name}`,
      resourceVersion: '7',
      deletionTimestamp: now,
      ...(held ? { finalizers: [REPLACED_FINALIZER] } : {}),
      labels: { [REPLACED_LABEL]: 'true' },
      annotations: { [Annotation.replacedInstance]: instance },
      ownerReferences: owners.map((o) => ({
        apiVersion: 'konsumerator.lwolf.org/v1',
        kind: o.controller ? 'Deployment' : 'Consumer',
        name: o.name ?? 'orders',
        uid: o.uid,
        ...(o.controller ? { controller: true } : {}),
      })),
    },
  };
}

test('a selector change is an immutable change in either direction; a template change is not', () => {
  const [d1] = applied(planConsumer({ consumer: c1, deployments: [], now }).actions);
  const [d2] = applied(planConsumer({ consumer: c2, deployments: [], now }).actions);
  assert.deepEqual(immutableChanges(d2!, d1!), ['spec.selector']);
  assert.deepEqual(immutableChanges(d1!, d2!), ['spec.selector']);
  const image = structuredClone(d1!);
  image.spec!.template.spec!.containers[0]!.image = 'other';
  assert.deepEqual(immutableChanges(image, d1!), []);
});

test('a selector change plans no update: each instance is recreated once its controller has seen it', () => {
  const state = applied(planConsumer({ consumer: c1, deployments: [], now }).actions);
  // orders-2's controller has not yet observed its latest generation: it waits.
  state[2]!.status!.observedGeneration = 0;
  const plan = planConsumer({ consumer: c2, deployments: state, now });
  assert.deepEqual(plan.actions, []);
  assert.deepEqual(
    plan.recreates.map((r) => [r.name, r.uid, r.resourceVersion, r.fields]),
    [0, 1, 3].map((i) => [
      `orders-${i}`,
      state[i]!.metadata!.uid,
      state[i]!.metadata!.resourceVersion,
      ['spec.selector'],
    ]),
  );
  assert.deepEqual(plan.recreating, ['orders-0', 'orders-1', 'orders-2', 'orders-3']);
  const progressing = buildStatus(c2, plan, {}, now).conditions!.find((x) => x.type === 'Progressing')!;
  assert.equal(progressing.reason, 'Recreating');
});

test('a Deployment being deleted is waited for: no update, no second delete, no create', () => {
  const state = applied(planConsumer({ consumer: c1, deployments: [], now }).actions);
  state[0]!.metadata!.deletionTimestamp = now;
  const plan = planConsumer({ consumer: c2, deployments: state, now });
  assert.deepEqual(
    plan.recreates.map((r) => r.name),
    ['orders-1', 'orders-2', 'orders-3'],
  );
  assert.deepEqual(plan.actions, []);
});

test('a gone Deployment is created anew; its old ReplicaSet goes only once the new one has rolled out', () => {
  const state = applied(planConsumer({ consumer: c1, deployments: [], now }).actions);
  const rest = state.slice(1);
  const old = replicaSet('orders-0-abc', 'orders-0', [{ uid: c1.metadata.uid }]);
  const first = planConsumer({ consumer: c2, deployments: rest, now, replicaSets: [old] });
  assert.deepEqual(
    first.actions.filter((a) => a.type === 'create').map((a) => a.type === 'create' && a.instanceId),
    [0],
  );
  assert.deepEqual(first.replacedToDelete, []);
  assert.ok(first.recreating.includes('orders-0'));

  // Created, not yet available.
  const created = applied(first.actions, rest);
  const fresh = created.find((d) => d.metadata!.name === 'orders-0')!;
  fresh.status = { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0 };
  const waiting = planConsumer({ consumer: c2, deployments: created, now, replicaSets: [old] });
  assert.deepEqual(waiting.replacedToDelete, []);

  fresh.status.availableReplicas = 1;
  const ready = planConsumer({ consumer: c2, deployments: created, now, replicaSets: [old] });
  assert.deepEqual(ready.replacedToDelete, [
    { name: 'orders-0-abc', uid: 'rs-orders-0-abc', resourceVersion: '7', instance: 'orders-0' },
  ]);
});

test('only held ReplicaSets this Consumer owns, no longer controlled by the old Deployment, are deleted', () => {
  const ready = () => true;
  const is = () => true;
  const mine = c1.metadata.uid;
  const decision = replacedReplicaSets(
    mine,
    [
      replicaSet('a', 'orders-0', [{ uid: mine }]),
      // Still controlled by the old Deployment (its orphaning delete has not finished).
      replicaSet('b', 'orders-1', [{ uid: mine }, { uid: 'deployment', controller: true }]),
      // Another Consumer's.
      replicaSet('c', 'orders-2', [{ uid: 'someone-else' }]),
      // Released already (its finalizer is off).
      replicaSet('d', 'orders-3', [{ uid: mine }], false),
    ],
    is,
    ready,
    true,
  );
  assert.deepEqual(
    decision.toDelete.map((r) => r.name),
    ['a'],
  );
  assert.deepEqual(decision.waiting, ['orders-1']);
});

test('held ReplicaSets of a Consumer that is gone or was made anew are released; the live one keeps its own', () => {
  const owner = { apiVersion: 'konsumerator.lwolf.org/v1', kind: 'Consumer', name: 'orders' };
  const rs = [
    replicaSet('old', 'orders-0', [{ uid: 'uid-before' }]),
    replicaSet('live', 'orders-1', [{ uid: 'uid-now' }]),
    replicaSet('other', 'orders-1', [{ uid: 'uid-x', name: 'payments' }]),
  ];
  assert.deepEqual(
    strayReplaced(rs, owner, 'uid-now').map((r) => r.name),
    ['old'],
  );
  assert.deepEqual(
    strayReplaced(rs, owner, undefined).map((r) => r.name),
    ['old', 'live'],
  );
});

test('the old ReplicaSet of an instance the Consumer no longer has waits until every instance has rolled out', () => {
  const mine = c1.metadata.uid;
  const rs = [replicaSet('a', 'orders-9', [{ uid: mine }])];
  const notYet = replacedReplicaSets(
    mine,
    rs,
    () => false,
    () => true,
    false,
  );
  assert.deepEqual(notYet, { toDelete: [], waiting: ['orders-9'] });
  const now = replacedReplicaSets(
    mine,
    rs,
    () => false,
    () => true,
    true,
  );
  assert.deepEqual(
    now.toDelete.map((r) => r.name),
    ['a'],
  );
});
