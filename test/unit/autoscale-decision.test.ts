// One sizing path: `autoscale()` decides for new and existing instances alike, its outcome says
// what it saw, predicted, clamped and when the next change may come, and the controller renders
// (or, in dry-run, only reports) that outcome; MetricsAvailable says what the reading holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { autoscale, type InstanceInput } from '../../src/autoscale/autoscale.js';
import { autoscaleConfig, autoscaleWith } from '../../src/autoscale/config.js';
import { naivePredictor, proactivePredictor } from '../../src/autoscale/predictor.js';
import { limitedByBudget, decideStart, type ScalingState } from '../../src/autoscale/policy.js';
import type { AutoscaleSettings } from '../../src/autoscale/settings.js';
import { autoscaleStep, metricsAvailable, ScalingMemory } from '../../src/controller/autoscaling.js';
import { MetricsSources } from '../../src/controller/metrics-sources.js';
import type { PartitionSample } from '../../src/metrics/types.js';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import type { InstanceOverride } from '../../src/plan/render.js';
import { baseSpec, consumer } from '../support/consumers.js';

const MIN = 60_000;
const now = new Date('2026-03-01T10:00:00Z');
const later = (ms: number) => new Date(now.getTime() + ms);
const settings: AutoscaleSettings = {
  ratePerCore: 500,
  ramPerCoreBytes: 300e6,
  cpuIncrementMillis: 100,
  tolerableLagMs: 5 * MIN,
  criticalLagMs: 60 * MIN,
  recoveryTimeMs: 30 * MIN,
  pendingScaleUpMs: 5 * MIN,
  pendingScaleDownMs: 15 * MIN,
  scaleDownAfterLagFreeSyncs: 3,
  fallbackStrategy: 'min',
};
const policy = {
  containerName: 'c',
  minAllowed: { cpu: '100m', memory: '100M' },
  maxAllowed: { cpu: '2', memory: '2G' },
};
const fallback = { cpuRequest: 100, cpuLimit: 100, memoryRequest: 100e6, memoryLimit: 100e6 };
const NO_STATE: ScalingState = { status: undefined, changedAt: undefined, lagFreeSyncs: 0 };
const running = (minutesAgo = 60, lagFreeSyncs = 0): ScalingState => ({
  status: 'RUNNING',
  changedAt: later(-minutesAgo * MIN),
  lagFreeSyncs,
});
const newInstance = (id: number, partitions: number[]): InstanceInput => ({
  id,
  partitions,
  policy,
  current: fallback,
  state: NO_STATE,
  paused: false,
  isNew: true,
});

test('a new instance starts at once at its prediction within the policy, SATURATED when clamped', () => {
  const samples = new Map<number, PartitionSample>([
    [0, { production: 500, consumption: 500, behind: 0 }],
    [1, { production: 5000, consumption: 5000, behind: 0 }],
  ]);
  const result = autoscale({
    settings,
    predictor: naivePredictor,
    now,
    samples,
    instances: [newInstance(0, [0]), newInstance(1, [1])],
  });
  const [calm, busy] = result.instances;
  assert.equal(calm!.isNew, true);
  assert.equal(calm!.decision.apply, true);
  assert.equal(calm!.decision.direction, 'start');
  assert.deepEqual(calm!.decision.state, { status: 'RUNNING', changedAt: now, lagFreeSyncs: 0 });
  assert.deepEqual(calm!.sizing, {
    cpuRequest: 1000,
    cpuLimit: 1000,
    memoryRequest: 300e6,
    memoryLimit: 300e6,
  });
  // 5000 msg/s wants 10 cores; the policy allows 2: the 8 missing cores are the saturation.
  assert.equal(busy!.prediction!.cpuRequest, 10_000);
  assert.equal(busy!.policyShortageMillis, 8000);
  assert.equal(busy!.sizing.cpuRequest, 2000);
  assert.equal(busy!.decision.state.status, 'SATURATED');
  assert.equal(busy!.decision.saturationMillis, 8000);
});

