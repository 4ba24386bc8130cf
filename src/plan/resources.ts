// Resources of the containers the operator sizes. Until a metrics provider decides otherwise, an
// existing instance keeps what it has (clamped into its policy) and a new one gets the fallback
// of the original: the policy minimum or maximum, or, in large Consumers, what the running
// instances already have.
import type { V1Container, V1Deployment, V1ResourceRequirements } from '@kubernetes/client-node';
import type { ContainerPolicy } from '../api/schema.js';
import { isAutoPolicy, policyFor, type FallbackStrategy } from '../api/resolve.js';
import { cpuMillis, formatCpu, formatMemory, memoryBytes, type QuantityValue } from '../util/units.js';
import { clampToPolicy, compactSizing, policyFallback, type Sizing } from '../autoscale/sizing.js';
import { instanceResources } from './instance-resources.js';

/** Whether the operator owns this container's CPU and memory (it has an Auto policy of its own or via `*`). */
export function isSized(policies: readonly ContainerPolicy[], containerName: string): boolean {
  return isAutoPolicy(policyFor(policies, containerName));
}

const read = (
  list: Record<string, QuantityValue> | undefined,
  key: string,
  parse: (v: QuantityValue) => number,
) => (list?.[key] === undefined ? undefined : parse(list[key]!));

export function sizingOf(resources: V1ResourceRequirements | undefined): Sizing {
  return compactSizing({
    cpuRequest: read(resources?.requests, 'cpu', cpuMillis),
    cpuLimit: read(resources?.limits, 'cpu', cpuMillis),
    memoryRequest: read(resources?.requests, 'memory', memoryBytes),
    memoryLimit: read(resources?.limits, 'memory', memoryBytes),
  });
}

const isEmpty = (s: Sizing) => Object.keys(s).length === 0;

/**
 * The original's fallback for large Consumers: when more than 10 instances are expected and more
 * than half of them already run, a new instance gets the resources of the running instance with
 * the smallest (strategy min) or largest (strategy max) CPU request.
 */
export function runningFallback(
  containerName: string,
  expectedInstances: number,
  running: readonly V1Deployment[],
  strategy: FallbackStrategy,
): Sizing | undefined {
  if (expectedInstances <= 10 || running.length <= Math.floor(expectedInstances / 2)) return undefined;
  let chosen: Sizing | undefined;
  for (const deployment of running) {
    // The size its pods run with (after in-place resizes, the annotation's).
    const sizing = sizingOf(instanceResources(deployment, containerName));
    if (sizing.cpuRequest === undefined) continue;
    const better =
      chosen === undefined ||
      (strategy === 'max' ? sizing.cpuRequest > chosen.cpuRequest! : sizing.cpuRequest < chosen.cpuRequest!);
    if (better) chosen = sizing;
  }
  return chosen;
}

export interface SizingInput {
  policy: ContainerPolicy | undefined;
  /** The same container in the instance's current Deployment, when the instance exists. */
  current: V1Container | undefined;
  strategy: FallbackStrategy;
  fallbackFromRunning: Sizing | undefined;
}

/** The sizing of one sized container: current resources clamped to policy, else the fallback. */
export function decideSizing({ policy, current, strategy, fallbackFromRunning }: SizingInput): Sizing {
  const currentSizing = sizingOf(current?.resources);
  if (!isEmpty(currentSizing)) return clampToPolicy(currentSizing, policy);
  return clampToPolicy(fallbackFromRunning ?? policyFallback(policy, strategy), policy);
}

/**
 * Template resources with CPU and memory replaced by the sizing; other resources (GPUs, storage)
 * are kept. Where the current container already holds the same amount, its text is reused:
 * `1Gi` and `1073741824` are equal, but a changed string would change the pod template and
 * restart the pods.
 */
export function applySizing(
  template: V1ResourceRequirements | undefined,
  sizing: Sizing,
  current?: V1ResourceRequirements,
): V1ResourceRequirements {
  const requests: Record<string, string> = { ...(template?.requests as Record<string, string> | undefined) };
  const limits: Record<string, string> = { ...(template?.limits as Record<string, string> | undefined) };
  const put = (
    target: Record<string, string>,
    currentList: Record<string, QuantityValue> | undefined,
    key: 'cpu' | 'memory',
    value: number | undefined,
  ) => {
    if (value === undefined) return;
    const parse = key === 'cpu' ? cpuMillis : memoryBytes;
    const existing = currentList?.[key];
    target[key] =
      existing !== undefined && parse(existing) === value
        ? String(existing)
        : key === 'cpu'
          ? formatCpu(value)
          : formatMemory(value);
  };
  put(requests, current?.requests, 'cpu', sizing.cpuRequest);
  put(limits, current?.limits, 'cpu', sizing.cpuLimit);
  put(requests, current?.requests, 'memory', sizing.memoryRequest);
  put(limits, current?.limits, 'memory', sizing.memoryLimit);
  const result: V1ResourceRequirements = { ...template };
  if (Object.keys(requests).length > 0) result.requests = requests;
  if (Object.keys(limits).length > 0) result.limits = limits;
  return result;
}
