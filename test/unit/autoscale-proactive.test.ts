// The proactive predictor and rules (the default): size for production + headroom + the whole
// backlog, scale before the lag reaches tolerableLag, shrink with a margin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MEMORY_CPU_BURST_SHARE,
  MEMORY_FLOOR_CORES,
  memoryCores,
  naivePredictor,
  proactivePredictor,
  PROACTIVE_HEADROOM,
} from '../../src/autoscale/predictor.js';
import { instanceSignal, partitionSignal } from '../../src/autoscale/signals.js';
import type { PartitionSample } from '../../src/metrics/types.js';
import {
  decide,
  SCALE_DOWN_MARGIN,
  STANDING_BACKLOG_SHARE,
  standingBacklog,
  type ScalingState,
} from '../../src/autoscale/policy.js';
import type { AutoscaleSettings } from '../../src/autoscale/settings.js';
import { autoscaleConfig } from '../../src/autoscale/config.js';
import { benchmarkConsumer } from '../../src/sim/bench-consumer.js';

const MIN = 60_000;
const settings: AutoscaleSettings = {
  ratePerCore: 1000,
  ramPerCoreBytes: 1e9,
  cpuIncrementMillis: 100,
  tolerableLagMs: 5 * MIN,
  criticalLagMs: 60 * MIN,
  recoveryTimeMs: 30 * MIN,
  pendingScaleUpMs: 5 * MIN,
  pendingScaleDownMs: 15 * MIN,
  scaleDownAfterLagFreeSyncs: 3,
  fallbackStrategy: 'min',
  proactive: true,
};
const now = new Date('2026-01-01T12:00:00Z');
const running = (lagFreeSyncs = 0, minutesAgo = 60): ScalingState => ({
  status: 'RUNNING',
  changedAt: new Date(now.getTime() - minutesAgo * MIN),
  lagFreeSyncs,
});
const signalOf = (sample: PartitionSample) => instanceSignal([0], new Map([[0, sample]]), 5 * MIN, 60 * MIN);
const cpu = (millis: number) => ({ cpuRequest: millis, cpuLimit: Math.ceil(millis / 1000) * 1000 });

function decision(currentMillis: number, sample: PartitionSample, state = running()) {
  const signal = signalOf(sample);
  const target = proactivePredictor(signal.partitions, settings)!;
  return {
    target,
    ...decide({ settings, now, state, current: cpu(currentMillis), target, cpuShortage: 0, signal }),
  };
}

test('proactive predictor: production + headroom + the whole backlog within min(recoveryTime, tolerableLag)', () => {
  const calm = proactivePredictor([partitionSignal(0, { production: 1000, behind: 0 })], settings)!;
  assert.equal(calm.cpuRequest, Math.ceil((1000 * (1 + PROACTIVE_HEADROOM)) / 100) * 100);
  // 60 s of backlog: naive adds production × 60/1800 (and nothing once it is under a second);
  // proactive drains all of it within tolerableLag (300 s): +200 msg/s.
  const behind = proactivePredictor([partitionSignal(0, { production: 1000, behind: 60_000 })], settings)!;
  assert.equal(behind.cpuRequest, Math.ceil((1000 * (1 + PROACTIVE_HEADROOM) + 200) / 100) * 100);
  assert.equal(
    naivePredictor([partitionSignal(0, { production: 1000, behind: 60_000 })], settings)!.cpuRequest,
    1100,
  );
  const tiny = proactivePredictor([partitionSignal(0, { production: 1000, behind: 900 })], settings)!;
  assert.equal(tiny.cpuRequest, 1100, 'a backlog under a second still counts');
  assert.equal(proactivePredictor([partitionSignal(0, {})], settings), undefined);
});

