// assignment Balanced: one Deployment whose replicas share every partition by group assignment,
// sized per replica through the same autoscale() as per-partition instances.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { V1Deployment } from '@kubernetes/client-node';
import { naivePredictor, podNeed, proactivePredictor } from '../../src/autoscale/predictor.js';
import { partitionSignal, type PartitionSignal } from '../../src/autoscale/signals.js';
import { autoscale, type InstanceInput } from '../../src/autoscale/autoscale.js';
import type { AutoscaleSettings } from '../../src/autoscale/settings.js';
import type { PartitionSample } from '../../src/metrics/types.js';
import { planConsumer, type Action } from '../../src/plan/consumer-plan.js';
import { sharingReplicas } from '../../src/api/resolve.js';
import { validateConsumer } from '../../src/api/validate.js';
import { existingInstanceInput } from '../../src/controller/autoscaling.js';
import { autoscalerConflicts, replicasKeptByHpa, reportedConflicts } from '../../src/plan/autoscalers.js';
import { balancedPolicy } from '../../src/sim/policies/balanced.js';
import { benchmarkConsumer } from '../../src/sim/bench-consumer.js';
import { defaultParams } from '../../src/sim/params.js';
import { simulate } from '../../src/sim/run.js';
import { simSetup } from '../../src/sim/setup.js';
import { diurnalTrace, stalledTrace } from '../../src/sim/traces.js';
import { explain, renderExplanation } from '../../src/cli/ops-explain.js';
import { consumerReport, renderReport } from '../../src/cli/ops-status.js';
import { applied } from '../support/applied.js';
import { baseSpec, consumer } from '../support/consumers.js';

const now = new Date('2026-01-01T00:00:00Z');
const MIN = 60_000;
const settings: AutoscaleSettings = {
  ratePerCore: 100,
  ramPerCoreBytes: 256 * 1024 * 1024,
  cpuIncrementMillis: 100,
  tolerableLagMs: 1 * MIN,
  criticalLagMs: undefined,
  recoveryTimeMs: 5 * MIN,
  pendingScaleUpMs: 0,
  pendingScaleDownMs: 0,
  scaleDownAfterLagFreeSyncs: 1,
  fallbackStrategy: 'min',
  proactive: true,
};
const signals = (samples: PartitionSample[]) => samples.map((s, i) => partitionSignal(i, s));
const production = (p: PartitionSignal) => p.sample.production ?? 0;
const rates = (...values: number[]) => signals(values.map((v) => ({ production: v, behind: 0 })));

test('podNeed: one replica needs the sum; as many replicas as partitions, the busiest partition', () => {
  const skewed = rates(400, 50, 50, 50, 50, 50, 50, 50);
  assert.equal(podNeed(skewed, production), 750);
  assert.equal(podNeed(skewed, production, 1), 750);
  assert.equal(podNeed(skewed, production, 8), 400);
  assert.equal(podNeed(skewed, production, 20), 400, 'idle replicas change nothing');
});

test('podNeed: a replica may hold the busiest partitions together: it gets the k largest needs', () => {
  // Zipf-like: 8 partitions on 4 replicas, 2 each; a range assignor puts 400 and 300 together.
  assert.equal(podNeed(rates(400, 300, 200, 100, 50, 50, 50, 50), production, 4), 700);
});

test('podNeed: the replica holding the busiest partition also holds its share of the others', () => {
  // 8 partitions on 4 replicas: 2 each; the one with the 400/s partition holds one 50/s more.
  assert.equal(podNeed(rates(400, 50, 50, 50, 50, 50, 50, 50), production, 4), 450);
  // 10 partitions on 4 replicas: up to 3 each → 400 + 2 × 50.
  assert.equal(podNeed(rates(400, 50, 50, 50, 50, 50, 50, 50, 50, 50), production, 4), 500);
  // An even load: the most partitions a replica holds, times one partition's need.
  assert.equal(podNeed(rates(100, 100, 100, 100, 100), production, 2), 300);
});

test('podNeed: a partition without a production rate counts as the busiest; none known, no need', () => {
  const partial = signals([{ production: 200 }, {}, { production: 100 }, { production: 100 }]);
  // Needs taken as 200, 200, 100, 100 → 2 per replica on 2 replicas: the two largest.
  assert.equal(podNeed(partial, production, 2), 400);
  assert.equal(podNeed(signals([{}, {}]), production, 2), undefined);
});

