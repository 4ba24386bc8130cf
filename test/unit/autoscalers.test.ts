import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  autoscalerConflicts,
  describeConflicts,
  hpaRef,
  podsSizedByVpa,
  replicasKeptByHpa,
  vpaRef,
  type AutoscalerRef,
} from '../../src/plan/autoscalers.js';
import { planConsumer, type Action } from '../../src/plan/consumer-plan.js';
import { baseSpec, consumer } from '../support/consumers.js';

const instances = new Set(['orders-0', 'orders-1']);
const hpa = (name: string, target: string, kind = 'Deployment', apiVersion = 'apps/v1') =>
  hpaRef({
    metadata: { name, namespace: 'shop' },
    spec: { scaleTargetRef: { apiVersion, kind, name: target }, maxReplicas: 3 },
  });
const vpa = (name: string, target: string, updateMode?: string) =>
  vpaRef({
    metadata: { name, namespace: 'shop' },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
      ...(updateMode !== undefined ? { updatePolicy: { updateMode } } : {}),
    },
  });

test('an HPA or an acting VPA on an instance Deployment is a conflict; a VPA in Off mode is not', () => {
  const autoscalers: AutoscalerRef[] = [
    hpa('h0', 'orders-0'),
    vpa('v1', 'orders-1', 'Recreate'),
    vpa('v-default', 'orders-1'),
    vpa('v-off', 'orders-0', 'Off'),
    // Not an instance, or not a Deployment.
    hpa('other', 'payments-0'),
    hpa('sts', 'orders-0', 'StatefulSet'),
    hpa('rollout', 'orders-0', 'Deployment', 'argoproj.io/v1alpha1'),
  ];
  const conflicts = autoscalerConflicts(instances, autoscalers);
  assert.deepEqual(conflicts, [
    { kind: 'HorizontalPodAutoscaler', name: 'h0', deployment: 'orders-0' },
    { kind: 'VerticalPodAutoscaler', name: 'v-default', deployment: 'orders-1' },
    { kind: 'VerticalPodAutoscaler', name: 'v1', deployment: 'orders-1' },
  ]);
  assert.deepEqual([...replicasKeptByHpa(conflicts)], ['orders-0']);
  assert.deepEqual([...podsSizedByVpa(conflicts)], ['orders-1']);
  const message = describeConflicts(conflicts);
  assert.match(message, /HorizontalPodAutoscaler h0 targets orders-0/);
  assert.match(message, /the HPA keeps the replica count/);
  assert.match(message, /the VPA sizes the pods/);
});

test('the replica count an HPA keeps is not rendered; the rest of the Deployment is', () => {
  const c = consumer(baseSpec({ numPartitions: 2, numPartitionsPerInstance: 1 }));
  const now = new Date('2026-01-01T00:00:00Z');
  const deployments = (actions: readonly Action[]) =>
    actions.flatMap((a) => (a.type === 'create' ? [a.deployment] : []));
  const plain = deployments(planConsumer({ consumer: c, deployments: [], now }).actions);
  const kept = deployments(
    planConsumer({ consumer: c, deployments: [], now, replicasKeptElsewhere: new Set(['orders-0']) }).actions,
  );
  assert.equal(plain[0]!.spec!.replicas, 1);
  assert.equal(kept[0]!.spec!.replicas, undefined);
  assert.equal(kept[1]!.spec!.replicas, 1);
  assert.deepEqual(kept[0]!.spec!.template, plain[0]!.spec!.template);
  // An HPA's replica count on the live Deployment is no drift to revert.
  const live = {
    ...kept[0]!,
    spec: { ...kept[0]!.spec!, replicas: 3 },
    metadata: { ...kept[0]!.metadata, uid: 'u' },
  };
  live.status = { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };
  live.metadata.generation = 1;
  const again = planConsumer({
    consumer: c,
    deployments: [
      live,
      {
        ...plain[1]!,
        metadata: { ...plain[1]!.metadata, uid: 'v', generation: 1 },
        status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
      },
    ],
    now,
    replicasKeptElsewhere: new Set(['orders-0']),
  });
  assert.deepEqual(again.actions, []);
});