test('proactive memory follows the CPU the pod may use (request + MEMORY_CPU_BURST_SHARE, at most the limit, at least MEMORY_FLOOR_CORES); naive keeps ramPerCore × limit cores', () => {
  const MiB = 1024 * 1024;
  const gi = { ...settings, ramPerCoreBytes: 1024 * MiB };
  const at = (production: number) => [partitionSignal(0, { production, behind: 0 })];
  // 1,150 msg/s → 1.2 cores requested (rounded up to 100m), limit 2 cores: memory for 1.5 cores.
  const busy = proactivePredictor(at(1150), gi)!;
  assert.equal(busy.cpuRequest, 1200);
  assert.equal(busy.cpuLimit, 2000);
  assert.equal(MEMORY_CPU_BURST_SHARE, 0.25);
  assert.equal(busy.memoryRequest, Math.ceil(1.2 * 1.25 * 1024) * MiB);
  // 1.9 cores: the burst would pass the 2-core limit, so memory for the limit.
  assert.equal(proactivePredictor(at(1850), gi)!.memoryRequest, 2 * 1024 * MiB);
  // 0.5 cores: 0.625 cores of memory, above the floor (a pod at its floor may burst too).
  assert.equal(proactivePredictor(at(500), gi)!.memoryRequest, 640 * MiB);
  assert.equal(busy.memoryLimit, busy.memoryRequest);
  assert.equal(naivePredictor(at(1150), gi)!.memoryRequest, 2 * 1024 * MiB, 'naive: per whole limit core');
  // A nearly idle partition: 100m of CPU, but the memory floor (a consumer's fixed base).
  const idle = proactivePredictor(at(10), gi)!;
  assert.equal(idle.cpuRequest, 100);
  assert.equal(idle.memoryRequest, MEMORY_FLOOR_CORES * 1024 * MiB);
  // Rounded up to whole MiB: 0.7 × 1e9 bytes is not a whole number of MiB.
  const odd = proactivePredictor(at(650), settings)!;
  assert.equal(odd.cpuRequest, 700);
  assert.equal(odd.memoryRequest! % MiB, 0);
  assert.ok(odd.memoryRequest! >= 0.875e9 && odd.memoryRequest! < 0.875e9 + MiB);
  // Without a CPU limit (undefined), the burst share alone bounds it.
  assert.equal(memoryCores(2000, undefined), 2.5);
  assert.equal(memoryCores(2000, 2000), 2);
  assert.equal(memoryCores(100, 1000), MEMORY_FLOOR_CORES);
});

test('an instance that cannot keep up grows before any lag: after the pending period, at once when the lag would break the SLO first', () => {
  // 1100 msg/s against 1 core: lag grows 0.09 s per s, 300 s away → 55 min: wait the pending period.
  const slow = decision(1000, { production: 1100, consumption: 1000, behind: 0 });
  assert.equal(slow.apply, false);
  assert.equal(slow.state.status, 'PENDING_SCALE_UP');
  const later = decision(
    1000,
    { production: 1100, consumption: 1000, behind: 0 },
    {
      status: 'PENDING_SCALE_UP',
      changedAt: new Date(now.getTime() - 5 * MIN),
      lagFreeSyncs: 0,
    },
  );
  assert.equal(later.apply, true);
  assert.equal(later.direction, 'up');
  // 3000 msg/s against 1 core, 200 s behind: the lag would pass 300 s in 150 s: at once.
  const burst = decision(1000, { production: 3000, consumption: 1000, behind: 600_000 });
  assert.equal(burst.apply, true);
  assert.match(burst.reason, /would reach tolerableLag/);
  // Keeping up (capacity ≥ production), no backlog: headroom alone does not restart a pod.
  const fine = decision(1000, { production: 990, consumption: 990, behind: 0 });
  assert.equal(fine.apply, false);
  assert.equal(fine.state.status, 'RUNNING');
  // Stalled: more CPU would not help.
  const stalled = decision(1000, { production: 1100, consumption: 0, behind: 500_000 });
  assert.equal(stalled.apply, false);
});

