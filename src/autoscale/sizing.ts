// The CPU and memory of the scaled container, as the autoscaler works with them, and the two rules
// that tie a sizing to the container policy: the clamp into [minAllowed, maxAllowed], and the
// fallback (the policy minimum, or maximum) for an instance without a prediction.
import type { ContainerPolicy } from '../api/schema.js';
import type { FallbackStrategy } from '../api/resolve.js';
import { cpuMillis, memoryBytes, type QuantityValue } from '../util/units.js';

/** CPU in millicores and memory in bytes; an absent field is left as the template has it. */
export interface Sizing {
  cpuRequest?: number;
  cpuLimit?: number;
  memoryRequest?: number;
  memoryLimit?: number;
}

type Bounds = { min?: number; max?: number };

const read = (
  list: Record<string, QuantityValue> | undefined,
  key: string,
  parse: (v: QuantityValue) => number,
) => (list?.[key] === undefined ? undefined : parse(list[key]!));

/** The sizing without its undefined fields (so that equal sizings compare equal). */
export function compactSizing(s: Sizing): Sizing {
  const compact: Sizing = {};
  for (const key in s) {
    const value = s[key as keyof Sizing];
    if (value !== undefined) compact[key as keyof Sizing] = value;
  }
  return compact;
}

const clamp = (value: number | undefined, { min, max }: Bounds) =>
  value === undefined ? undefined : Math.min(max ?? Infinity, Math.max(min ?? -Infinity, value));

function bounds(policy: ContainerPolicy | undefined, key: 'cpu' | 'memory'): Bounds {
  const parse = key === 'cpu' ? cpuMillis : memoryBytes;
  return { min: read(policy?.minAllowed, key, parse), max: read(policy?.maxAllowed, key, parse) };
}

/**
 * Clamps limits into [min, max] and requests into [min, limit], per resource, as the original's
 * instance limiter; a missing bound is no bound.
 */
export function clampToPolicy(sizing: Sizing, policy: ContainerPolicy | undefined): Sizing {
  const cpu = bounds(policy, 'cpu');
  const memory = bounds(policy, 'memory');
  const cpuLimit = clamp(sizing.cpuLimit, cpu);
  const memoryLimit = clamp(sizing.memoryLimit, memory);
  return compactSizing({
    cpuLimit,
    cpuRequest: clamp(sizing.cpuRequest, { min: cpu.min, max: cpuLimit ?? cpu.max }),
    memoryLimit,
    memoryRequest: clamp(sizing.memoryRequest, { min: memory.min, max: memoryLimit ?? memory.max }),
  });
}

/** requests = limits = the policy's minimum (strategy min) or maximum (strategy max). */
export function policyFallback(policy: ContainerPolicy | undefined, strategy: FallbackStrategy): Sizing {
  const side = strategy === 'max' ? policy?.maxAllowed : policy?.minAllowed;
  const cpu = read(side, 'cpu', cpuMillis);
  const memory = read(side, 'memory', memoryBytes);
  return compactSizing({ cpuRequest: cpu, cpuLimit: cpu, memoryRequest: memory, memoryLimit: memory });
}
