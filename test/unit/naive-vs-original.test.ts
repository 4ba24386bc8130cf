// `predictor: naive` is the original's formula. It differs from the original in two documented
// places (docs/compatibility.md), both where the original could not tell a partition that
// produces nothing from one without data, since both read 0: a measured 0 counts as 0, not as the
// busiest partition, and an idle instance gets the smallest size the formula gives, not the
// fallback. Everywhere else it gives the original's figures; the simulator's model of the
// original (`originalEstimate`) is the reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { autoscale } from '../../src/autoscale/autoscale.js';
import { naivePredictor } from '../../src/autoscale/predictor.js';
import { partitionSignal } from '../../src/autoscale/signals.js';
import { policyFallback } from '../../src/autoscale/sizing.js';
import type { PartitionSample } from '../../src/metrics/types.js';
import { benchmarkConsumer } from '../../src/sim/bench-consumer.js';
import { originalEstimate } from '../../src/sim/policies/original.js';
import { simSetup } from '../../src/sim/setup.js';

const GiB = 2 ** 30;
const setupOf = (partitions: number, ratePerCore: number) =>
  simSetup({ ...benchmarkConsumer(partitions, ratePerCore), numPartitionsPerInstance: partitions });
const samplesOf = (list: PartitionSample[]) => new Map(list.map((s, p) => [p, s]));
const naive = (list: PartitionSample[], ratePerCore: number) =>
  naivePredictor(
    list.map((s, p) => partitionSignal(p, s)),
    setupOf(list.length, ratePerCore).config.settings,
  );

test('naive gives the original’s figures whenever every partition produces something', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          production: fc.integer({ min: 1, max: 50_000 }),
          behind: fc.integer({ min: 0, max: 50_000_000 }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      fc.integer({ min: 1, max: 5000 }),
      (list, ratePerCore) => {
        const setup = setupOf(list.length, ratePerCore);
        const original = originalEstimate(
          list.map((_, p) => p),
          samplesOf(list),
          setup,
        )!;
        const ours = naive(list, ratePerCore)!;
        const step = setup.config.settings.cpuIncrementMillis;
        // The original could ask for 0m for a nearly idle instance; ours never goes below one step.
        const cpu = Math.max(step, original.cpu);
        assert.equal(ours.cpuRequest, cpu);
        if (original.cpu > 0) {
          assert.deepEqual(
            [ours.cpuRequest, ours.cpuLimit, ours.memoryRequest],
            [original.cpu, original.cpuLimit, original.memory],
          );
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('a partition that produces 0 counts as 0, not as the busiest partition (the original: 43 msg/s for [10, 11, 0, 0])', () => {
  const list = [{ production: 10 }, { production: 11 }, { production: 0 }, { production: 0 }];
  // At 10 msg/s per core: the original sized 10 + 11 + 11 + 11 = 43 msg/s, 4.3 cores.
  const original = originalEstimate([0, 1, 2, 3], samplesOf(list), setupOf(4, 10))!;
  assert.deepEqual(original, { cpu: 4300, cpuLimit: 5000, memory: 5 * GiB });
  // Ours: 10 + 11 + 0 + 0 = 21 msg/s, 2.1 cores.
  assert.deepEqual(naive(list, 10), {
    cpuRequest: 2100,
    cpuLimit: 3000,
    memoryRequest: 3 * GiB,
    memoryLimit: 3 * GiB,
  });
  // A partition without data still counts as the busiest, as in the original.
  assert.equal(naive([{ production: 10 }, { production: 11 }, {}, {}], 10)!.cpuRequest, 4300);
});

test('an idle instance gets one CPU step, a whole-core limit and ramPerCore, not the fallback (the original: minAllowed)', () => {
  const idle = [
    { production: 0, consumption: 0, behind: 0 },
    { production: 0, consumption: 0, behind: 0 },
  ];
  const setup = setupOf(2, 1000);
  // The original: a total of 0 means the fallback, requests = limits = minAllowed (100m, 128Mi).
  assert.equal(originalEstimate([0, 1], samplesOf(idle), setup), undefined);
  const originalFallback = policyFallback(setup.policy, 'min');
  assert.deepEqual(originalFallback, {
    cpuRequest: 100,
    cpuLimit: 100,
    memoryRequest: 128 * 2 ** 20,
    memoryLimit: 128 * 2 ** 20,
  });
  // Ours, for a new instance as for a running one: the formula's smallest size, within the policy.
  const ours = { cpuRequest: 100, cpuLimit: 1000, memoryRequest: GiB, memoryLimit: GiB };
  assert.deepEqual(naive(idle, 1000), ours);
  const settings = { ...setup.config.settings, scaleDownAfterLagFreeSyncs: 1, pendingScaleDownMs: 0 };
  const result = autoscale({
    settings,
    predictor: naivePredictor,
    now: new Date(0),
    samples: samplesOf(idle),
    instances: [
      {
        id: 0,
        partitions: [0, 1],
        policy: setup.policy,
        current: originalFallback,
        state: { status: undefined, changedAt: undefined, lagFreeSyncs: 0 },
        paused: false,
        isNew: true,
      },
      {
        id: 1,
        partitions: [0, 1],
        policy: setup.policy,
        current: { cpuRequest: 4000, cpuLimit: 4000, memoryRequest: 4 * GiB, memoryLimit: 4 * GiB },
        state: { status: 'RUNNING', changedAt: new Date(0), lagFreeSyncs: 0 },
        paused: false,
      },
    ],
  });
  assert.deepEqual(result.instances[0]!.sizing, ours, 'a new idle instance');
  assert.equal(result.instances[1]!.decision.direction, 'down');
  assert.deepEqual(result.instances[1]!.sizing, ours, 'a running instance that went idle');
});