test('a new instance without metrics starts at the fallback; the budget does not hold a new instance back', () => {
  const result = autoscale({
    settings,
    predictor: proactivePredictor,
    now,
    samples: new Map([[1, { production: 1000, consumption: 1000, behind: 0 }]]),
    instances: [newInstance(0, [0]), newInstance(1, [1])],
    budget: { cpuMillis: 500 },
  });
  const [unknown, known] = result.instances;
  assert.equal(unknown!.prediction, undefined);
  assert.deepEqual(unknown!.sizing, fallback);
  assert.equal(unknown!.decision.apply, true);
  assert.match(unknown!.decision.reason, /starts at the fallback/);
  assert.equal(known!.sizing.cpuRequest, 2000, 'the prediction, above the 500m budget');
  assert.equal(known!.budgetCut, undefined);
  assert.equal(result.allocated.cpuMillis, 2100, 'allocated counts what the new instances get');
});

test('new and existing instances in one pass: existing ones follow the rules, new ones start at once', () => {
  const lagging = { production: 1000, consumption: 900, behind: 1000 * 600 };
  const result = autoscale({
    settings,
    predictor: naivePredictor,
    now,
    samples: new Map([
      [0, lagging],
      [1, lagging],
    ]),
    instances: [
      { ...newInstance(0, [0]), isNew: false, current: { cpuRequest: 1000 }, state: running() },
      newInstance(1, [1]),
    ],
  });
  const [existing, created] = result.instances;
  assert.equal(existing!.decision.apply, false, 'an existing instance waits for its pending period');
  assert.equal(existing!.decision.state.status, 'PENDING_SCALE_UP');
  assert.equal(created!.decision.apply, true);
  assert.equal(created!.sizing.cpuRequest, existing!.target.cpuRequest, 'the same target');
});

test('the outcome says what the decision waits for and when the next change may happen', () => {
  const lagging = new Map([[0, { production: 1000, consumption: 900, behind: 1000 * 600 }]]);
  const pass = (state: ScalingState, at: Date, samples = lagging, current = { cpuRequest: 1000 }) =>
    autoscale({
      settings,
      predictor: naivePredictor,
      now: at,
      samples,
      instances: [{ id: 0, partitions: [0], policy, current, state, paused: false }],
    }).instances[0]!;

  const first = pass(running(), now);
  assert.equal(first.decision.state.status, 'PENDING_SCALE_UP');
  assert.deepEqual(first.decision.waiting, { for: 'pending-period', direction: 'up', remainingMs: 5 * MIN });
  assert.deepEqual(first.nextChangeAt, later(5 * MIN));
  const second = pass(first.decision.state, later(2 * MIN));
  assert.equal(second.decision.apply, false);
  assert.deepEqual(second.nextChangeAt, later(5 * MIN), 'the same moment, seen two minutes later');
  const third = pass(second.decision.state, later(5 * MIN));
  assert.equal(third.decision.apply, true);
  assert.equal(third.nextChangeAt, undefined);

  // Less is needed: first the lag-free reads, then the pending period.
  const calm = new Map([[0, { production: 100, consumption: 100, behind: 0 }]]);
  const shrink = pass(running(60, 0), now, calm, { cpuRequest: 2000 });
  assert.deepEqual(shrink.decision.waiting, { for: 'lag-free-reads', remaining: 2 });
  const unknown = pass(running(), now, new Map(), { cpuRequest: 2000 });
  assert.equal(unknown.decision.held, true);
  assert.deepEqual(unknown.decision.waiting, { for: 'metrics' });
  const paused = autoscale({
    settings,
    predictor: naivePredictor,
    now,
    samples: lagging,
    instances: [
      { id: 0, partitions: [0], policy, current: { cpuRequest: 1000 }, state: running(), paused: true },
    ],
  }).instances[0]!;
  assert.equal(paused.decision.held, true);
  assert.deepEqual(paused.decision.waiting, { for: 'unpause' });
  assert.deepEqual(paused.decision.state, running(), 'a paused instance keeps its state as it is');
});

