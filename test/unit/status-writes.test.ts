// One status write per change: what a reconcile writes must not be rewritten by the next one
// when nothing new happened in between (e.g. the metrics read after the creates).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { autoscaleStep, ScalingMemory } from '../../src/controller/autoscaling.js';
import { MetricsSources } from '../../src/controller/metrics-sources.js';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import { baseSpec, consumer } from '../support/consumers.js';

const now = new Date('2026-03-01T10:00:00Z');

function spec(behindSeconds: number): ConsumerSpec {
  return baseSpec({
    numPartitions: 3,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'static',
      pendingScaleUpDuration: '5m',
      static: {
        partitions: {
          '0': { production: 10, consumption: 10, behind: 0 },
          '1': { production: 1000, consumption: 1000, behind: 1000 * behindSeconds },
          '2': { production: 100, consumption: 0, behind: 100 * behindSeconds },
        },
        minSyncPeriod: '1s',
        ratePerCore: 1000,
        ramPerCore: '100M',
        tolerableLag: '1m',
        criticalLag: '1h',
        recoveryTime: '10m',
      },
    },
  });
}

for (const behindSeconds of [0, 600, 2 * 3600]) {
  test(`the read after the creates sees the instances as the creating reconcile reported them (lag ${behindSeconds} s)`, async () => {
    const c = consumer(spec(behindSeconds));
    const sources = new MetricsSources();
    const memory = new ScalingMemory();
    try {
      const first = await autoscaleStep(c, [], sources, memory, now);
      const created = planConsumer({
        consumer: c,
        deployments: [],
        now,
        overrides: first.overrides!,
      }).actions.map((a) => (a.type === 'create' ? a.deployment : assert.fail('only creates')));
      const next = await autoscaleStep(c, created, sources, memory, new Date(now.getTime() + 2000));
      assert.equal(first.status.instances?.length, 3, 'every new instance is listed');
      assert.deepEqual(first.status.instances, next.status.instances);
      assert.equal(first.status.lagging, next.status.lagging);
    } finally {
      await sources.closeAll();
    }
  });
}

test('new metrics settings are read once the operator floor has passed, and the step says a read is awaited', async () => {
  const sources = new MetricsSources(undefined, { limits: { minSyncPeriodMs: 5000 } });
  const memory = new ScalingMemory();
  const at = (s: number) => new Date(now.getTime() + s * 1000);
  const slow = (behindSeconds: number) => {
    const s = spec(behindSeconds);
    s.autoscaler.static!.minSyncPeriod = '1m';
    return consumer(s);
  };
  try {
    const first = await autoscaleStep(slow(0), [], sources, memory, at(0));
    const created = planConsumer({
      consumer: slow(0),
      deployments: [],
      now,
      overrides: first.overrides!,
    }).actions.map((a) => (a.type === 'create' ? a.deployment : assert.fail('only creates')));
    const unchanged = await autoscaleStep(slow(0), created, sources, memory, at(2));
    assert.equal(unchanged.awaitsRead, undefined, 'same settings: the next read is a minute away');
    assert.equal(unchanged.requeueAfterMs, 58_000);
    // The spec now says partition 1 is 10 minutes behind.
    const between = await autoscaleStep(slow(600), created, sources, memory, at(3));
    assert.equal(between.awaitsRead, true, 'the changed settings are read within the floor');
    assert.equal(between.requeueAfterMs, 2000, '5 s after the last read, not a minute');
    assert.equal(between.status.lagging, undefined, 'nothing read yet');
    const read = await autoscaleStep(slow(600), created, sources, memory, at(5));
    assert.equal(read.awaitsRead, undefined);
    assert.ok((read.status.lagging ?? 0) >= 1, 'the new settings were read');
  } finally {
    await sources.closeAll();
  }
});

test('an annotation-only write the controller-manager has not observed yet is no rollout', () => {
  const c = consumer(spec(0));
  const rolledOut = planConsumer({ consumer: c, deployments: [], now }).actions.map((a, i) => {
    const d = structuredClone(a.type === 'create' ? a.deployment : assert.fail('only creates'));
    d.metadata = { ...d.metadata, uid: `uid-${i}`, generation: 2 };
    d.status = { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 };
    return d;
  });
  // Generation 2 came from an annotation write of the operator's to generation 1, rolled out.
  const metadataOnly = new Map(rolledOut.map((d) => [d.metadata!.uid!, { generation: 2, rolledOut: 1 }]));
  assert.deepEqual(planConsumer({ consumer: c, deployments: rolledOut, now, metadataOnly }).notRolledOut, []);
  assert.equal(
    planConsumer({ consumer: c, deployments: rolledOut, now }).notRolledOut.length,
    3,
    'without that knowledge: waiting for the controller-manager',
  );
  // Someone changed the spec after that write: generation 3 is a rollout to wait for.
  rolledOut[0]!.metadata!.generation = 3;
  assert.deepEqual(planConsumer({ consumer: c, deployments: rolledOut, now, metadataOnly }).notRolledOut, [
    rolledOut[0]!.metadata!.name,
  ]);
});

test('the read after a scale-up sees the instances as the scaling reconcile reported them', async () => {
  const sources = new MetricsSources();
  const memory = new ScalingMemory();
  const at = (s: number) => new Date(now.getTime() + s * 1000);
  try {
    const calm = consumer(spec(0));
    const first = await autoscaleStep(calm, [], sources, memory, at(0));
    const created = planConsumer({
      consumer: calm,
      deployments: [],
      now,
      overrides: first.overrides!,
    }).actions.map((a) => (a.type === 'create' ? a.deployment : assert.fail('only creates')));
    // Two hours behind (past criticalLag): scaled up at once.
    const behind = consumer(spec(2 * 3600));
    const scaling = await autoscaleStep(behind, created, sources, memory, at(10));
    assert.ok(
      scaling.status.instances!.some((i) => i.action === 'scale-up'),
      'an instance was scaled up',
    );
    const byName = new Map(created.map((d) => [d.metadata!.name!, d]));
    for (const a of planConsumer({
      consumer: behind,
      deployments: created,
      now: at(10),
      overrides: scaling.overrides!,
    }).actions)
      if (a.type === 'update') byName.set(a.deployment.metadata!.name!, a.deployment);
    const written = { ...behind, status: { ...behind.status, instances: scaling.status.instances! } };
    const next = await autoscaleStep(written, [...byName.values()], sources, memory, at(20));
    assert.deepEqual(next.status.instances, scaling.status.instances);
  } finally {
    await sources.closeAll();
  }
});
