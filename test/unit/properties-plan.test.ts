// Property-based tests of the planning layer (src/plan) on arbitrary cluster states: any mix of
// the Consumer's own Deployments (right or wrong ids, names, partitions, rollout states),
// Deployments of other owners under the same names, and any desired spec. fast-check prints the
// seed and the shrunk counter-example of a failure; FC_SEED=<n> replays a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { V1Deployment } from '@kubernetes/client-node';
import { Annotation, Env } from '../../src/api/constants.js';
import { planConsumer, isControlledBy, type Action, type Plan } from '../../src/plan/consumer-plan.js';
import { parsePartitionList, partitionsLabel, splitIntoBuckets } from '../../src/plan/partitions.js';
import { instanceName } from '../../src/plan/render.js';
import { baseSpec, consumer } from '../support/consumers.js';
import { check } from '../support/properties.js';
import type { Consumer } from '../../src/api/schema.js';

const now = new Date('2026-01-01T00:00:00Z');
const OURS = consumer(); // uid-orders
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

test('property: buckets assign every partition exactly once, contiguously, sized ⌈n/k⌉ or one less', () => {
  check(
    fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: -5, max: 6000 }), (size, desired) => {
      const buckets = splitIntoBuckets(size, desired);
      const per = desired > 0 ? desired : 1;
      assert.deepEqual(
        buckets.flat(),
        Array.from({ length: size }, (_, i) => i),
      );
      assert.equal(buckets.length, size === 0 ? 0 : Math.ceil(size / per));
      const largest = Math.max(0, ...buckets.map((b) => b.length));
      for (const [i, bucket] of buckets.entries()) {
        assert.ok(bucket.length >= 1 && bucket.length <= per, `bucket ${i} has ${bucket.length}`);
        assert.ok(largest - bucket.length <= 1, 'sizes at most one apart');
        // The larger buckets come first (the original's order).
        if (i > 0) assert.ok(bucket.length <= buckets[i - 1]!.length);
        // The annotation round-trips and the label is a valid label value.
        assert.deepEqual(parsePartitionList(bucket.join(',')), bucket);
        const label = partitionsLabel(bucket);
        assert.ok(label.length <= 63 && LABEL_VALUE.test(label), `label ${label}`);
      }
    }),
    200,
  );
});

test('property: instance names depend only on spec.name and the instance id', () => {
  check(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 0, max: 80 }),
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 0, max: 80 }),
      (n1, per1, n2, per2) => {
        const namesOf = (n: number, per: number) =>
          planConsumer({
            consumer: consumer(baseSpec({ numPartitions: n, numPartitionsPerInstance: per })),
            deployments: [],
            now,
          }).actions.map((a) => (a.type === 'delete' ? a.name : a.deployment.metadata!.name!));
        const a = namesOf(n1, per1);
        const b = namesOf(n2, per2);
        // Both are `orders-0 … orders-(k-1)`: one list is a prefix of the other.
        const shorter = a.length <= b.length ? a : b;
        const longer = a.length <= b.length ? b : a;
        assert.deepEqual(longer.slice(0, shorter.length), shorter);
        assert.deepEqual(
          longer,
          longer.map((_, i) => instanceName('orders', i)),
        );
      },
    ),
    100,
  );
});

/** One Deployment of an arbitrary cluster state, described before it is built. */
interface Shape {
  owner: 'ours' | 'ours-not-controller' | 'other-consumer' | 'nobody';
  /** `orders-<nameId>`, or a name outside the scheme when undefined. */
  nameId: number | undefined;
  /** consumer-id annotation: a number, garbage, or none. */
  consumerId: number | 'garbage' | undefined;
  partitions: number[];
  rolledOut: boolean;
  /** The Deployment carries the operator's render hash (else it looks hand-made or the original's). */
  rendered: boolean;
}

const shape: fc.Arbitrary<Shape> = fc.record({
  owner: fc.constantFrom('ours', 'ours', 'ours', 'ours-not-controller', 'other-consumer', 'nobody'),
  nameId: fc.option(fc.integer({ min: 0, max: 45 }), { nil: undefined, freq: 6 }),
  consumerId: fc.oneof(
    fc.integer({ min: 0, max: 45 }),
    fc.constant('garbage' as const),
    fc.constant(undefined),
  ),
  partitions: fc.uniqueArray(fc.integer({ min: 0, max: 45 }), { minLength: 1, maxLength: 6 }),
  rolledOut: fc.boolean(),
  rendered: fc.boolean(),
});

