// How the plan renders an instance under in-place actuation (the template keeps its resources, the
// decision goes to the annotation, unless the template changes anyway or the instance must roll),
// the controlledValues rule, and the GOMAXPROCS/GOMEMLIMIT rules.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment, V1ResourceRequirements } from '@kubernetes/client-node';
import { planConsumer, type Action } from '../../src/plan/consumer-plan.js';
import type { InstanceOverride } from '../../src/plan/render.js';
import { controlledSizing, largestCpuLimit } from '../../src/plan/limits.js';
import { inPlaceGoMaxProcs, parseGoMemLimit } from '../../src/plan/env.js';
import {
  formatResourcesAnnotation,
  instanceResources,
  readResourcesAnnotation,
} from '../../src/plan/instance-resources.js';
import { baseSpec, consumer } from '../support/consumers.js';
import type { ConsumerSpec } from '../../src/api/schema.js';

const now = new Date('2026-01-01T00:00:00Z');

function spec(extra: Partial<ConsumerSpec> = {}): ConsumerSpec {
  return baseSpec({
    numPartitions: 2,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'static',
      static: {
        partitions: {},
        ratePerCore: 100,
        ramPerCore: '100M',
        minSyncPeriod: '1s',
        recoveryTime: '10m',
        tolerableLag: '1m',
        criticalLag: '1h',
      },
    },
    resourcePolicy: {
      containerPolicies: [
        {
          containerName: 'consumer',
          minAllowed: { cpu: '100m', memory: '100M' },
          maxAllowed: { cpu: '4', memory: '1G' },
        },
      ],
    },
    ...extra,
  });
}

/** The Deployments as the API server holds them after the plan's writes (rolled out). */
function applied(actions: readonly Action[], existing: readonly V1Deployment[] = []): V1Deployment[] {
  const byName = new Map(existing.map((d) => [d.metadata!.name!, d]));
  for (const action of actions) {
    if (action.type === 'delete') continue;
    const previous = byName.get(action.deployment.metadata!.name!);
    byName.set(action.deployment.metadata!.name!, {
      ...structuredClone(action.deployment),
      metadata: {
        ...structuredClone(action.deployment.metadata),
        uid: previous?.metadata?.uid ?? action.deployment.metadata!.name,
      },
      status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
    });
  }
  return [...byName.values()];
}

const override = (cpu: number, memory: number): InstanceOverride => ({
  container: 'consumer',
  sizing: {
    cpuRequest: cpu,
    cpuLimit: Math.ceil(cpu / 1000) * 1000,
    memoryRequest: memory,
    memoryLimit: memory,
  },
  scaling: { status: 'RUNNING', changedAt: now, saturationMillis: undefined },
});

const template = (d: V1Deployment) => d.spec!.template.spec!.containers[0]!;
const env = (d: V1Deployment) => Object.fromEntries((template(d).env ?? []).map((e) => [e.name, e.value]));
const inPlace = (mustRoll = false) => ({ container: 'consumer', mustRoll: () => mustRoll });