test('property: a replica never needs less than the busiest partition or its even share, nor more than the sum', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 64 }),
      fc.integer({ min: 1, max: 100 }),
      (values, replicas) => {
        const need = podNeed(rates(...values), production, replicas)!;
        const sum = values.reduce((a, b) => a + b, 0);
        const eps = 1e-6;
        assert.ok(need >= Math.max(...values) - eps, 'the busiest partition');
        assert.ok(need >= sum / replicas - eps, 'the even share');
        assert.ok(need <= sum + eps, 'the sum');
      },
    ),
  );
});

test('both predictors size one replica of a balanced group; one replica is the per-partition rule', () => {
  const group = rates(400, 50, 50, 50, 50, 50, 50, 50);
  assert.deepEqual(proactivePredictor(group, settings, 1), proactivePredictor(group, settings));
  assert.deepEqual(naivePredictor(group, settings, 1), naivePredictor(group, settings));
  assert.equal(proactivePredictor(group, settings)!.cpuRequest, 7500);
  assert.equal(proactivePredictor(group, settings, 4)!.cpuRequest, 4500);
  assert.equal(naivePredictor(group, settings, 8)!.cpuRequest, 4000);
  // The backlog counts too: 6000 behind on the hot partition, drained within tolerableLag (60 s).
  const lagging = signals([
    { production: 400, behind: 6000 },
    ...Array(7).fill({ production: 50, behind: 0 }),
  ]);
  assert.equal(proactivePredictor(lagging, settings, 4)!.cpuRequest, 5500);
});

const group = (replicas: number, current = 500): InstanceInput => ({
  id: 0,
  partitions: [0, 1, 2, 3, 4, 5, 6, 7],
  policy: { containerName: 'consumer', minAllowed: { cpu: '100m' }, maxAllowed: { cpu: '16' } },
  current: { cpuRequest: current, cpuLimit: 1000 },
  state: { status: 'PENDING_SCALE_UP', changedAt: new Date(now.getTime() - 60 * MIN), lagFreeSyncs: 0 },
  paused: false,
  replicas,
});
const groupSamples = new Map(
  [400, 50, 50, 50, 50, 50, 50, 50].map((production, p) => [
    p,
    { production, consumption: production / 2, behind: 6 * production },
  ]),
);

test('autoscale: a balanced instance gets the per-replica size; allocated counts every replica', () => {
  const result = autoscale({
    settings,
    predictor: proactivePredictor,
    now,
    samples: groupSamples,
    instances: [group(4)],
  });
  const outcome = result.instances[0]!;
  assert.equal(outcome.decision.apply, true);
  // Two partitions per replica: the hot one (400/s + 2400 behind drained in 60 s = 440/s) and a
  // mean other one (50/s + 300 behind in 60 s = 55/s): 495/s → 4950m, rounded up to 5 cores.
  assert.equal(outcome.sizing.cpuRequest, 5000);
  assert.equal(result.allocated.cpuMillis, 4 * 5000);
});

test('autoscale: the global budget caps what all replicas request, each replica gets its share', () => {
  const result = autoscale({
    settings,
    predictor: proactivePredictor,
    now,
    samples: groupSamples,
    instances: [group(4)],
    budget: { cpuMillis: 12_000 },
  });
  const outcome = result.instances[0]!;
  assert.equal(outcome.sizing.cpuRequest, 3000);
  assert.equal(outcome.budgetCut?.cpuMillis, 2000);
  assert.equal(result.allocated.cpuMillis, 12_000);
  assert.equal(outcome.decision.state.status, 'SATURATED');
});

const balancedSpec = (replicas = 3) =>
  baseSpec({ assignment: 'Balanced', numPartitionsPerInstance: undefined, replicas });
const names = (actions: readonly Action[], type: Action['type']) =>
  actions
    .filter((a) => a.type === type)
    .map((a) => (a.type === 'delete' ? a.name : a.deployment.metadata!.name));

