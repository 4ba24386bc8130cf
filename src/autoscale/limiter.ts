// Instance limits, as the original's: clamp the prediction into the container policy; at critical
// lag the instance gets the policy maximum. The shortage is what the clamp took away.
import type { ContainerPolicy } from '../api/schema.js';
import { clampToPolicy, policyFallback, type Sizing } from './sizing.js';

export interface Limited {
  target: Sizing;
  /** CPU (millicores) the prediction wanted beyond what the policy allows; 0 when none. */
  cpuShortage: number;
}

export function limitToPolicy(
  prediction: Sizing,
  policy: ContainerPolicy | undefined,
  critical: boolean,
): Limited {
  if (critical) {
    const max = policyFallback(policy, 'max');
    // Without a maximum there is nothing to jump to (the original crashed here): keep the prediction.
    const target =
      max.cpuRequest === undefined && max.memoryRequest === undefined
        ? prediction
        : { ...prediction, ...max };
    const limited = clampToPolicy(target, policy);
    return {
      target: limited,
      cpuShortage: Math.max(0, (prediction.cpuRequest ?? 0) - (limited.cpuRequest ?? 0)),
    };
  }
  const limited = clampToPolicy(prediction, policy);
  return {
    target: limited,
    cpuShortage: Math.max(0, (prediction.cpuRequest ?? 0) - (limited.cpuRequest ?? 0)),
  };
}
