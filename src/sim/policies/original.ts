// The original konsumerator v1.2.2 as it behaves (its resource estimate, scaling state machine,
// metrics refresh and known bugs), written apart from our operator so that fixing ours never
// changes the baseline:
// - metrics are refreshed only when more than minSyncPeriod has passed since the last refresh;
//   a failed query means no estimation at all; an empty result reads as zeros;
// - the naive predictor with the partial-metrics workaround and the fallback (for more than 10
//   instances: the smallest running instance's resources) when the total is 0;
// - critical lag gives the policy maximum, but still waits in PENDING_SCALE_UP;
// - its scaling state machine with its bugs: SATURATED never scales up while lagging,
//   PENDING_SCALE_DOWN (or no state) + lagging + more needed does nothing;
// - every change is a rolling update of the instance (a restart).
import { ScalingStatus } from '../../api/constants.js';
import { clampToPolicy, policyFallback } from '../../autoscale/sizing.js';
import type { PolicySpec, SimPolicy } from '../policy.js';
import { simSetup, type SimSetup } from '../setup.js';
import { type Unit, type World } from '../world.js';
import type { PartitionSample } from '../../metrics/types.js';

const ceilToMultiple = (x: number, step: number) => (x % step === 0 ? x : x + step - (x % step));

interface Requests {
  cpu: number;
  memory: number;
}

export interface InstanceState {
  status: ScalingStatus | undefined;
  changedAt: number;
}

export interface TransitionInput {
  /** Target requests vs current: CPU first, memory when CPU is equal. */
  cmp: number;
  lagging: boolean;
  /** CPU the policy kept from the estimate, millicores. */
  shortage: number;
  nowMs: number;
}

/**
 * The original's scaling state table, bugs included: SATURATED + lagging + more needed only
 * refreshes the annotation (never applies); PENDING_SCALE_DOWN (or no state) + lagging + more
 * needed does nothing; the pending timers start at the state change.
 */
export function originalTransition(
  state: InstanceState,
  input: TransitionInput,
  settings: { pendingScaleUpMs: number; pendingScaleDownMs: number },
): InstanceState & { apply: boolean } {
  const { cmp, lagging, shortage, nowMs } = input;
  // Refreshing the annotation: SATURATED with a shortage, else RUNNING.
  const annotated = shortage > 0 ? ScalingStatus.saturated : ScalingStatus.running;
  if (cmp === 0) return moveTo(state, lagging ? annotated : ScalingStatus.running, nowMs);
  if (cmp > 0) {
    if (!lagging)
      return moveTo(
        state,
        state.status === ScalingStatus.saturated ? annotated : ScalingStatus.running,
        nowMs,
      );
    if (state.status === ScalingStatus.running) return moveTo(state, ScalingStatus.pendingScaleUp, nowMs);
    if (state.status === ScalingStatus.pendingScaleUp)
      return nowMs - state.changedAt >= settings.pendingScaleUpMs
        ? moveTo(state, annotated, nowMs, true)
        : stay(state);
    if (state.status === ScalingStatus.saturated) return moveTo(state, annotated, nowMs);
    return stay(state); // PENDING_SCALE_DOWN or no state: stuck until the lag ends (the original's bug)
  }
  if (lagging) return moveTo(state, annotated, nowMs);
  if (
    state.status === ScalingStatus.pendingScaleDown &&
    nowMs - state.changedAt >= settings.pendingScaleDownMs
  )
    return moveTo(state, annotated, nowMs, true);
  return moveTo(state, ScalingStatus.pendingScaleDown, nowMs);
}

/** To `status`; its timer restarts when the status changes. */
const moveTo = (state: InstanceState, status: ScalingStatus, nowMs: number, apply = false) => ({
  status,
  changedAt: status === state.status ? state.changedAt : nowMs,
  apply,
});

const stay = (state: InstanceState) => ({ status: state.status, changedAt: state.changedAt, apply: false });

/** The original's naive estimate of one instance; undefined when the total is 0 (then: the fallback). */
export function originalEstimate(
  partitions: readonly number[],
  samples: ReadonlyMap<number, PartitionSample>,
  setup: SimSetup,
): { cpu: number; cpuLimit: number; memory: number } | undefined {
  const s = setup.config.settings;
  const recSec = Math.trunc(s.recoveryTimeMs / 1000);
  let m = -Infinity;
  for (const p of partitions) m = Math.max(m, expectedRate(samples.get(p), recSec));
  let total = 0;
  for (const p of partitions) {
    const e = expectedRate(samples.get(p), recSec);
    total += e > 0 ? e : m;
  }
  if (total === 0) return undefined;
  const cpu = ceilToMultiple(Math.floor((total * 1000) / s.ratePerCore), s.cpuIncrementMillis);
  const cpuLimit = ceilToMultiple(cpu, 1000);
  return { cpu, cpuLimit, memory: Math.round((cpuLimit / 1000) * s.ramPerCoreBytes) };
}

/** What one partition needs, msg/s: production, plus its lag recovered within recoveryTime (whole seconds). */
function expectedRate(sample: PartitionSample | undefined, recSec: number): number {
  const production = Math.trunc(sample?.production ?? 0);
  const behind = Math.trunc(sample?.behind ?? 0);
  const lagSec = production !== 0 ? Math.floor(behind / production) : 0;
  return lagSec <= 0 ? production : Math.floor((lagSec * production + production * recSec) / recSec);
}

/** Max lag of an instance in seconds, as the original: floor(behind / production), 0 without production. */
function maxLagSeconds(partitions: readonly number[], samples: ReadonlyMap<number, PartitionSample>): number {
  let max = 0;
  for (const p of partitions) {
    const production = Math.trunc(samples.get(p)?.production ?? 0);
    const behind = Math.trunc(samples.get(p)?.behind ?? 0);
    if (production !== 0) max = Math.max(max, Math.floor(behind / production));
  }
  return max;
}

