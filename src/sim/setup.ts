// The Consumer being simulated, resolved once with the operator's own code: its autoscaling
// settings (src/autoscale/config.ts), its instances and the scaled container's policy.
import type { ConsumerSpec, ContainerPolicy } from '../api/schema.js';
import { policyFor } from '../api/resolve.js';
import { resolveSpec } from '../api/resolve.js';
import { autoscaleConfig, type AutoscaleConfig } from '../autoscale/config.js';
import type { Sizing } from '../autoscale/sizing.js';
import { sizingUnderPolicy } from '../plan/limits.js';
import { splitIntoBuckets } from '../plan/partitions.js';
import { cpuMillis, parseQuantity } from '../util/units.js';

export interface SimSetup {
  spec: ConsumerSpec;
  config: AutoscaleConfig;
  /** The scaled container's policy, its CPU and memory bounds as numbers (`numericBounds`). */
  policy: ContainerPolicy | undefined;
  /** Partitions of each instance. */
  buckets: number[][];
  /** The policy's CPU bounds, millicores (0 / Infinity without one). */
  minCpuMillis: number;
  maxCpuMillis: number;
  /**
   * The CPU limit (millicores, Infinity: none) the scaled container gets with `sizing`, under its
   * policy's controlledValues and the template's resources, as the operator renders it.
   */
  cpuLimitFor(sizing: Sizing): number;
}

export class SetupError extends Error {}

export function simSetup(spec: ConsumerSpec): SimSetup {
  const config = autoscaleConfig(spec);
  if (!config)
    throw new SetupError(
      `spec.autoscaler.mode must be prometheus, kafka or static with its section (got "${spec.autoscaler?.mode ?? ''}"): this Consumer does not autoscale`,
    );
  if (!config.container)
    throw new SetupError(
      'no container has an Auto resource policy (spec.resourcePolicy.containerPolicies): nothing would be scaled',
    );
  const resolved = resolveSpec(spec);
  const policy = numericBounds(policyFor(resolved.containerPolicies, config.container));
  const min = policy?.minAllowed?.cpu;
  const max = policy?.maxAllowed?.cpu;
  const template = spec.deploymentTemplate?.template?.spec?.containers?.find(
    (c) => c.name === config.container,
  )?.resources;
  return {
    spec,
    config,
    policy,
    buckets: splitIntoBuckets(resolved.numPartitions, resolved.partitionsPerInstance),
    minCpuMillis: min === undefined ? 0 : cpuMillis(min),
    maxCpuMillis: max === undefined ? Infinity : cpuMillis(max),
    cpuLimitFor: (sizing) => sizingUnderPolicy(sizing, policy, template).cpuLimit ?? Infinity,
  };
}

/**
 * The policy with its CPU and memory bounds parsed once into numbers. The autoscaler reads the
 * bounds at every decision of every instance; a number reads as itself (parseQuantity of a
 * parsed quantity is the same number), so the decisions are the same without parsing the text
 * again each time.
 */
function numericBounds(policy: ContainerPolicy | undefined): ContainerPolicy | undefined {
  if (!policy) return undefined;
  const numeric: ContainerPolicy = { ...policy };
  for (const side of ['minAllowed', 'maxAllowed'] as const) {
    const bounds = policy[side];
    if (!bounds) continue;
    const copy = { ...bounds };
    for (const key of ['cpu', 'memory'] as const)
      if (copy[key] !== undefined) copy[key] = parseQuantity(copy[key]!);
    numeric[side] = copy;
  }
  return numeric;
}