function build(s: Shape, index: number): V1Deployment {
  const controllerRef = (uid: string, controller: boolean) => [
    { apiVersion: 'konsumerator.lwolf.org/v1', kind: 'Consumer', name: 'orders', uid, controller },
  ];
  const ownerReferences =
    s.owner === 'ours'
      ? controllerRef(OURS.metadata.uid, true)
      : s.owner === 'ours-not-controller'
        ? controllerRef(OURS.metadata.uid, false)
        : s.owner === 'other-consumer'
          ? controllerRef('uid-someone-else', true)
          : undefined;
  const annotations: Record<string, string> = {
    [Annotation.partition]: [...s.partitions].sort((a, b) => a - b).join(','),
  };
  if (s.consumerId !== undefined)
    annotations[Annotation.consumerId] = s.consumerId === 'garbage' ? 'x1' : String(s.consumerId);
  if (s.rendered) annotations[Annotation.renderHash] = `stale-${index}`;
  return {
    metadata: {
      name: s.nameId === undefined ? `stray-${index}` : instanceName('orders', s.nameId),
      namespace: 'default',
      uid: `d-${index}`,
      generation: 3,
      annotations,
      ...(ownerReferences ? { ownerReferences } : {}),
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'orders-consumer' } },
      template: {
        metadata: { labels: { app: 'orders-consumer' } },
        spec: { containers: [{ name: 'consumer', image: 'example.com/orders-consumer:1.0' }] },
      },
    },
    status: s.rolledOut
      ? { observedGeneration: 3, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }
      : { observedGeneration: 2, replicas: 1, updatedReplicas: 0, availableReplicas: 0 },
  };
}

/** A namespace: names are unique, the first Deployment of a name wins. */
const clusterState = fc.array(shape, { maxLength: 14 }).map((shapes) => {
  const byName = new Map<string, V1Deployment>();
  shapes.forEach((s, i) => {
    const d = build(s, i);
    if (!byName.has(d.metadata!.name!)) byName.set(d.metadata!.name!, d);
  });
  return [...byName.values()];
});

const desiredSpec = fc
  .record({ numPartitions: fc.integer({ min: 1, max: 24 }), per: fc.integer({ min: 0, max: 30 }) })
  .map(({ numPartitions, per }) => consumer(baseSpec({ numPartitions, numPartitionsPerInstance: per })));

const partitionsOf = (d: V1Deployment) => parsePartitionList(d.metadata?.annotations?.[Annotation.partition]);
const actionName = (a: Action) => (a.type === 'delete' ? a.name : a.deployment.metadata!.name!);

/** Checks the safety rules of one plan against the state it was made from. */
function assertSafe(target: Consumer, state: readonly V1Deployment[], plan: Plan): void {
  const byName = new Map(state.map((d) => [d.metadata!.name!, d]));
  const kinds = plan.actions.map((a) => a.type);
  // Ordered creates → updates → deletes, and never a delete in the same pass as a create or update.
  assert.deepEqual(
    kinds,
    [...kinds].sort((a, b) => order[a] - order[b]),
  );
  if (kinds.includes('delete'))
    assert.ok(
      kinds.every((k) => k === 'delete'),
      'create before delete',
    );

  const deleted = new Set(plan.actions.filter((a) => a.type === 'delete').map((a) => a.name));
  const numPartitions = target.spec.numPartitions;
  for (const action of plan.actions) {
    const existing = byName.get(actionName(action));
    if (action.type === 'delete') {
      // Only the Consumer's own Deployments, identified by uid.
      assert.ok(existing && isControlledBy(existing, target), `deletes ${action.name}, not ours`);
      assert.equal(action.uid, existing.metadata!.uid);
      // Each of its partitions that still exists is held by a kept, rolled-out Deployment of ours.
      for (const p of partitionsOf(existing) ?? []) {
        if (p >= numPartitions) continue;
        const holder = state.find(
          (d) =>
            !deleted.has(d.metadata!.name!) &&
            isControlledBy(d, target) &&
            (partitionsOf(d) ?? []).includes(p) &&
            (d.status?.availableReplicas ?? 0) >= 1,
        );
        assert.ok(holder, `deleting ${action.name} leaves partition ${p} without an instance`);
      }
    } else {
      // Never written over a Deployment another owner (or nobody) holds.
      if (existing) assert.ok(isControlledBy(existing, target), `writes over foreign ${actionName(action)}`);
      const d = action.deployment;
      assert.ok(isControlledBy(d, target), 'rendered with our controller reference');
      assert.equal(d.metadata!.name, instanceName(target.spec.name, action.instanceId));
      assert.equal(d.metadata!.annotations![Annotation.consumerId], String(action.instanceId));
    }
  }
  // A name another owner holds is reported, never taken.
  for (const d of state) {
    if (!isControlledBy(d, target) && /^orders-\d+$/.test(d.metadata!.name!)) {
      const id = Number(d.metadata!.name!.slice('orders-'.length));
      if (id < plan.counts.expected) assert.ok(plan.clashes.includes(d.metadata!.name!));
    }
  }
}
const order = { create: 0, update: 1, delete: 2 } as const;

