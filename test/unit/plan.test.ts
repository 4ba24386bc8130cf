import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterWrites, planConsumer, type Action } from '../../src/plan/consumer-plan.js';
import { buildStatus } from '../../src/plan/status.js';
import { applied } from '../support/applied.js';
import { baseSpec, consumer } from '../support/consumers.js';

const now = new Date('2026-01-01T00:00:00Z');

const names = (actions: readonly Action[], type: Action['type']) =>
  actions
    .filter((a) => a.type === type)
    .map((a) => (a.type === 'delete' ? a.name : a.deployment.metadata!.name));

test('10 partitions at 3 per instance render the original four Deployments', () => {
  const plan = planConsumer({ consumer: consumer(), deployments: [], now });
  assert.deepEqual(names(plan.actions, 'create'), ['orders-0', 'orders-1', 'orders-2', 'orders-3']);
  const third = plan.actions[2]!;
  assert.equal(third.type, 'create');
  const d = third.type === 'create' ? third.deployment : undefined!;
  assert.deepEqual(d.metadata!.labels, { app: 'orders', controller: 'orders', partitions: '6-7' });
  assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/partition'], '6,7');
  assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/consumer-id'], '2');
  assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/scaling-status'], 'RUNNING');
  assert.equal(
    d.metadata!.annotations!['konsumerator.lwolf.org/scaling-status-change'],
    '2026-01-01T00:00:00Z',
  );
  assert.deepEqual(d.metadata!.ownerReferences, [
    {
      apiVersion: 'konsumerator.lwolf.org/v1',
      kind: 'Consumer',
      name: 'orders',
      uid: 'uid-orders',
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  const container = d.spec!.template.spec!.containers[0]!;
  assert.deepEqual(container.resources, {
    requests: { cpu: '100m', memory: '100M' },
    limits: { cpu: '100m', memory: '100M' },
  });
  assert.deepEqual(
    container.env!.map((e) => `${e.name}=${e.value}`),
    [
      'TEST_KEY=test-value',
      'KONSUMERATOR_PARTITION=6,7',
      'GOMAXPROCS=1',
      'GOMEMLIMIT=76MiB',
      'KONSUMERATOR_INSTANCE=2',
      'KONSUMERATOR_NUM_PARTITIONS=10',
      'KONSUMERATOR_NUM_INSTANCES=4',
    ],
  );
  assert.equal(plan.counts.missing, 4);
  assert.equal(plan.counts.expected, 4);
});

test('a converged Consumer plans nothing', () => {
  const c = consumer();
  const state = applied(planConsumer({ consumer: c, deployments: [], now }).actions);
  const again = planConsumer({ consumer: c, deployments: state, now: new Date(now.getTime() + 3_600_000) });
  assert.deepEqual(again.actions, []);
  assert.deepEqual(again.counts, {
    expected: 4,
    running: 4,
    paused: 0,
    lagging: 0,
    missing: 0,
    outdated: 0,
    redundant: 0,
  });
  const status = buildStatus(c, again, {}, now);
  assert.equal(status.conditions!.find((x) => x.type === 'Ready')!.status, 'True');
});

/**
 * What the API server holds right after the planned writes, before any rollout: a spec change
 * raises the generation past what the Deployment controller has observed; annotations alone do not.
 */
let uid = 0;

function justWritten(actions: readonly Action[], existing: readonly V1Deployment[] = []): V1Deployment[] {
  const byName = new Map(existing.map((d) => [d.metadata!.name!, d]));
  for (const action of actions) {
    if (action.type === 'delete') {
      byName.delete(action.name);
      continue;
    }
    const name = action.deployment.metadata!.name!;
    const previous = byName.get(name);
    const specChanged = JSON.stringify(previous?.spec) !== JSON.stringify(action.deployment.spec);
    const generation = (previous?.metadata?.generation ?? 0) + (specChanged ? 1 : 0);
    byName.set(name, {
      ...structuredClone(action.deployment),
      metadata: {
        ...structuredClone(action.deployment.metadata),
        uid: previous?.metadata?.uid ?? `d${uid++}`,
        generation,
      },
      status: structuredClone(previous?.status ?? {}),
    });
  }
  return [...byName.values()];
}

test('the status written with the Deployments is the one the next reconcile keeps (one status write per change)', () => {
  const c = consumer();
  const rolledOut = applied(planConsumer({ consumer: c, deployments: [], now }).actions);
  const withoutScalingAnnotation = rolledOut.map((d) =>
    d.metadata!.name === 'orders-1'
      ? {
          ...d,
          metadata: {
            ...d.metadata,
            annotations: { ...d.metadata!.annotations, 'konsumerator.lwolf.org/scaling-status': 'SATURATED' },
          },
        }
      : d,
  );
  const templateChange = baseSpec();
  templateChange.deploymentTemplate.template.spec!.containers[0]!.image = 'example.com/orders:2';
  const cases: [string, ReturnType<typeof consumer>, V1Deployment[], string][] = [
    ['from empty', c, [], 'WaitingForRollout'],
    ['a template change', consumer(templateChange), rolledOut, 'WaitingForRollout'],
    ['a repartition', consumer(baseSpec({ numPartitionsPerInstance: 5 })), rolledOut, 'WaitingForRollout'],
    ['an annotation put back', c, withoutScalingAnnotation, 'Converged'],
  ];
  for (const [title, spec, before, progressing] of cases) {
    const plan = planConsumer({ consumer: spec, deployments: before, now });
    assert.ok(plan.actions.length > 0, title);
    const written = buildStatus(spec, afterWrites(plan, new Set()), {}, now);
    assert.equal(written.conditions!.find((x) => x.type === 'Progressing')!.reason, progressing, title);
    const next = { ...spec, status: written };
    const again = planConsumer({ consumer: next, deployments: justWritten(plan.actions, before), now });
    assert.deepEqual(again.actions, [], title);
    assert.deepEqual(
      buildStatus(next, again, {}, now),
      written,
      `${title}: the next reconcile writes no status`,
    );
  }

  // A write that failed stays planned: the status says so until it is retried.
  const plan = planConsumer({ consumer: c, deployments: [], now });
  const failed = afterWrites(plan, new Set(['orders-2']));
  assert.equal(failed.counts.missing, 1);
  assert.equal(failed.counts.running, 3);
  const status = buildStatus(c, failed, { failures: ['create of Deployment orders-2 failed'] }, now);
  assert.equal(status.conditions!.find((x) => x.type === 'Progressing')!.reason, 'Applying');
});

test('repartitioning creates and updates first and deletes only once everything rolled out', () => {
  const before = consumer();
  let state = applied(planConsumer({ consumer: before, deployments: [], now }).actions);
  const after = consumer(baseSpec({ numPartitionsPerInstance: 5 }));
  const first = planConsumer({ consumer: after, deployments: state, now });
  assert.deepEqual(names(first.actions, 'update'), ['orders-0', 'orders-1']);
  assert.deepEqual(names(first.actions, 'delete'), [], 'nothing is deleted before the replacements run');
  assert.deepEqual(first.deletionsWaiting, ['orders-2', 'orders-3']);
  state = applied(first.actions, state);
  const second = planConsumer({ consumer: after, deployments: state, now });
  assert.deepEqual(names(second.actions, 'delete'), ['orders-2', 'orders-3']);
  assert.deepEqual(names(second.actions, 'update'), []);
});

test('an instance still rolling out holds back deletions', () => {
  let state = applied(
    planConsumer({ consumer: consumer(baseSpec({ numPartitions: 12 })), deployments: [], now }).actions,
  );
  state = state.map((d) =>
    d.metadata!.name === 'orders-0' ? { ...d, status: { ...d.status, availableReplicas: 0 } } : d,
  );
  const plan = planConsumer({
    consumer: consumer(baseSpec({ numPartitions: 12, numPartitionsPerInstance: 4 })),
    deployments: state,
    now,
  });
  assert.deepEqual(names(plan.actions, 'delete'), []);
});

test('a same-named Deployment the Consumer does not own is a clash and is not touched', () => {
  const foreign: V1Deployment = {
    metadata: { name: 'orders-1', namespace: 'default', uid: 'x' },
    spec: { selector: {}, template: {} },
  };
  const plan = planConsumer({ consumer: consumer(), deployments: [foreign], now });
  assert.deepEqual(plan.clashes, ['orders-1']);
  assert.deepEqual(names(plan.actions, 'create'), ['orders-0', 'orders-2', 'orders-3']);
  const status = buildStatus(consumer(), plan, {}, now);
  const degraded = status.conditions!.find((x) => x.type === 'Degraded')!;
  assert.equal(degraded.reason, 'NameConflict');
  assert.match(degraded.message, /orders-1/);
});

test('a hand edit of a rendered field is drift and is put back', () => {
  const c = consumer();
  const state = applied(planConsumer({ consumer: c, deployments: [], now }).actions);
  state[1]!.spec!.template.spec!.containers[0]!.image = 'evil:latest';
  const plan = planConsumer({ consumer: c, deployments: state, now });
  assert.equal(plan.actions.length, 1);
  const action = plan.actions[0]!;
  assert.ok(action.type === 'update' && action.reason === 'drift');
  assert.equal(
    action.deployment.spec!.template.spec!.containers[0]!.image,
    'example.com/orders-consumer:1.0',
  );
});

test('changing numPartitions refreshes the env of every instance (the original left it stale)', () => {
  const state = applied(planConsumer({ consumer: consumer(), deployments: [], now }).actions);
  const plan = planConsumer({ consumer: consumer(baseSpec({ numPartitions: 11 })), deployments: state, now });
  assert.deepEqual(names(plan.actions, 'update'), ['orders-0', 'orders-1', 'orders-2', 'orders-3']);
});

test('owned Deployments with invalid or out-of-range ids are redundant', () => {
  const c = consumer(baseSpec({ numPartitions: 2, numPartitionsPerInstance: 1 }));
  const state = applied(planConsumer({ consumer: c, deployments: [], now }).actions);
  const stray = structuredClone(state[0]!);
  stray.metadata!.name = 'orders-old';
  stray.metadata!.uid = 'stray';
  delete stray.metadata!.annotations!['konsumerator.lwolf.org/consumer-id'];
  const plan = planConsumer({ consumer: c, deployments: [...state, stray], now });
  assert.deepEqual(names(plan.actions, 'delete'), ['orders-old']);
  assert.equal(plan.counts.redundant, 1);
});

test('property: any repartition converges to exactly the desired set without dropping a partition', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 8 }),
      (p1, per1, p2, per2) => {
        let state = applied(
          planConsumer({
            consumer: consumer(baseSpec({ numPartitions: p1, numPartitionsPerInstance: per1 })),
            deployments: [],
            now,
          }).actions,
        );
        const target = consumer(baseSpec({ numPartitions: p2, numPartitionsPerInstance: per2 }));
        for (let round = 0; round < 3; round++) {
          const plan = planConsumer({ consumer: target, deployments: state, now });
          const next = applied(plan.actions, state);
          // Every partition of the target stays covered by some Deployment at every step.
          const covered = new Set(
            next.flatMap((d) =>
              d.metadata!.annotations!['konsumerator.lwolf.org/partition']!.split(',').map(Number),
            ),
          );
          for (let p = 0; p < p2; p++) assert.ok(covered.has(p), `partition ${p} uncovered`);
          state = next;
        }
        const final = planConsumer({ consumer: target, deployments: state, now });
        assert.deepEqual(final.actions, []);
        assert.equal(state.length, Math.ceil(p2 / per2));
      },
    ),
    { numRuns: 200 },
  );
});