describe('rendering under in-place actuation', () => {
  const c = consumer(spec());
  const created = applied(planConsumer({ consumer: c, deployments: [], now, inPlace: inPlace() }).actions);

  test('a new instance starts at its size; GOMAXPROCS is the policy maximum in whole cores', () => {
    const d = created[0]!;
    assert.deepEqual(template(d).resources, {
      requests: { cpu: '100m', memory: '100M' },
      limits: { cpu: '100m', memory: '100M' },
    });
    assert.equal(env(d).GOMAXPROCS, '4');
    assert.equal(env(d).GOMEMLIMIT, '76MiB', 'from the memory limit it starts with');
    assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/resources'], undefined);
  });

  test('a decision goes to the annotation; the template and its env stay', () => {
    const overrides = new Map([[1, override(2500, 300e6)]]);
    const plan = planConsumer({ consumer: c, deployments: created, now, overrides, inPlace: inPlace() });
    assert.equal(plan.actions.length, 1);
    const update = plan.actions[0]!;
    assert.equal(update.type === 'update' && update.templateChanges, false, 'no rollout');
    const d = update.type === 'update' ? update.deployment : undefined!;
    assert.deepEqual(template(d), template(created[1]!), 'the same container in the template');
    assert.deepEqual(readResourcesAnnotation(d), {
      container: 'consumer',
      resources: { requests: { cpu: '2500m', memory: '300M' }, limits: { cpu: '3', memory: '300M' } },
    });
    assert.deepEqual(instanceResources(d, 'consumer'), {
      requests: { cpu: '2500m', memory: '300M' },
      limits: { cpu: '3', memory: '300M' },
    });
    // Converged: the same again writes nothing, and between reads the instance keeps its size.
    const after = applied(plan.actions, created);
    assert.deepEqual(
      planConsumer({ consumer: c, deployments: after, now, overrides, inPlace: inPlace() }).actions,
      [],
    );
    assert.deepEqual(planConsumer({ consumer: c, deployments: after, now, inPlace: inPlace() }).actions, []);
    // Back to the template's size: the annotation goes.
    const back = planConsumer({
      consumer: c,
      deployments: after,
      now,
      overrides: new Map([
        [
          1,
          {
            ...override(100, 100e6),
            sizing: { cpuRequest: 100, cpuLimit: 100, memoryRequest: 100e6, memoryLimit: 100e6 },
          },
        ],
      ]),
      inPlace: inPlace(),
    });
    const backDeployment = (back.actions[0] as { deployment: V1Deployment }).deployment;
    assert.equal(backDeployment.metadata!.annotations!['konsumerator.lwolf.org/resources'], undefined);
  });

  test('when the template changes anyway, it carries the decision (one rollout, not two)', () => {
    const sized = applied(
      planConsumer({
        consumer: c,
        deployments: created,
        now,
        overrides: new Map([[1, override(2500, 300e6)]]),
        inPlace: inPlace(),
      }).actions,
      created,
    );
    const changed = structuredClone(c);
    changed.spec.deploymentTemplate.template.spec!.containers[0]!.image = 'example.com/orders-consumer:2.0';
    const plan = planConsumer({ consumer: changed, deployments: sized, now, inPlace: inPlace() });
    const d1 = plan.actions
      .map((a) => (a as { deployment: V1Deployment }).deployment)
      .find((d) => d.metadata!.name === 'orders-1')!;
    assert.deepEqual(template(d1).resources, {
      requests: { cpu: '2500m', memory: '300M' },
      limits: { cpu: '3', memory: '300M' },
    });
    assert.equal(d1.metadata!.annotations!['konsumerator.lwolf.org/resources'], undefined);
    assert.equal(env(d1).GOMEMLIMIT, '228MiB');
  });

  test('an instance that must roll gets the decision in its template', () => {
    const plan = planConsumer({
      consumer: c,
      deployments: created,
      now,
      overrides: new Map([[1, override(2500, 300e6)]]),
      inPlace: inPlace(true),
    });
    const update = plan.actions[0]!;
    assert.equal(update.type === 'update' && update.templateChanges, true);
    assert.equal(
      template((update as { deployment: V1Deployment }).deployment).resources!.requests!.cpu,
      '2500m',
    );
  });

  test('a Deployment made before (GOMAXPROCS from its CPU limit) keeps its pods', () => {
    const rollout = applied(planConsumer({ consumer: c, deployments: [], now }).actions);
    assert.equal(env(rollout[0]!).GOMAXPROCS, '1');
    assert.deepEqual(
      planConsumer({ consumer: c, deployments: rollout, now, inPlace: inPlace() }).actions,
      [],
    );
    // Rollout actuation with a size in the annotation: the template takes it (one rollout).
    const withAnnotation = structuredClone(rollout);
    withAnnotation[0]!.metadata!.annotations!['konsumerator.lwolf.org/resources'] = formatResourcesAnnotation(
      'consumer',
      {
        requests: { cpu: '2', memory: '200M' },
        limits: { cpu: '2', memory: '200M' },
      },
    );
    const plan = planConsumer({ consumer: c, deployments: withAnnotation, now });
    const d = (plan.actions[0] as { deployment: V1Deployment }).deployment;
    assert.equal(template(d).resources!.requests!.cpu, '2');
    assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/resources'], undefined);
  });
});

