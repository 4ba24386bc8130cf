// One autoscaling pass over the instances of a Consumer: signals → prediction → instance limits
// → state machine → global budget. Pure: the same inputs and time give the same decisions.
import type { ContainerPolicy } from '../api/schema.js';
import type { Sizing } from './sizing.js';
import { allocateBudget } from './budget.js';
import { limitToPolicy } from './limiter.js';
import { decide, type PolicyDecision, type ScalingState } from './policy.js';
import type { Predictor } from './predictor.js';
import type { AutoscaleSettings } from './settings.js';
import type { PartitionSample } from '../metrics/types.js';
import { instanceSignal, type InstanceSignal } from './signals.js';
import { cpuMillis, memoryBytes } from '../api/units.js';

export interface InstanceInput {
  id: number;
  partitions: readonly number[];
  /** Policy of the scaled container. */
  policy: ContainerPolicy | undefined;
  /** The scaled container's resources now. */
  current: Sizing;
  state: ScalingState;
  /** The Deployment carries the disable-autoscaler annotation. */
  paused: boolean;
}

export interface Budget {
  cpuMillis?: number;
  memoryBytes?: number;
}

export interface AutoscaleInput {
  settings: AutoscaleSettings;
  predictor: Predictor;
  now: Date;
  samples: ReadonlyMap<number, PartitionSample>;
  instances: readonly InstanceInput[];
  budget?: Budget;
}

export interface InstanceOutcome {
  id: number;
  signal: InstanceSignal;
  /** What the predictor asked for; undefined without metrics. */
  prediction: Sizing | undefined;
  /** Within the policy (and the budget). */
  target: Sizing;
  decision: PolicyDecision;
  /** What the scaled container gets: the target when applied, else its current resources. */
  sizing: Sizing;
}

export interface AutoscaleResult {
  instances: InstanceOutcome[];
  /** Sum of the requests after this pass. */
  allocated: { cpuMillis: number; memoryBytes: number };
}

const floorOf = (policy: ContainerPolicy | undefined, key: 'cpu' | 'memory') => {
  const value = policy?.minAllowed?.[key];
  if (value === undefined) return 0;
  return key === 'cpu' ? cpuMillis(value) : memoryBytes(value);
};

/** The sizing with its requests replaced by the granted amounts; limits never below requests. */
function withGranted(sizing: Sizing, cpu: number | undefined, memory: number | undefined): Sizing {
  const result = { ...sizing };
  if (cpu !== undefined && cpu !== sizing.cpuRequest) {
    result.cpuRequest = cpu;
    result.cpuLimit = Math.max(cpu, Math.min(sizing.cpuLimit ?? cpu, Math.ceil(cpu / 1000) * 1000));
  }
  if (memory !== undefined && memory !== sizing.memoryRequest) {
    result.memoryRequest = memory;
    result.memoryLimit = Math.max(memory, Math.min(sizing.memoryLimit ?? memory, memory));
  }
  return result;
}

export function autoscale(input: AutoscaleInput): AutoscaleResult {
  const { settings, now } = input;
  const first = input.instances.map((instance) => {
    const signal = instanceSignal(
      instance.partitions,
      input.samples,
      settings.tolerableLagMs,
      settings.criticalLagMs,
    );
    const prediction = signal.unknown ? undefined : input.predictor(signal.partitions, settings);
    const limited = prediction
      ? limitToPolicy(prediction, instance.policy, signal.critical)
      : { target: instance.current, cpuShortage: 0 };
    const decision = instance.paused
      ? {
          apply: false,
          direction: 'none' as const,
          state: instance.state,
          saturationMillis: undefined,
          reason: 'paused by annotation',
        }
      : decide({
          settings,
          now,
          state: instance.state,
          current: instance.current,
          target: limited.target,
          cpuShortage: limited.cpuShortage,
          signal,
        });
    return {
      instance,
      signal,
      prediction,
      limited,
      decision,
      proposed: decision.apply ? limited.target : instance.current,
    };
  });

  const grant = (key: 'cpu' | 'memory', cap: number | undefined) => {
    if (cap === undefined) return undefined;
    const pick = (s: Sizing) => (key === 'cpu' ? s.cpuRequest : s.memoryRequest) ?? 0;
    return allocateBudget(
      first.map((f) => ({
        id: f.instance.id,
        current: pick(f.instance.current),
        proposed: pick(f.proposed),
        // A paused instance, or one whose metrics are unknown, is never cut by the budget.
        floor:
          f.instance.paused || f.signal.unknown ? pick(f.instance.current) : floorOf(f.instance.policy, key),
        lagging: f.signal.lagging,
      })),
      cap,
    );
  };
  const cpuGrants = grant('cpu', input.budget?.cpuMillis);
  const memoryGrants = grant('memory', input.budget?.memoryBytes);

  const instances = first.map((f): InstanceOutcome => {
    const sizing = withGranted(f.proposed, cpuGrants?.get(f.instance.id), memoryGrants?.get(f.instance.id));
    const cutByBudget = (f.proposed.cpuRequest ?? 0) - (sizing.cpuRequest ?? 0);
    let decision = f.decision;
    if (cutByBudget > 0 || (sizing.memoryRequest ?? 0) < (f.proposed.memoryRequest ?? 0)) {
      // The budget took part of the change: decide again against what can be had, so the state
      // says SATURATED with the missing CPU, and a forced cut is applied.
      const changed =
        sizing.cpuRequest !== f.instance.current.cpuRequest ||
        sizing.memoryRequest !== f.instance.current.memoryRequest;
      const shortage = f.limited.cpuShortage + Math.max(0, cutByBudget);
      decision = {
        ...f.decision,
        apply: changed,
        direction: changed
          ? (sizing.cpuRequest ?? 0) >= (f.instance.current.cpuRequest ?? 0)
            ? 'up'
            : 'down'
          : 'none',
        state: {
          ...f.decision.state,
          status: 'SATURATED',
          changedAt: f.instance.state.status === 'SATURATED' ? f.instance.state.changedAt : now,
        },
        saturationMillis: shortage > 0 ? shortage : undefined,
        reason: `${f.decision.reason}; limited by the global budget`,
      };
    }
    return {
      id: f.instance.id,
      signal: f.signal,
      prediction: f.prediction,
      target: f.limited.target,
      decision,
      sizing: decision.apply ? sizing : f.instance.current,
    };
  });
  const sum = (pick: (s: Sizing) => number | undefined) =>
    instances.reduce((total, i) => total + (pick(i.sizing) ?? 0), 0);
  return {
    instances,
    allocated: { cpuMillis: sum((s) => s.cpuRequest), memoryBytes: sum((s) => s.memoryRequest) },
  };
}
