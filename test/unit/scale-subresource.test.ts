// spec.replicas (the Consumer's scale subresource): pods per instance, replacing the template's
// replicas when set; absent, the instance Deployments render exactly as before the field existed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import { buildStatus, stopStartEvent } from '../../src/plan/status.js';
import { isStopped, podsPerInstance } from '../../src/api/resolve.js';
import { consumerCrd } from '../../src/api/crd.js';
import { baseSpec, consumer } from '../support/consumers.js';
import type { Consumer } from '../../src/api/schema.js';

const now = new Date('2026-01-01T00:00:00Z');

const rendered = (c: Consumer): V1Deployment[] =>
  planConsumer({ consumer: c, deployments: [], now }).actions.flatMap((a) =>
    a.type === 'create' ? [a.deployment] : [],
  );

test('pods per instance: spec.replicas, else the template replicas, else 1', () => {
  const spec = baseSpec();
  assert.equal(
    podsPerInstance({ ...spec, deploymentTemplate: { ...spec.deploymentTemplate, replicas: 3 } }),
    3,
  );
  const { replicas: _dropped, ...noReplicas } = spec.deploymentTemplate;
  assert.equal(podsPerInstance({ ...spec, deploymentTemplate: noReplicas }), 1);
  assert.equal(
    podsPerInstance({ ...spec, replicas: 0, deploymentTemplate: { ...noReplicas, replicas: 3 } }),
    0,
  );
  assert.equal(isStopped({ ...spec, replicas: 0 }), true);
  assert.equal(isStopped({ ...spec, deploymentTemplate: { ...noReplicas, replicas: 0 } }), true);
  assert.equal(isStopped({ ...spec, replicas: 2 }), false);
});

test('spec.replicas replaces the template replicas in every instance Deployment, and nothing else', () => {
  const spec = baseSpec();
  const before = rendered(
    consumer({ ...spec, deploymentTemplate: { ...spec.deploymentTemplate, replicas: 3 } }),
  );
  const stopped = rendered(
    consumer({ ...spec, replicas: 0, deploymentTemplate: { ...spec.deploymentTemplate, replicas: 3 } }),
  );
  assert.ok(before.length > 1);
  assert.deepEqual(
    stopped.map((d) => d.spec!.replicas),
    before.map(() => 0),
  );
  // Same pod template, resources and generation annotation: a stop rolls nothing and keeps the sizes.
  stopped.forEach((d, i) => {
    assert.deepEqual(d.spec!.template, before[i]!.spec!.template);
    assert.equal(
      d.metadata!.annotations!['konsumerator.lwolf.org/generation'],
      before[i]!.metadata!.annotations!['konsumerator.lwolf.org/generation'],
    );
  });
});

test('a Consumer without spec.replicas renders the same Deployments as before the field existed', () => {
  const spec = baseSpec();
  const { replicas: _dropped, ...noReplicas } = spec.deploymentTemplate;
  const deployments = rendered(consumer({ ...spec, deploymentTemplate: noReplicas }));
  for (const d of deployments) assert.equal('replicas' in d.spec!, false, 'replicas left to the API server');
});

test('status.replicas is the pods per instance the Deployments were given', () => {
  const spec = baseSpec();
  for (const [replicas, expected] of [
    [undefined, spec.deploymentTemplate.replicas ?? 1],
    [0, 0],
    [2, 2],
  ] as const) {
    const c = consumer(replicas === undefined ? spec : { ...spec, replicas });
    const plan = planConsumer({ consumer: c, deployments: [], now });
    assert.equal(buildStatus(c, plan, {}, now).replicas, expected);
  }
});

test('Stopped and Started events: only when the pods per instance go to or from 0', () => {
  const at = (replicas: number, statusReplicas: number | undefined): Consumer => ({
    ...consumer({ ...baseSpec(), replicas }),
    ...(statusReplicas === undefined ? {} : { status: { replicas: statusReplicas } }),
  });
  assert.equal(stopStartEvent(at(0, 1))?.reason, 'Stopped');
  assert.equal(stopStartEvent(at(0, undefined))?.reason, 'Stopped');
  assert.equal(stopStartEvent(at(0, 0)), undefined);
  assert.equal(stopStartEvent(at(2, 0))?.reason, 'Started');
  assert.match(stopStartEvent(at(2, 0))!.message, /2 pod/);
  assert.equal(stopStartEvent(at(1, 1)), undefined);
  assert.equal(stopStartEvent(at(2, 1)), undefined);
  assert.equal(stopStartEvent(at(1, undefined)), undefined);
});

test('the CRD serves the scale subresource on spec.replicas and status.replicas', () => {
  const version = consumerCrd().spec.versions[0]!;
  assert.deepEqual(version.subresources?.scale, {
    specReplicasPath: '.spec.replicas',
    statusReplicasPath: '.status.replicas',
  });
  const columns = version.additionalPrinterColumns!.map((c) => c.name);
  // The original's columns keep their positions; Replicas comes after them.
  assert.deepEqual(columns.slice(0, 6), ['Expected', 'Running', 'Paused', 'Missing', 'Lagging', 'Outdated']);
  assert.equal(columns[6], 'Replicas');
});
