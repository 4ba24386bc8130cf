// spec.deploymentMetadata: labels and annotations on the instance Deployment objects, never on
// their pods (no rollout), the operator's own keys always its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import { baseSpec, consumer } from '../support/consumers.js';
import type { Consumer } from '../../src/api/schema.js';

const now = new Date('2026-01-01T00:00:00Z');
const created = (c: Consumer): V1Deployment[] =>
  planConsumer({ consumer: c, deployments: [], now }).actions.flatMap((a) =>
    a.type === 'create' ? [a.deployment] : [],
  );

test('the labels and annotations go on every Deployment, not on the pod template', () => {
  const plain = created(consumer(baseSpec()));
  const tagged = created(
    consumer(
      baseSpec({
        deploymentMetadata: { labels: { team: 'payments' }, annotations: { 'example.com/owner': 'me' } },
      }),
    ),
  );
  tagged.forEach((d, i) => {
    assert.equal(d.metadata!.labels!.team, 'payments');
    assert.equal(d.metadata!.annotations!['example.com/owner'], 'me');
    assert.deepEqual(d.spec!.template, plain[i]!.spec!.template, 'the pods are not touched: no rollout');
    assert.equal(d.metadata!.labels!.controller, 'orders');
  });
});

test("a key of the operator's own (refused at apply) never overrides the operator's value", () => {
  const [d] = created(
    consumer(
      baseSpec({
        deploymentMetadata: {
          labels: { controller: 'someone-else' },
          annotations: { 'konsumerator.lwolf.org/consumer-id': '7' },
        },
      }),
    ),
  );
  assert.equal(d!.metadata!.labels!.controller, 'orders');
  assert.equal(d!.metadata!.annotations!['konsumerator.lwolf.org/consumer-id'], '0');
});

test('a changed or dropped key makes the Deployment outdated, so it is applied again without it', () => {
  const withLabel = consumer(baseSpec({ deploymentMetadata: { labels: { team: 'payments' } } }));
  const live = created(withLabel).map((d, i) => ({
    ...d,
    metadata: { ...d.metadata, uid: `u${i}`, generation: 1 },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
  }));
  const steady = planConsumer({ consumer: withLabel, deployments: live, now });
  assert.deepEqual(steady.actions, [], 'converged');
  const dropped = planConsumer({ consumer: consumer(baseSpec()), deployments: live, now });
  assert.equal(dropped.actions.length, live.length);
  for (const action of dropped.actions) {
    assert.equal(action.type, 'update');
    if (action.type !== 'update') continue;
    assert.equal(action.deployment.metadata!.labels!.team, undefined);
    assert.equal(action.templateChanges, false);
  }
});
