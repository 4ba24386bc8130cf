// Defaults applied in code (as the original did), so that stored objects stay as users wrote them.
import type { ConsumerSpec, ContainerPolicy } from './schema.js';
import { Env } from './constants.js';

export const DEFAULT_PENDING_SCALE_UP = '5m';
export const DEFAULT_PENDING_SCALE_DOWN = '15m';
export const DEFAULT_CPU_INCREMENT = '100m';

export type FallbackStrategy = 'min' | 'max';

export interface ResolvedSpec {
  numPartitions: number;
  partitionsPerInstance: number;
  deploymentPrefix: string;
  partitionEnvKey: string;
  fallbackStrategy: FallbackStrategy;
  containerPolicies: readonly ContainerPolicy[];
}

export function resolveSpec(spec: ConsumerSpec): ResolvedSpec {
  const perInstance = spec.numPartitionsPerInstance ?? 0;
  return {
    numPartitions: spec.numPartitions,
    partitionsPerInstance: perInstance > 0 ? perInstance : 1,
    deploymentPrefix: spec.name,
    partitionEnvKey: spec.partitionEnvKey || Env.partition,
    fallbackStrategy: spec.autoscaler?.prometheus?.fallbackStrategy === 'max' ? 'max' : 'min',
    containerPolicies: spec.resourcePolicy?.containerPolicies ?? [],
  };
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
