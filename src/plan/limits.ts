// Which values of a sized container the operator sets (`controlledValues` of its policy). The
// autoscaler decides requests (and, by the original's rule, whole-core limits); this turns that
// decision into the requests and limits the container gets, whichever way they reach the pods.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import { ControlledValues } from '../api/constants.js';
import type { ContainerPolicy } from '../api/schema.js';
import { controlledValuesOf } from '../api/resolve.js';
import type { Sizing } from '../autoscale/sizing.js';
import { cpuMillis, memoryBytes, type QuantityValue } from '../util/units.js';

type Resource = 'cpu' | 'memory';

const parse = (resource: Resource, value: QuantityValue | undefined) =>
  value === undefined ? undefined : resource === 'cpu' ? cpuMillis(value) : memoryBytes(value);

const field = (resource: Resource, kind: 'Request' | 'Limit') =>
  `${resource}${kind}` as 'cpuRequest' | 'cpuLimit' | 'memoryRequest' | 'memoryLimit';

/** The template's request and limit of one resource (a limit alone means request = limit, as Kubernetes defaults it). */
function templateAmounts(template: V1ResourceRequirements | undefined, resource: Resource) {
  const limit = parse(resource, template?.limits?.[resource] as QuantityValue | undefined);
  const request = parse(resource, template?.requests?.[resource] as QuantityValue | undefined) ?? limit;
  return { request, limit };
}

/**
 * The sizing as the container gets it under `mode`, from the requests (and, for the default rule,
 * the limits) the autoscaler decided and the container's resources in the Consumer's template.
 * It reads only the requests of `sizing` (besides the default rule), so applying it again to its
 * own result gives the same result.
 *
 * - RequestsAndWholeCoreLimits: `sizing` unchanged (CPU limit = request rounded up to whole cores,
 *   memory limit = memory request, as the predictors and fallbacks produce them).
 * - RequestsAndLimits: each limit is the request times the template's limit/request ratio, rounded
 *   up; no limit where the template has none.
 * - RequestsOnly: no limit is set (the template's stay); a request is capped at the template's limit.
 */
export function controlledSizing(
  sizing: Sizing,
  mode: ControlledValues,
  template: V1ResourceRequirements | undefined,
): Sizing {
  if (mode === ControlledValues.requestsAndWholeCoreLimits) return sizing;
  const result: Sizing = { ...sizing };
  for (const resource of ['cpu', 'memory'] as const) {
    const requestKey = field(resource, 'Request');
    const limitKey = field(resource, 'Limit');
    const request = sizing[requestKey];
    delete result[limitKey];
    if (request === undefined) continue;
    const { request: templateRequest, limit: templateLimit } = templateAmounts(template, resource);
    if (templateLimit === undefined) continue;
    if (mode === ControlledValues.requestsOnly) {
      result[requestKey] = Math.min(request, templateLimit);
      continue;
    }
    result[limitKey] =
      templateRequest === undefined || templateRequest <= 0
        ? Math.max(request, templateLimit)
        : Math.ceil((request * templateLimit) / templateRequest);
  }
  return result;
}

/** The container's sizing under its policy's controlledValues. */
export function sizingUnderPolicy(
  sizing: Sizing,
  policy: ContainerPolicy | undefined,
  template: V1ResourceRequirements | undefined,
): Sizing {
  return controlledSizing(sizing, controlledValuesOf(policy), template);
}

/**
 * The largest CPU limit (millicores) the container can be given within its policy, or undefined
 * when that is unbounded: no CPU maximum in the policy, or no CPU limit at all under its
 * controlledValues (RequestsAndLimits or RequestsOnly with a template without a CPU limit).
 */
export function largestCpuLimit(
  policy: ContainerPolicy | undefined,
  template: V1ResourceRequirements | undefined,
): number | undefined {
  const mode = controlledValuesOf(policy);
  if (mode === ControlledValues.requestsOnly) return templateAmounts(template, 'cpu').limit;
  const max = parse('cpu', policy?.maxAllowed?.cpu);
  if (max === undefined) return undefined;
  // The default rule: the limit is clamped into the policy like the request.
  if (mode === ControlledValues.requestsAndWholeCoreLimits) return max;
  return controlledSizing({ cpuRequest: max }, mode, template).cpuLimit;
}