/** The state after the plan's writes, with every written Deployment rolled out (or not). */
function apply(state: readonly V1Deployment[], plan: Plan, rollOut: boolean, round: number): V1Deployment[] {
  const byName = new Map(state.map((d) => [d.metadata!.name!, d]));
  for (const action of plan.actions) {
    if (action.type === 'delete') {
      byName.delete(action.name);
      continue;
    }
    const previous = byName.get(action.deployment.metadata!.name!);
    const generation = (previous?.metadata?.generation ?? 0) + 1;
    byName.set(action.deployment.metadata!.name!, {
      ...structuredClone(action.deployment),
      metadata: {
        ...structuredClone(action.deployment.metadata),
        uid: previous?.metadata?.uid ?? `new-${round}-${action.instanceId}`,
        generation,
      },
      status: rollOut
        ? { observedGeneration: generation, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }
        : { observedGeneration: generation - 1, replicas: 1, updatedReplicas: 0, availableReplicas: 0 },
    });
  }
  return [...byName.values()];
}

test('property: from any cluster state, a plan never deletes what is not ours nor a partition still in use, and creates before it deletes', () => {
  check(
    fc.property(desiredSpec, clusterState, (target, state) => {
      assertSafe(target, state, planConsumer({ consumer: target, deployments: state, now }));
    }),
    400,
  );
});

test('property: repeated reconciles (with rollouts finishing or not) stay safe and converge to exactly the desired set; foreign Deployments are never touched', () => {
  check(
    fc.property(
      desiredSpec,
      clusterState,
      fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
      (target, initial, rollOuts) => {
        let state = initial;
        const foreign = initial.filter((d) => !isControlledBy(d, target));
        for (const [round, rollOut] of [...rollOuts, true, true, true].entries()) {
          const plan = planConsumer({ consumer: target, deployments: state, now });
          assertSafe(target, state, plan);
          // Rollouts that never finish while deletes wait would loop forever: the last rounds finish them.
          state = apply(state, plan, rollOut, round).map((d) =>
            rollOut && isControlledBy(d, target)
              ? {
                  ...d,
                  status: {
                    observedGeneration: d.metadata!.generation,
                    replicas: 1,
                    updatedReplicas: 1,
                    availableReplicas: 1,
                  },
                }
              : d,
          );
        }
        const final = planConsumer({ consumer: target, deployments: state, now });
        assert.deepEqual(final.actions, [], 'converged: nothing left to do');
        for (const d of foreign)
          assert.deepEqual(
            state.find((x) => x.metadata!.uid === d.metadata!.uid),
            d,
            'foreign untouched',
          );
        const ours = state.filter((d) => isControlledBy(d, target));
        const expected = Array.from({ length: final.counts.expected }, (_, i) => instanceName('orders', i));
        const wanted = expected.filter((n) => !final.clashes.includes(n));
        if (final.clashes.length === 0) {
          assert.deepEqual(
            ours.map((d) => d.metadata!.name!).sort(),
            wanted.sort(),
            'exactly the desired set',
          );
        } else {
          // A name held by another owner blocks that instance; the Consumer's redundant Deployments
          // are then kept (they may be the only ones consuming its partitions).
          for (const name of wanted)
            assert.ok(
              ours.some((d) => d.metadata!.name === name),
              `${name} exists`,
            );
          assert.equal(final.deletionsWaiting.length, ours.length - wanted.length);
        }
        // Each desired instance holds exactly its bucket, in the env var and the annotation.
        const buckets = splitIntoBuckets(
          target.spec.numPartitions,
          target.spec.numPartitionsPerInstance ?? 0,
        );
        for (const d of ours.filter((x) => wanted.includes(x.metadata!.name!))) {
          const id = Number(d.metadata!.annotations![Annotation.consumerId]);
          assert.deepEqual(partitionsOf(d), buckets[id]);
          const env = d.spec!.template.spec!.containers[0]!.env!;
          assert.equal(env.find((e) => e.name === Env.partition)?.value, buckets[id]!.join(','));
        }
      },
    ),
    100,
  );
});

test('property: the plan does not depend on the order the cache lists Deployments in', () => {
  check(
    fc.property(
      desiredSpec,
      clusterState.chain((state) =>
        fc.tuple(fc.constant(state), fc.shuffledSubarray(state, { minLength: state.length })),
      ),
      (target, [state, shuffled]) => {
        assert.deepEqual(
          planConsumer({ consumer: target, deployments: shuffled, now }),
          planConsumer({ consumer: target, deployments: state, now }),
        );
      },
    ),
    150,
  );
});

test('regression: an owned Deployment under an instance name with an edited consumer-id is updated back, not a clash with itself', () => {
  const target = consumer(baseSpec({ numPartitions: 1, numPartitionsPerInstance: 0 }));
  const edited = build(
    {
      owner: 'ours',
      nameId: 0,
      consumerId: 1,
      partitions: [0],
      rolledOut: true,
      rendered: true,
    },
    0,
  );
  const plan = planConsumer({ consumer: target, deployments: [edited], now });
  assert.deepEqual(plan.clashes, []);
  assert.deepEqual(
    plan.actions.map((a) => `${a.type} ${actionName(a)}`),
    ['update orders-0'],
  );
  const update = plan.actions[0]!;
  assert.equal(
    update.type === 'update' && update.deployment.metadata!.annotations![Annotation.consumerId],
    '0',
  );
});