test('the budget re-decision lives in the policy: SATURATED with what is missing, the cut applied', () => {
  const state = running(10);
  const decision = decideStart({ now, cpuShortage: 0, predicted: true });
  const cut = limitedByBudget({
    now,
    state,
    current: { cpuRequest: 1000, memoryRequest: 1e9 },
    decision: { ...decision, direction: 'up' },
    granted: { cpuRequest: 1500, memoryRequest: 1e9 },
    cpuShortage: 500,
  });
  assert.equal(cut.apply, true);
  assert.equal(cut.direction, 'up');
  assert.equal(cut.state.status, 'SATURATED');
  assert.deepEqual(cut.state.changedAt, now, 'the state changed now');
  assert.equal(cut.saturationMillis, 500);
  assert.match(cut.reason, /limited by the global budget/);
  const nothingLeft = limitedByBudget({
    now,
    state: { ...state, status: 'SATURATED' },
    current: { cpuRequest: 1000 },
    decision,
    granted: { cpuRequest: 1000 },
    cpuShortage: 700,
  });
  assert.equal(nothingLeft.apply, false);
  assert.equal(nothingLeft.direction, 'none');
  assert.deepEqual(nothingLeft.state.changedAt, state.changedAt, 'still SATURATED since then');

  // Through a whole pass: the outcome shows what the budget kept.
  const samples = new Map([[0, { production: 1000, consumption: 900, behind: 1000 * 600 }]]);
  const outcome = autoscale({
    settings: { ...settings, pendingScaleUpMs: 0 },
    predictor: naivePredictor,
    now,
    samples,
    instances: [{ id: 0, partitions: [0], policy, current: { cpuRequest: 1000 }, state, paused: false }],
    budget: { cpuMillis: 1500 },
  }).instances[0]!;
  // 2700m predicted, 2000m allowed by the policy, 1500m by the budget.
  assert.equal(outcome.prediction!.cpuRequest, 2700);
  assert.equal(outcome.target.cpuRequest, 2000);
  assert.equal(outcome.policyShortageMillis, 700);
  assert.deepEqual(outcome.budgetCut, { cpuMillis: 500, memoryBytes: 0 });
  assert.equal(outcome.sizing.cpuRequest, 1500);
  assert.equal(outcome.decision.saturationMillis, 1200, 'what the policy and the budget kept');
});

