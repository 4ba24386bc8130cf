// One autoscaling pass over the instances of a Consumer, new and existing alike: signals →
// prediction → instance limits → when to change (policy.ts) → global budget. It is the only place
// where a sizing is decided: the controller renders its outcomes (or, in dry-run, reports them),
// and the simulator applies them. Pure: the same inputs and time give the same outcomes.
import type { ContainerPolicy } from '../api/schema.js';
import { cpuMillis, memoryBytes } from '../util/units.js';
import type { PartitionSample } from '../metrics/types.js';
import { allocatePodBudget, podsOf } from './budget.js';
import { limitToPolicy } from './limiter.js';
import { decide, decideStart, limitedByBudget, type PolicyDecision, type ScalingState } from './policy.js';
import type { Predictor } from './predictor.js';
import type { AutoscaleSettings } from './settings.js';
import { instanceSignal, type InstanceSignal } from './signals.js';
import type { Sizing } from './sizing.js';

export interface InstanceInput {
  id: number;
  partitions: readonly number[];
  /** Policy of the scaled container. */
  policy: ContainerPolicy | undefined;
  /**
   * The scaled container's resources now. For a new instance: what it starts with when there is
   * no prediction (the fallback).
   */
  current: Sizing;
  state: ScalingState;
  /** The Deployment carries the disable-autoscaler annotation. */
  paused: boolean;
  /**
   * The instance has no Deployment yet: it starts at once at its prediction within its policy, or
   * at `current` without a prediction. The global budget does not hold it back (the original
   * ignored the budget when it created an instance); it counts from the instance's next read on.
   */
  isNew?: boolean;
  /**
   * assignment Balanced: the pods that share the partitions by Kafka's group assignment. The
   * sizing is per pod (see podNeed in predictor.ts). Absent: the instance's partitions are its own.
   */
  replicas?: number;
  /**
   * The pods the instance runs, each at its sizing (its Deployment's replicas): the global budget
   * counts the sizing once per pod (see podsOf in budget.ts). Absent: `replicas`, else 1.
   */
  pods?: number;
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

/**
 * Everything about one instance's decision, from its inputs to when it may change next: what the
 * controller renders, the dry-run reports, and what an explanation of the decision would show.
 */
export interface InstanceOutcome {
  id: number;
  /** No Deployment yet: `sizing` is what it is created with. */
  isNew: boolean;
  /** Its partitions' metrics as the decision saw them: lag, stalls, what is unknown. */
  signal: InstanceSignal;
  /** Its resources before this pass (for a new instance: the fallback). */
  current: Sizing;
  /** What the predictor asked for; undefined without a production rate. */
  prediction: Sizing | undefined;
  /**
   * The prediction within the container policy (the policy maximum at critical lag); `current`
   * without a prediction.
   */
  target: Sizing;
  /** CPU the policy kept from the prediction, millicores (0: none). */
  policyShortageMillis: number;
  /** What the global budget kept from the change, when it kept anything. */
  budgetCut: { cpuMillis: number; memoryBytes: number } | undefined;
  decision: PolicyDecision;
  /** What the scaled container gets: the target (or the budget's share of it) when applied, else `current`. */
  sizing: Sizing;
  /** When the pending period the decision waits for ends, if it waits for one. */
  nextChangeAt: Date | undefined;
}

export interface AutoscaleResult {
  instances: InstanceOutcome[];
  /** Sum of the requests after this pass (of every pod of every instance). */
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
    const prediction = input.predictor(signal.partitions, settings, instance.replicas);
    const limited = prediction
      ? limitToPolicy(prediction, instance.policy, signal.critical)
      : { target: instance.current, cpuShortage: 0 };
    const decision = instance.isNew
      ? decideStart({ now, cpuShortage: limited.cpuShortage, predicted: prediction !== undefined })
      : decide({
          settings,
          now,
          state: instance.state,
          current: instance.current,
          target: limited.target,
          cpuShortage: limited.cpuShortage,
          signal,
          paused: instance.paused,
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

  const existing = first.filter((f) => !f.instance.isNew);
  const grant = (key: 'cpu' | 'memory', cap: number | undefined) => {
    if (cap === undefined) return undefined;
    const pick = (s: Sizing) => (key === 'cpu' ? s.cpuRequest : s.memoryRequest) ?? 0;
    return allocatePodBudget(
      existing.map((f) => ({
        id: f.instance.id,
        pods: podsOf(f.instance),
        current: pick(f.instance.current),
        proposed: pick(f.proposed),
        // An instance the policy holds as it is (paused, no metrics) is not cut by the budget either.
        floor: f.decision.held ? pick(f.instance.current) : floorOf(f.instance.policy, key),
        lagging: f.signal.lagging,
      })),
      cap,
    );
  };
  const cpuGrants = grant('cpu', input.budget?.cpuMillis);
  const memoryGrants = grant('memory', input.budget?.memoryBytes);

  const instances = first.map((f): InstanceOutcome => {
    const granted = withGranted(f.proposed, cpuGrants?.get(f.instance.id), memoryGrants?.get(f.instance.id));
    const cpuCut = (f.proposed.cpuRequest ?? 0) - (granted.cpuRequest ?? 0);
    const memoryCut = (f.proposed.memoryRequest ?? 0) - (granted.memoryRequest ?? 0);
    const cut = cpuCut > 0 || memoryCut > 0;
    const decision = cut
      ? limitedByBudget({
          now,
          state: f.instance.state,
          current: f.instance.current,
          decision: f.decision,
          granted,
          cpuShortage: f.limited.cpuShortage + Math.max(0, cpuCut),
        })
      : f.decision;
    const waiting = decision.waiting;
    return {
      id: f.instance.id,
      isNew: f.instance.isNew === true,
      signal: f.signal,
      current: f.instance.current,
      prediction: f.prediction,
      target: f.limited.target,
      policyShortageMillis: f.limited.cpuShortage,
      budgetCut: cut ? { cpuMillis: Math.max(0, cpuCut), memoryBytes: Math.max(0, memoryCut) } : undefined,
      decision,
      sizing: decision.apply ? granted : f.instance.current,
      nextChangeAt:
        waiting?.for === 'pending-period' ? new Date(now.getTime() + waiting.remainingMs) : undefined,
    };
  });
  const sum = (pick: (s: Sizing) => number | undefined) =>
    instances.reduce((total, i, at) => total + (pick(i.sizing) ?? 0) * podsOf(input.instances[at]!), 0);
  return {
    instances,
    allocated: { cpuMillis: sum((s) => s.cpuRequest), memoryBytes: sum((s) => s.memoryRequest) },
  };
}