test('plan: a balanced Consumer is one Deployment <name>-0 of every partition, its replicas subscribe', () => {
  const plan = planConsumer({ consumer: consumer(balancedSpec(3)), deployments: [], now });
  assert.deepEqual(names(plan.actions, 'create'), ['orders-0']);
  const d = (plan.actions[0] as Extract<Action, { type: 'create' }>).deployment;
  assert.equal(d.spec!.replicas, 3);
  assert.equal(d.metadata!.labels!.partitions, '0-9');
  assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/partition'], '0,1,2,3,4,5,6,7,8,9');
  assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/consumer-id'], '0');
  assert.deepEqual(
    d.spec!.template.spec!.containers[0]!.env!.map((e) => e.name),
    ['TEST_KEY', 'GOMAXPROCS', 'GOMEMLIMIT', 'KONSUMERATOR_NUM_PARTITIONS'],
    'no partition list, instance id or instance count: Kafka assigns the partitions',
  );
  assert.equal(plan.counts.expected, 1);
});

test('plan: Partitioned → Balanced keeps <name>-0 and deletes the others only once it has rolled out', () => {
  const partitioned = consumer();
  const before = applied(planConsumer({ consumer: partitioned, deployments: [], now }).actions);
  assert.equal(before.length, 4);
  const switched = consumer(balancedSpec(3));
  const first = planConsumer({ consumer: switched, deployments: before, now });
  assert.deepEqual(names(first.actions, 'update'), ['orders-0']);
  assert.deepEqual(names(first.actions, 'delete'), [], 'the old instances keep consuming meanwhile');
  assert.deepEqual(first.deletionsWaiting, ['orders-1', 'orders-2', 'orders-3']);
  // Rolled out: 3 replicas available.
  const after = applied(first.actions, before).map((d): V1Deployment =>
    d.metadata!.name === 'orders-0'
      ? { ...d, status: { ...d.status, replicas: 3, updatedReplicas: 3, availableReplicas: 3 } }
      : d,
  );
  const second = planConsumer({ consumer: switched, deployments: after, now });
  assert.deepEqual(names(second.actions, 'delete'), ['orders-1', 'orders-2', 'orders-3']);
});

test('the replicas a balanced instance is sized for: what its Deployment runs, else the spec; none when partitioned', () => {
  assert.equal(sharingReplicas(balancedSpec(3)), 3);
  assert.equal(sharingReplicas(balancedSpec(3), 5), 5, 'an HPA may keep the count');
  assert.equal(sharingReplicas(balancedSpec(0)), 1);
  assert.equal(sharingReplicas(baseSpec({ replicas: 3 })), undefined);
  const plan = planConsumer({ consumer: consumer(balancedSpec(3)), deployments: [], now });
  const [deployment] = applied(plan.actions);
  const input = existingInstanceInput(balancedSpec(3), 0, [0, 1], undefined, deployment!, 'consumer', 0);
  assert.equal(input.replicas, 3);
  const partitioned = existingInstanceInput(baseSpec(), 0, [0, 1], undefined, deployment!, 'consumer', 0);
  assert.equal(partitioned.replicas, undefined);
});

test('validate: a balanced template setting KONSUMERATOR_PARTITION is not warned about (nothing replaces it)', () => {
  const spec = balancedSpec(2);
  spec.deploymentTemplate.template.spec!.containers[0]!.env = [
    { name: 'KONSUMERATOR_PARTITION', value: 'ignored' },
    { name: 'GOMAXPROCS', value: '4' },
  ];
  const warnings = validateConsumer(consumer(spec)).warnings.map((w) => w.message);
  assert.equal(warnings.length, 1, warnings.join('; '));
  assert.match(warnings[0]!, /sets GOMAXPROCS, which the operator sets itself/);
});

test('an HPA on a balanced Consumer is not a conflict, but it still keeps the replica count', () => {
  const targeting = autoscalerConflicts(new Set(['orders-0']), [
    {
      kind: 'HorizontalPodAutoscaler',
      name: 'h',
      namespace: 'n',
      target: { kind: 'Deployment', name: 'orders-0' },
    },
    {
      kind: 'VerticalPodAutoscaler',
      name: 'v',
      namespace: 'n',
      target: { kind: 'Deployment', name: 'orders-0' },
      updateMode: 'Recreate',
    },
  ]);
  assert.deepEqual(
    reportedConflicts(targeting, true).map((c) => c.kind),
    ['VerticalPodAutoscaler'],
  );
  assert.equal(reportedConflicts(targeting, false).length, 2);
  assert.deepEqual([...replicasKeptByHpa(targeting)], ['orders-0']);
});