export const originalPolicy: PolicySpec = {
  id: 'original',
  label: 'Original v1.2.2',
  description:
    'The original operator’s naive policy with its state machine (5m/15m pending), refresh only after minSyncPeriod, zeros for missing metrics, and its bugs (SATURATED and PENDING_SCALE_DOWN block scale-ups).',
  create({ setup }): SimPolicy {
    const s = setup.config.settings;
    const states: InstanceState[] = [];
    let lastSyncMs = 0;
    const clamp = (r: { cpu: number; cpuLimit: number; memory: number }) =>
      clampToPolicy(
        { cpuRequest: r.cpu, cpuLimit: r.cpuLimit, memoryRequest: r.memory, memoryLimit: r.memory },
        setup.policy,
      );

    // The original's limits: the CPU request rounded up to whole cores (within the policy).
    const wholeCoreLimit = (cpu: number) =>
      clamp({ cpu, cpuLimit: ceilToMultiple(cpu, 1000), memory: 0 }).cpuLimit ?? Infinity;

    const fallback = (world: World): Requests => {
      const instances = setup.buckets.length;
      // The original's fallback: with more than 10 instances of which more than half are listed,
      // copy the smallest running one.
      if (instances > 10 && world.units.length > Math.floor(instances / 2)) {
        const smallest = world.units.reduce((a, b) => (b.cpuMillis < a.cpuMillis ? b : a));
        return { cpu: smallest.cpuMillis, memory: smallest.memoryBytes };
      }
      const f = policyFallback(setup.policy, s.fallbackStrategy);
      return { cpu: f.cpuRequest ?? 0, memory: f.memoryRequest ?? 0 };
    };

    const estimateInstance = (
      world: World,
      unit: Unit,
      state: InstanceState,
      samples: ReadonlyMap<number, PartitionSample>,
    ) => {
      const now = world.nowMs;
      const estimate = originalEstimate(unit.partitions, samples, setup);
      const lagSec = maxLagSeconds(unit.partitions, samples);
      const lagging = lagSec * 1000 >= s.tolerableLagMs;
      const critical = s.criticalLagMs !== undefined && lagSec * 1000 >= s.criticalLagMs;
      let target: Requests;
      let shortage = 0;
      if (!estimate) {
        target = fallback(world);
      } else if (critical && setup.policy?.maxAllowed) {
        const max = policyFallback(setup.policy, 'max');
        target = { cpu: max.cpuRequest ?? estimate.cpu, memory: max.memoryRequest ?? estimate.memory };
        shortage = estimate.cpu - target.cpu;
      } else {
        const limited = clamp(estimate);
        target = { cpu: limited.cpuRequest!, memory: limited.memoryRequest! };
        shortage = estimate.cpu - target.cpu;
      }
      const cmp =
        target.cpu !== unit.cpuMillis
          ? Math.sign(target.cpu - unit.cpuMillis)
          : Math.sign(target.memory - unit.memoryBytes);
      const step = originalTransition(state, { cmp, lagging, shortage, nowMs: now }, s);
      state.status = step.status;
      state.changedAt = step.changedAt;
      if (step.apply) world.resize(unit, target.cpu, target.memory, 'restart', wholeCoreLimit(target.cpu));
    };

    return {
      start(world) {
        // New instances get the estimate from the live metrics at once, as in the original.
        const samples = new Map(
          Array.from(
            { length: world.partitions },
            (_, p) => [p, { production: world.rate(p), behind: 0 }] as const,
          ),
        );
        world.units = setup.buckets.map((partitions) => {
          const estimate = originalEstimate(partitions, samples, setup);
          const limited = estimate ? clamp(estimate) : policyFallback(setup.policy, s.fallbackStrategy);
          states.push({ status: ScalingStatus.running, changedAt: 0 });
          const cpu = limited.cpuRequest ?? 0;
          return world.newUnit(partitions, cpu, limited.memoryRequest ?? 0, wholeCoreLimit(cpu));
        });
        lastSyncMs = 0;
      },
      step(world) {
        // Refresh only when strictly more than minSyncPeriod has passed, as the original does.
        if (world.nowMs - lastSyncMs <= setup.config.minSyncPeriodMs) return;
        const reading = world.read();
        if (reading.error) return; // failed query: no estimation, retried next reconcile
        lastSyncMs = world.nowMs;
        world.units.forEach((unit, i) => estimateInstance(world, unit, states[i]!, reading.samples));
      },
    };
  },
};

/**
 * The original with settings chosen for the SLO instead of its defaults: it reacts at 40 % of
 * the Consumer's tolerableLag (2 minutes for 5) after 1 minute pending, so its lag stays under
 * the tolerableLag the figures are measured against. Shows what the SLO costs with its rules.
 */
export const originalTunedPolicy: PolicySpec = {
  id: 'original-tuned',
  label: 'Original v1.2.2, tuned (reacts at 40 % of tolerableLag, pending up 1m)',
  description:
    'The original as above, configured for the SLO: its tolerableLag set to 40 % of the measured one (2m for 5m) and pendingScaleUpDuration 1m.',
  create(context) {
    const spec = structuredClone(context.setup.spec);
    const section = spec.autoscaler[spec.autoscaler.mode as 'prometheus'];
    if (section)
      section.tolerableLag = `${Math.round((context.setup.config.settings.tolerableLagMs * 0.4) / 1000)}s`;
    spec.autoscaler.pendingScaleUpDuration = '1m';
    return originalPolicy.create({ ...context, setup: simSetup(spec) });
  },
};
