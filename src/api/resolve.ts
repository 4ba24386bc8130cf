// Defaults applied in code (as the original did), so that stored objects stay as users wrote them.
import type { ConsumerSpec, ContainerPolicy } from './schema.js';
import {
  Actuation,
  Assignment,
  DEFAULT_ACTUATION,
  DEFAULT_CONTROLLED_VALUES,
  Env,
  type ControlledValues,
} from './constants.js';
import { isMetricsMode } from '../metrics/sources/index.js';
import { cpuMillis } from '../util/units.js';

export const DEFAULT_PENDING_SCALE_UP = '5m';
export const DEFAULT_PENDING_SCALE_DOWN = '15m';
export { DEFAULT_CPU_INCREMENT } from '../metrics/sources/estimation.js';

export type FallbackStrategy = 'min' | 'max';

export interface ResolvedSpec {
  numPartitions: number;
  /** Balanced: all of them (one instance, whose replicas share them by group assignment). */
  partitionsPerInstance: number;
  /** assignment Balanced: one instance; its pods subscribe instead of being told their partitions. */
  balanced: boolean;
  deploymentPrefix: string;
  partitionEnvKey: string;
  fallbackStrategy: FallbackStrategy;
  containerPolicies: readonly ContainerPolicy[];
  /** Share of the memory limit in GOMEMLIMIT; 0 leaves it out. */
  goMemLimitRatio: number;
}

export const DEFAULT_GOMEMLIMIT_RATIO = 0.8;

/**
 * How many instances `numPartitions` split into buckets of `perInstance` make: ceil(n / per),
 * a bucket size below 1 counting as 1 (the original's rule; plan/partitions.ts splits them).
 */
export function instanceCount(numPartitions: number, perInstance: number): number {
  return numPartitions <= 0 ? 0 : Math.ceil(numPartitions / (perInstance > 0 ? perInstance : 1));
}

export function resolveSpec(spec: ConsumerSpec): ResolvedSpec {
  const perInstance = spec.numPartitionsPerInstance ?? 0;
  const balanced = isBalanced(spec);
  return {
    numPartitions: spec.numPartitions,
    partitionsPerInstance: balanced ? spec.numPartitions : perInstance > 0 ? perInstance : 1,
    balanced,
    deploymentPrefix: spec.name,
    partitionEnvKey: spec.partitionEnvKey || Env.partition,
    fallbackStrategy: fallbackStrategyOf(spec),
    containerPolicies: spec.resourcePolicy?.containerPolicies ?? [],
    goMemLimitRatio: spec.goMemLimitRatio ?? DEFAULT_GOMEMLIMIT_RATIO,
  };
}

/**
 * The fallback of the active metrics section (every source's section has one), else the
 * prometheus section's, which the original read whatever the mode.
 */
function fallbackStrategyOf(spec: ConsumerSpec): FallbackStrategy {
  const autoscaler = spec.autoscaler;
  const mode = autoscaler?.mode;
  const own = isMetricsMode(mode) ? autoscaler[mode]?.fallbackStrategy : undefined;
  return (own || autoscaler?.prometheus?.fallbackStrategy) === 'max' ? 'max' : 'min';
}

/** The container's own policy, else the `*` default policy, else none. */
export function policyFor(
  policies: readonly ContainerPolicy[],
  containerName: string,
): ContainerPolicy | undefined {
  return (
    policies.find((p) => p.containerName === containerName) ?? policies.find((p) => p.containerName === '*')
  );
}

/** The operator owns this policy's container's CPU and memory: a policy whose mode is not Off. */
export const isAutoPolicy = (policy: ContainerPolicy | undefined): policy is ContainerPolicy =>
  policy !== undefined && policy.mode !== 'Off';

const fixedCpu = (policy: ContainerPolicy) =>
  policy.minAllowed?.cpu !== undefined &&
  policy.maxAllowed?.cpu !== undefined &&
  cpuMillis(policy.minAllowed.cpu) === cpuMillis(policy.maxAllowed.cpu);

/**
 * The container that follows the metrics: `autoscaler.container`, else the first container with
 * an Auto policy whose CPU range is not fixed (a sidecar pinned to min = max is not it), else the
 * first container with an Auto policy.
 */
export function scaledContainer(spec: ConsumerSpec): string | undefined {
  const names = (spec.deploymentTemplate?.template?.spec?.containers ?? []).map((c) => c.name);
  const policies = spec.resourcePolicy?.containerPolicies ?? [];
  if (spec.autoscaler?.container && names.includes(spec.autoscaler.container))
    return spec.autoscaler.container;
  const auto = names.filter((n) => isAutoPolicy(policyFor(policies, n)));
  return auto.find((n) => !fixedCpu(policyFor(policies, n)!)) ?? auto[0];
}

/** `spec.autoscaler.actuation`, defaulted. */
export const actuationOf = (spec: ConsumerSpec): Actuation => spec.autoscaler?.actuation ?? DEFAULT_ACTUATION;

/** Which values of the policy's container the operator sets, defaulted. */
export const controlledValuesOf = (policy: ContainerPolicy | undefined): ControlledValues =>
  policy?.controlledValues ?? DEFAULT_CONTROLLED_VALUES;

/**
 * Pods per instance: `spec.replicas` (the scale subresource) when set, else the template's
 * `replicas`, else 1 (the Deployment default). 0 means the Consumer is stopped.
 */
export const podsPerInstance = (spec: ConsumerSpec): number =>
  spec.replicas ?? spec.deploymentTemplate?.replicas ?? 1;

/** `spec.assignment` is Balanced: one Deployment of group-assigned replicas. */
export const isBalanced = (spec: ConsumerSpec): boolean => spec.assignment === Assignment.balanced;

/**
 * The consumers that share an instance's partitions by group assignment: the pods of a Balanced
 * Consumer's one Deployment (`live`, its replica count now, when another autoscaler keeps it),
 * at least 1; undefined for a Partitioned Consumer (each instance's partitions are its own).
 */
export function sharingReplicas(spec: ConsumerSpec, live?: number): number | undefined {
  return isBalanced(spec) ? instancePods(spec, live) : undefined;
}

/**
 * The pods an instance runs, Partitioned or Balanced: its Deployment's replica count now (`live`,
 * when another autoscaler keeps it), else the Consumer's pods per instance; at least 1.
 */
export const instancePods = (spec: ConsumerSpec, live?: number): number =>
  Math.max(1, live ?? podsPerInstance(spec));

/** The Consumer is stopped: every instance runs 0 pods (its Deployment and size are kept). */
export const isStopped = (spec: ConsumerSpec): boolean => podsPerInstance(spec) === 0;
