// `konsumerator explain`: the last read's metrics through the operator's autoscale(), each step
// shown: the predictor's figure, the policy clamp, the budget cut, the decision and when it can
// change next. The budget counts every pod an instance runs, in explain as in the operator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import { explain, renderExplanation } from '../../src/cli/ops-explain.js';
import { autoscaleConfig, autoscaleWith } from '../../src/autoscale/config.js';
import { existingInstanceInput } from '../../src/controller/autoscaling.js';
import { fromLastSyncState } from '../../src/metrics/warm-start.js';
import { baseSpec, consumer } from '../support/consumers.js';
import type { Consumer, ConsumerSpec } from '../../src/api/schema.js';

const now = new Date('2026-01-01T12:00:00Z');

function staticConsumer(
  extra: Partial<ConsumerSpec> = {},
  maxCpu = '4',
): { c: Consumer; deployments: V1Deployment[] } {
  const c = consumer(
    baseSpec({
      namespace: 'ns',
      numPartitions: 2,
      numPartitionsPerInstance: 1,
      autoscaler: {
        mode: 'static',
        predictor: 'naive',
        pendingScaleUpDuration: '5m',
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
      resourcePolicy: {
        containerPolicies: [
          {
            containerName: 'consumer',
            minAllowed: { cpu: '100m', memory: '64M' },
            maxAllowed: { cpu: maxCpu, memory: '1G' },
          },
        ],
      },
      ...extra,
    }),
  );
  c.status = {
    lastSyncTime: '2026-01-01T11:59:50Z',
    lastSyncState: {
      '0': { productionRate: 10, consumptionRate: 10, messageBehind: 0 },
      '1': { productionRate: 150, consumptionRate: 100, messageBehind: 90000 },
    },
  };
  const deployments = planConsumer({ consumer: c, deployments: [], now }).actions.flatMap((a) =>
    a.type === 'create' ? [a.deployment] : [],
  );
  for (const d of deployments) {
    d.metadata!.annotations!['konsumerator.lwolf.org/scaling-status'] = 'RUNNING';
    d.metadata!.annotations!['konsumerator.lwolf.org/scaling-status-change'] = '2026-01-01T11:00:00Z';
  }
  return { c, deployments };
}

test('a lagging instance: the naive figure, a pending scale-up and when it can happen', () => {
  const { c, deployments } = staticConsumer();
  const e = explain(c, deployments, now);
  assert.equal(e.none, undefined);
  const lagging = e.instances.find((o) => o.id === 1)!;
  // The original formula: (90000 / 600 s + 150) msg/s at 100 msg/s per core = 3 cores.
  assert.equal(lagging.prediction?.cpuRequest, 3000);
  assert.equal(lagging.signal.maxLagMs, 600_000);
  assert.equal(lagging.decision.apply, false);
  assert.equal(lagging.decision.state.status, 'PENDING_SCALE_UP');
  assert.equal(lagging.nextChangeAt?.toISOString(), '2026-01-01T12:05:00.000Z');
  const text = renderExplanation(e, now, 1);
  assert.match(text, /partition 1: production 150\/s, consumption 100\/s, behind 90000, lag 10m/);
  assert.match(text, /predictor: +cpu 3 /);
  assert.match(text, /next change: after the pending period: 2026-01-01T12:05:00.000Z \(in 5m\)/);
  assert.doesNotMatch(text, /instance 0 /, '--instance shows one instance');
});

test('the policy clamp and the budget cut are shown', () => {
  const { c, deployments } = staticConsumer(
    { autoscaler: { ...staticConsumer().c.spec.autoscaler, pendingScaleUpDuration: '0s' } },
    '2',
  );
  const clamped = explain(c, deployments, now).instances.find((o) => o.id === 1)!;
  assert.equal(clamped.target.cpuRequest, 2000);
  assert.equal(clamped.policyShortageMillis, 1000);
  assert.match(renderExplanation(explain(c, deployments, now), now), /1 CPU kept back by maxAllowed/);

  c.spec.resourcePolicy.globalPolicy = { maxAllowed: { cpu: '1500m' } };
  const cut = explain(c, deployments, now).instances.find((o) => o.id === 1)!;
  assert.ok(cut.budgetCut && cut.budgetCut.cpuMillis > 0, JSON.stringify(cut.budgetCut));
  assert.match(renderExplanation(explain(c, deployments, now), now, 1), /budget: +cut cpu/);
});

test('nothing to explain: autoscaling off, or no read yet', () => {
  const off = consumer(baseSpec());
  assert.match(explain(off, [], now).none!, /does not autoscale/);
  const { c, deployments } = staticConsumer();
  delete c.status;
  assert.match(explain(c, deployments, now).none!, /no metrics read yet/);
});

test('with capacity learning (the default), explain sizes with what status.capacity holds and says so', () => {
  const { c, deployments } = staticConsumer();
  c.spec.autoscaler.predictor = 'proactive';
  assert.equal(c.spec.autoscaler.learnRatePerCore, undefined);
  const without = explain(c, deployments, now).instances.find((o) => o.id === 1)!.prediction!.cpuRequest!;
  c.status!.capacity = {
    configuredRatePerCore: 100,
    ratePerCore: 50,
    source: 'learned',
    learnedRatePerCore: 50,
    confidence: 0.8,
    weight: 8,
    updatedAt: '2026-01-01T11:59:50Z',
  };
  const e = explain(c, deployments, now);
  assert.equal(e.capacity?.source, 'learned');
  assert.equal(e.capacity?.ratePerCore, 50);
  const withLearned = e.instances.find((o) => o.id === 1)!.prediction!.cpuRequest!;
  assert.ok(withLearned >= 2 * without - 100, `${withLearned}m with 50/s per core, ${without}m with 100/s`);
  assert.match(
    renderExplanation(e, now),
    /capacity per core: configured 100\/s, learned 50\/s \(confidence 0\.80\); sized with 50\/s, the learned value/,
  );
  // Learning off: the configured value, and no capacity line.
  c.spec.autoscaler.learnRatePerCore = false;
  const off = explain(c, deployments, now);
  assert.equal(off.capacity, undefined);
  assert.equal(off.instances.find((o) => o.id === 1)!.prediction!.cpuRequest, without);
  assert.doesNotMatch(renderExplanation(off, now), /capacity per core/);
});

/**
 * staticConsumer with `replicas` pods per instance (100m each now), partition 1 at 3 cores per pod
 * at once, and a CPU budget.
 */
function replicated(replicas: number, budgetCpu: string) {
  const { c, deployments } = staticConsumer({
    replicas,
    autoscaler: { ...staticConsumer().c.spec.autoscaler, pendingScaleUpDuration: '0s' },
  });
  c.spec.resourcePolicy.globalPolicy = { maxAllowed: { cpu: budgetCpu } };
  assert.deepEqual(
    deployments.map((d) => d.spec?.replicas),
    [replicas, replicas],
  );
  return { c, deployments };
}

test('the budget counts every pod: 2 replicas per instance claim their size twice, each pod gets half', () => {
  const { c, deployments } = replicated(2, '2');
  const hot = explain(c, deployments, now).instances.find((o) => o.id === 1)!;
  assert.equal(hot.prediction?.cpuRequest, 3000);
  // 2 cores for 4 pods: instance 0 keeps 2 × 100m, instance 1 gets the 1800m left, 900m per pod.
  assert.equal(hot.sizing.cpuRequest, 900);
  assert.deepEqual(hot.budgetCut, { cpuMillis: 2100, memoryBytes: 0 });
  assert.equal(hot.decision.state.status, 'SATURATED');
  assert.equal(hot.pods, 2);
  assert.match(
    renderExplanation(explain(c, deployments, now), now, 1),
    /pods: +2 \(spec\.replicas\), each at the size below; the global budget counts every pod/,
  );
  // One replica per instance: 2 cores for 2 pods, instance 1 gets 1900m.
  const single = replicated(1, '2');
  assert.equal(explain(single.c, single.deployments, now).instances[1]!.sizing.cpuRequest, 1900);
  assert.equal(explain(single.c, single.deployments, now).instances[1]!.pods, undefined);
  assert.doesNotMatch(renderExplanation(explain(single.c, single.deployments, now), now), /pods:/);
});

test("the operator's input counts the pods its Deployment runs: all pods stay within the budget", () => {
  const { c, deployments } = replicated(3, '3');
  const config = autoscaleConfig(c.spec)!;
  const inputs = deployments.map((d, id) =>
    existingInstanceInput(c.spec, id, [id], c.spec.resourcePolicy.containerPolicies![0], d, 'consumer', 0),
  );
  const samples = fromLastSyncState(c.status?.lastSyncState, c.status?.lastSyncTime, 2)!.partitions;
  const result = autoscaleWith(config, now, samples, inputs);
  // 3 cores for 6 pods: instance 0 keeps 3 × 100m, instance 1 gets 2700m, 900m per pod.
  assert.deepEqual(
    result.instances.map((o) => o.sizing.cpuRequest),
    [100, 900],
  );
  assert.equal(result.allocated.cpuMillis, 3000);
});