test('simulator: the balanced policy sizes every replica alike, in place, with no rebalance', () => {
  const full = stalledTrace({ seed: 5, partitions: 10, peakRate: 2000 });
  const trace = { ...full, durationMs: 3 * 3_600_000, rates: full.rates.map((r) => r.slice(0, 180)) };
  const setup = simSetup({ ...benchmarkConsumer(10), numPartitionsPerInstance: 1 });
  const result = simulate(trace, balancedPolicy, setup, defaultParams({ seed: 3, partitionSeries: true }));
  const { rollout, rebalance } = result.figures.restartsByCause;
  assert.equal(rebalance, 0, 'the replica count never changes');
  assert.equal(rollout, 0, 'resized in place');
  assert.ok(result.figures.scaleActions > 0, 'it resizes');
  // ceil(10 / 4) = 3 replicas, every partition's pod at the same request each minute.
  for (let minute = 0; minute < result.cpuByMinute[0]!.length; minute++) {
    const cores = result.cpuByMinute.map((row) => row[minute]);
    assert.ok(
      cores.every((c) => c === cores[0]),
      `minute ${minute}: ${cores.join(', ')}`,
    );
  }
  assert.ok(
    Math.max(...result.cpuByMinute[0]!) > Math.min(...result.cpuByMinute[0]!),
    'the size follows the load',
  );
});

test('explain and status: one instance of every partition, sized per replica, and the replica count', () => {
  const spec = baseSpec({
    assignment: 'Balanced',
    numPartitionsPerInstance: undefined,
    numPartitions: 4,
    replicas: 2,
    autoscaler: {
      mode: 'static',
      predictor: 'naive',
      static: {
        partitions: {},
        minSyncPeriod: '1m',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '1m',
        criticalLag: '1h',
        recoveryTime: '10m',
      },
    },
  });
  const c = consumer(spec);
  c.status = {
    lastSyncTime: '2025-12-31T23:59:50Z',
    lastSyncState: Object.fromEntries(
      [150, 10, 10, 10].map((rate, p) => [
        String(p),
        { productionRate: rate, consumptionRate: rate, messageBehind: 0 },
      ]),
    ),
  };
  const deployments = applied(planConsumer({ consumer: c, deployments: [], now }).actions);
  const e = explain(c, deployments, now);
  assert.equal(e.instances.length, 1);
  const only = e.instances[0]!;
  assert.equal(only.replicas, 2);
  // Two partitions per replica: the hot one (150/s) and one other (10/s) → 1.6 cores each.
  assert.equal(only.prediction?.cpuRequest, 1600);
  const text = renderExplanation(e, now);
  assert.match(text, /instance 0 \(orders-0\), partitions 0,1,2,3/);
  assert.match(text, /balanced: +2 replica\(s\) share these partitions by group assignment/);

  const report = consumerReport(c, deployments, [], [], now);
  assert.equal(report.instances.length, 1);
  assert.equal(report.instances[0]!.partitions, '0-3');
  assert.match(
    renderReport(report, now),
    /balanced, 2 replica\(s\) sharing every partition by group assignment/,
  );
});

test('simulator: a balanced group keeps up through a day of skewed traffic; a growth the node defers rolls out like any instance', () => {
  // A range assignor puts the busiest (Zipf) partitions on the first replica, and the daily growth
  // is larger than a node has free: without the operator's fallback for a deferred resize, that
  // replica would stay small for good.
  const trace = diurnalTrace({ seed: 7, partitions: 16, peakRate: 3000 });
  const setup = simSetup({ ...benchmarkConsumer(16), numPartitionsPerInstance: 1 });
  const { figures } = simulate(trace, balancedPolicy, setup, defaultParams({ seed: 3 }));
  assert.ok(
    figures.sloViolationShare < 0.01,
    `within tolerableLag: ${(1 - figures.sloViolationShare) * 100} %`,
  );
  assert.ok(figures.maxLagSeconds < 3600, `max lag ${figures.maxLagSeconds} s`);
  assert.equal(figures.restartsByCause.rebalance, 0);
});