test('a standing backlog grows the instance even when its request × ratePerCore covers production', () => {
  // 1 core is estimated at 1000 msg/s, above the 950 produced, but the pod consumes only 960:
  // 60 s of backlog (57,000 messages) would take 5,700 s to drain, far over the 300 s window.
  const pendingUp = (minutesAgo: number): ScalingState => ({
    status: 'PENDING_SCALE_UP',
    changedAt: new Date(now.getTime() - minutesAgo * MIN),
    lagFreeSyncs: 0,
  });
  const standing = { production: 950, consumption: 960, behind: 57_000 };
  assert.equal(STANDING_BACKLOG_SHARE, 0.1);
  assert.equal(standingBacklog({ settings, signal: signalOf(standing) }), true);
  const first = decision(1000, standing);
  assert.equal(first.apply, false, 'not at once: the pending period proves the backlog stands');
  assert.equal(first.state.status, 'PENDING_SCALE_UP');
  assert.match(first.reason, /not draining in time/);
  assert.deepEqual(first.waiting, { for: 'pending-period', direction: 'up', remainingMs: 5 * MIN });
  const waiting = decision(1000, standing, pendingUp(2));
  assert.equal(waiting.apply, false);
  assert.deepEqual(waiting.waiting, { for: 'pending-period', direction: 'up', remainingMs: 3 * MIN });
  const grown = decision(1000, standing, pendingUp(5));
  assert.equal(grown.apply, true);
  assert.equal(grown.direction, 'up');
  assert.match(grown.reason, /does not drain in time/);
  // Sized like any short instance: production + the backlog drained within 300 s → 1140 msg/s.
  assert.equal(grown.target.cpuRequest, 1200);
  // A lag that grows below half of tolerableLag (consumption under production) never drains.
  const growing = { production: 950, consumption: 900, behind: 57_000 };
  assert.equal(standingBacklog({ settings, signal: signalOf(growing) }), true);
  assert.equal(decision(1000, growing, pendingUp(5)).apply, true);
});

test('no standing backlog: one that drains within the window, one under STANDING_BACKLOG_SHARE of tolerableLag, or unknown consumption', () => {
  const keepsUp = (sample: PartitionSample) => {
    assert.equal(standingBacklog({ settings, signal: signalOf(sample) }), false);
    const kept = decision(1000, sample);
    assert.equal(kept.apply, false);
    assert.equal(kept.state.status, 'RUNNING');
    assert.match(kept.reason, /keeps up/);
  };
  // 57,000 behind at a net 250 msg/s: drained in 228 s, within the 300 s window.
  keepsUp({ production: 950, consumption: 1200, behind: 57_000 });
  // 20 s of lag, below 10 % of tolerableLag (30 s): in-flight noise, whatever its drain time.
  keepsUp({ production: 950, consumption: 950, behind: 19_000 });
  // Without a measured consumption rate the drain time is unknown: the estimate decides.
  keepsUp({ production: 950, behind: 57_000 });
});

test('a backlog is drained, not left under tolerableLag: no scale-down while the lag is half of it or more', () => {
  const draining = decision(5000, { production: 1000, consumption: 2000, behind: 160_000 }, running(10));
  assert.equal(draining.apply, false);
  assert.match(draining.reason, /being drained/);
});

test('scale-down: margin, lag-free syncs, then the pending period', () => {
  const within = decision(2400, { production: 2300, consumption: 2300, behind: 0 }, running(10));
  assert.ok(within.target.cpuRequest! < 2400);
  assert.ok(within.target.cpuRequest! > 2400 * (1 - SCALE_DOWN_MARGIN));
  assert.equal(within.apply, false);
  assert.equal(within.state.status, 'RUNNING');
  const early = decision(3000, { production: 1000, consumption: 1000, behind: 0 }, running(0));
  assert.equal(early.state.status, 'RUNNING', 'waits for the lag-free syncs');
  const pending = decision(3000, { production: 1000, consumption: 1000, behind: 0 }, running(5));
  assert.equal(pending.state.status, 'PENDING_SCALE_DOWN');
  const done = decision(
    3000,
    { production: 1000, consumption: 1000, behind: 0 },
    {
      status: 'PENDING_SCALE_DOWN',
      changedAt: new Date(now.getTime() - 15 * MIN),
      lagFreeSyncs: 20,
    },
  );
  assert.equal(done.apply, true);
  assert.equal(done.direction, 'down');
});

test('the default predictor is proactive; naive keeps the original rules', () => {
  const spec = benchmarkConsumer(2);
  const byDefault = autoscaleConfig(spec)!;
  assert.equal(byDefault.predictor, proactivePredictor);
  assert.equal(byDefault.settings.proactive, true);
  const naive = autoscaleConfig({ ...spec, autoscaler: { ...spec.autoscaler, predictor: 'naive' } })!;
  assert.equal(naive.predictor, naivePredictor);
  assert.equal(naive.settings.proactive, false);
});