// The controller's step, with the static metrics source (no I/O) and Deployments as the plan renders them.
function staticSpec(predictor: 'naive' | 'proactive', dryRun: boolean, behind: number): ConsumerSpec {
  return baseSpec({
    numPartitions: 2,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'static',
      predictor,
      dryRun,
      pendingScaleUpDuration: '5m',
      static: {
        partitions: {
          '0': { production: 10, consumption: 10, behind: 0 },
          '1': { production: 1000, consumption: 1000, behind },
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

const staticSamples = new Map([
  [0, { production: 10, consumption: 10, behind: 0 }],
  [1, { production: 1000, consumption: 1000, behind: 0 }],
]);

const newInstances = (spec: ConsumerSpec): InstanceInput[] =>
  [0, 1].map((id) => ({ ...newInstance(id, [id]), policy: spec.resourcePolicy!.containerPolicies![0]! }));

const deploymentsOf = (spec: ConsumerSpec): V1Deployment[] =>
  planConsumer({ consumer: consumer(spec), deployments: [], now }).actions.map((a) =>
    a.type === 'create' ? a.deployment : assert.fail('only creates'),
  );

/**
 * The controller's first step for a new Consumer of `spec` creates the instances `decide` decides
 * (id, sizing, scaling status); returns the step's overrides.
 */
async function createsAsDecided(
  spec: ConsumerSpec,
  decide: () => ReturnType<typeof autoscale>,
): Promise<Map<number, InstanceOverride>> {
  const sources = new MetricsSources();
  try {
    const step = await autoscaleStep(consumer(spec), [], sources, new ScalingMemory(), now);
    assert.deepEqual(
      [...step.overrides!.entries()].map(([id, o]) => [id, o.sizing, o.scaling.status]),
      decide().instances.map((o) => [o.id, o.sizing, o.decision.state.status]),
    );
    return step.overrides!;
  } finally {
    await sources.closeAll();
  }
}

test('the controller creates new instances from the decision of autoscale()', async () => {
  const spec = staticSpec('proactive', false, 0);
  spec.autoscaler = { ...spec.autoscaler, learnRatePerCore: false };
  const overrides = await createsAsDecided(spec, () =>
    autoscale({
      settings: { ...settings, ratePerCore: 1000, ramPerCoreBytes: 100e6, proactive: true },
      predictor: proactivePredictor,
      now,
      samples: staticSamples,
      instances: newInstances(spec),
    }),
  );
  // Partition 1 needs a core; the policy allows one.
  assert.equal(overrides.get(1)!.sizing.cpuRequest, 1000);
});

test('with learning on (the default) new instances come from the decision of autoscaleWith()', async () => {
  const spec = staticSpec('proactive', false, 0);
  const config = autoscaleConfig(spec)!;
  assert.equal(config.learnCapacity, true);
  const overrides = await createsAsDecided(spec, () =>
    autoscaleWith(config, now, staticSamples, newInstances(spec)),
  );
  // Nothing learned from one read: the configured rate sizes the request.
  assert.equal(overrides.get(1)!.sizing.cpuRequest, 1000);
});

test('dry-run reports the real decision: the proactive rules, not the original’s lag rule', async () => {
  // Partition 1 produces 1000 msg/s on a 100m instance (capacity 100 msg/s): no lag yet, but the
  // lag would reach tolerableLag within the pending period, so the proactive rules grow it at once.
  const spec = staticSpec('proactive', true, 0);
  const deployments = deploymentsOf(staticSpec('proactive', false, 0));
  const sources = new MetricsSources();
  try {
    const step = await autoscaleStep(consumer(spec), deployments, sources, new ScalingMemory(), now);
    const busy = step.status.instances!.find((i) => i.id === 1)!;
    assert.equal(busy.action, 'would-scale-up');
    assert.equal(busy.cpu, '100m');
    assert.equal(busy.targetCpu, '1');
    assert.equal(busy.lagSeconds, 0, 'not lagging: the original’s rule would recommend nothing');
    assert.equal(step.overrides!.size, 0, 'dry-run: nothing is rendered');
    assert.equal(step.events.length, 0);
  } finally {
    await sources.closeAll();
  }
});

test('dry-run keeps its own state: the pending period runs, then the recommendation stands', async () => {
  // Partition 1: 10 minutes behind (lagging); the naive rules wait 5 minutes in PENDING_SCALE_UP.
  const spec = staticSpec('naive', true, 1000 * 600);
  const deployments = deploymentsOf(staticSpec('naive', false, 0));
  const sources = new MetricsSources();
  const memory = new ScalingMemory();
  const read = async (minutes: number) => {
    const step = await autoscaleStep(consumer(spec), deployments, sources, memory, later(minutes * MIN));
    return step.status.instances!.find((i) => i.id === 1)!;
  };
  try {
    assert.deepEqual(
      { ...(await read(0)) },
      {
        id: 1,
        partitions: '1',
        action: 'none',
        state: 'PENDING_SCALE_UP',
        lagSeconds: 600,
        cpu: '100m',
        memory: '100M',
        targetCpu: '1',
        targetMemory: '200M',
      },
    );
    assert.equal((await read(2)).action, 'none', 'still within the pending period');
    assert.equal((await read(5)).action, 'would-scale-up');
    assert.equal((await read(6)).action, 'would-scale-up', 'nothing changed: the recommendation stands');
    assert.equal(
      deployments[1]!.metadata!.annotations!['konsumerator.lwolf.org/scaling-status'],
      'RUNNING',
      'the Deployment was never touched',
    );
  } finally {
    await sources.closeAll();
  }
});

test('MetricsAvailable: False (NoData) when no partition has any value; PartialData counts the known ones', () => {
  const reading = (entries: [number, PartitionSample][], warnings: string[] = []) => ({
    time: now,
    partitions: new Map(entries),
    warnings,
  });
  assert.deepEqual(
    metricsAvailable(
      'prometheus',
      3,
      reading(
        [
          [0, {}],
          [1, {}],
          [2, {}],
        ],
        ['no series'],
      ),
    ),
    {
      type: 'MetricsAvailable',
      status: 'False',
      reason: 'NoData',
      message:
        'the prometheus source answered, but with no value for any of the 3 partitions; no instance is resized until it has some',
    },
  );
  const partial = metricsAvailable(
    'kafka',
    4,
    reading(
      [
        [0, { behind: 0 }],
        [1, {}],
        [2, { production: 1 }],
        [3, {}],
      ],
      ['first read'],
    ),
  );
  assert.equal(partial.status, 'True');
  assert.equal(partial.reason, 'PartialData');
  assert.equal(partial.message, 'metrics for 2 of 4 partitions, none for partitions 1,3; first read');
  // Every partition known, but the source warned (a value left out, duplicated series...).
  const warned = metricsAvailable('prometheus', 1, reading([[0, { behind: 3 }]], ['production_rate: NaN']));
  assert.deepEqual(
    [warned.status, warned.reason, warned.message],
    ['True', 'PartialData', 'production_rate: NaN'],
  );
  const read = metricsAvailable(
    'static',
    2,
    reading([
      [0, { behind: 0 }],
      [1, { production: 0 }],
    ]),
  );
  assert.deepEqual(
    [read.status, read.reason, read.message],
    ['True', 'Read', 'metrics read for all 2 partitions'],
  );
});