describe('controlledValues', () => {
  const decided = { cpuRequest: 1500, cpuLimit: 2000, memoryRequest: 300e6, memoryLimit: 300e6 };
  const templateResources: V1ResourceRequirements = {
    requests: { cpu: '500m', memory: '256Mi' },
    limits: { cpu: '1', memory: '512Mi' },
  };

  test('RequestsAndWholeCoreLimits (the default) leaves the decision as it is', () => {
    assert.deepEqual(controlledSizing(decided, 'RequestsAndWholeCoreLimits', templateResources), decided);
  });

  test('RequestsAndLimits keeps the template’s limit/request ratio; no limit where it has none', () => {
    assert.deepEqual(controlledSizing(decided, 'RequestsAndLimits', templateResources), {
      cpuRequest: 1500,
      cpuLimit: 3000,
      memoryRequest: 300e6,
      memoryLimit: 600e6,
    });
    assert.deepEqual(controlledSizing(decided, 'RequestsAndLimits', { requests: { cpu: '1' } }), {
      cpuRequest: 1500,
      memoryRequest: 300e6,
    });
    // Idempotent: applied to its own result it gives the same.
    const once = controlledSizing(decided, 'RequestsAndLimits', templateResources);
    assert.deepEqual(controlledSizing(once, 'RequestsAndLimits', templateResources), once);
  });

  test('RequestsOnly sets requests only, never above the template’s limits', () => {
    assert.deepEqual(controlledSizing(decided, 'RequestsOnly', { limits: { memory: '200M' } }), {
      cpuRequest: 1500,
      memoryRequest: 200e6,
    });
    assert.deepEqual(controlledSizing(decided, 'RequestsOnly', undefined), {
      cpuRequest: 1500,
      memoryRequest: 300e6,
    });
  });

  test('rendered: RequestsOnly leaves the CPU unlimited and GOMAXPROCS unset', () => {
    const s = spec();
    s.resourcePolicy.containerPolicies![0]!.controlledValues = 'RequestsOnly';
    for (const actuation of ['Rollout', 'InPlaceOrRollout'] as const) {
      s.autoscaler.actuation = actuation;
      const plan = planConsumer({
        consumer: consumer(s),
        deployments: [],
        now,
        ...(actuation === 'Rollout' ? {} : { inPlace: inPlace() }),
      });
      const d = (plan.actions[0] as { deployment: V1Deployment }).deployment;
      assert.deepEqual(template(d).resources, { requests: { cpu: '100m', memory: '100M' } }, actuation);
      assert.equal(env(d).GOMAXPROCS, undefined, actuation);
      assert.equal(env(d).GOMEMLIMIT, undefined, `${actuation}: no memory limit, no GOMEMLIMIT`);
    }
  });

  test('the largest CPU limit, for GOMAXPROCS', () => {
    const policy = { containerName: 'c', maxAllowed: { cpu: '2500m' } };
    assert.equal(largestCpuLimit(policy, templateResources), 2500);
    assert.equal(
      largestCpuLimit({ ...policy, controlledValues: 'RequestsAndLimits' }, templateResources),
      5000,
    );
    assert.equal(
      largestCpuLimit({ ...policy, controlledValues: 'RequestsAndLimits' }, { requests: { cpu: '1' } }),
      undefined,
    );
    assert.equal(largestCpuLimit({ ...policy, controlledValues: 'RequestsOnly' }, templateResources), 1000);
    assert.equal(largestCpuLimit({ containerName: 'c' }, templateResources), undefined, 'no maximum');
  });
});

describe('the env rules of in-place actuation', () => {
  test('GOMAXPROCS: the largest CPU limit in whole cores, or not set', () => {
    assert.equal(inPlaceGoMaxProcs(2500), '3');
    assert.equal(inPlaceGoMaxProcs(100), '1');
    assert.equal(inPlaceGoMaxProcs(undefined), undefined);
  });

  test('GOMEMLIMIT values are read back in bytes', () => {
    assert.equal(parseGoMemLimit('76MiB'), 76 * 1024 * 1024);
    assert.equal(parseGoMemLimit('1GiB'), 1024 ** 3);
    assert.equal(parseGoMemLimit('1000'), 1000);
    assert.equal(parseGoMemLimit('lots'), undefined);
    assert.equal(parseGoMemLimit(undefined), undefined);
  });
});

describe('the resources annotation', () => {
  test('written with a stable key order; anything invalid counts as absent', () => {
    const text = formatResourcesAnnotation('consumer', {
      limits: { memory: '1Gi', cpu: '2' },
      requests: { memory: '1Gi', cpu: '1500m', 'nvidia.com/gpu': '1' },
    });
    assert.equal(
      text,
      '{"container":"consumer","requests":{"cpu":"1500m","memory":"1Gi"},"limits":{"cpu":"2","memory":"1Gi"}}',
    );
    const d = (annotation: string): V1Deployment => ({
      metadata: { annotations: { 'konsumerator.lwolf.org/resources': annotation } },
      spec: {
        selector: {},
        template: {
          spec: {
            containers: [{ name: 'consumer', resources: { requests: { cpu: '1', 'nvidia.com/gpu': '1' } } }],
          },
        },
      },
    });
    assert.deepEqual(instanceResources(d(text), 'consumer'), {
      requests: { 'nvidia.com/gpu': '1', cpu: '1500m', memory: '1Gi' },
      limits: { cpu: '2', memory: '1Gi' },
    });
    for (const bad of [
      '',
      'not json',
      '{"container":1}',
      '{"container":"consumer","requests":{"cpu":"-1"}}',
      '{"container":"consumer","requests":[1]}',
    ])
      assert.deepEqual(
        instanceResources(d(bad), 'consumer'),
        { requests: { cpu: '1', 'nvidia.com/gpu': '1' } },
        bad,
      );
    assert.deepEqual(instanceResources(d(text), 'other'), undefined, 'another container');
  });
});
