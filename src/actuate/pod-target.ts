// What one running pod's scaled container should be resized to, and where the pod stands. Pure:
// the pod as the API server holds it, the instance's decision and the time in; a verdict out.
//
// The decision is what the instance's pods should run with. A running pod may need a little
// less or more, because a resize cannot do everything a new pod can:
// - its QoS class may not change: a Guaranteed pod keeps limits equal to its requests; a Burstable
//   pod whose container would get limits equal to its requests (and so become Guaranteed) gets a
//   CPU limit of the next whole core above its request instead;
// - a limit cannot be removed, and an env var cannot change: GOMEMLIMIT was fixed when the
//   container started, so its memory limit is never lowered below what GOMEMLIMIT was made from
//   (GOMEMLIMIT ÷ goMemLimitRatio): no pod runs with a GOMEMLIMIT above its memory limit;
// - GOMAXPROCS too: a CPU limit above the pod's GOMAXPROCS would give it cores a Go program cannot
//   use (only for pods started before GOMAXPROCS followed the policy maximum; see plan/env.ts).
import type { V1Container, V1Pod, V1PodCondition, V1ResourceRequirements } from '@kubernetes/client-node';
import { Env } from '../api/constants.js';
import { parseGoMemLimit } from '../plan/env.js';
import { cpuMemoryAmounts, cpuMemoryOf, sameCpuMemory, type CpuMemory } from '../plan/instance-resources.js';
import { formatCpu, formatMemory } from '../util/units.js';
import { qosClass, type QosClass } from './qos.js';

/** Why a pod cannot be resized to the decision at all. */
export type ImpossibleReason = 'QoSClass' | 'LimitRemoval' | 'NodeUnsupported';

/** Why a resize the node was asked for has not been applied (from the pod's resize conditions). */
export type PendingReason = 'Infeasible' | 'Deferred' | 'InProgressError';

export type PodTarget =
  | {
      possible: true;
      /** The scaled container's cpu/memory requests and limits to patch. */
      resources: CpuMemory;
      /** What differs from the decision, and why (for events). */
      adjustments: string[];
      /** A resize would raise the CPU limit above the pod's GOMAXPROCS: only a new pod uses the new cores. */
      aboveGoMaxProcs?: number;
    }
  | { possible: false; reason: ImpossibleReason; message: string };

export type PodState =
  /** Spec and status at the target. */
  | { state: 'done'; target: CpuMemory }
  /** The spec differs from the target: patch pods/resize. */
  | { state: 'resize'; target: CpuMemory; aboveGoMaxProcs?: number; adjustments: string[] }
  /** The spec is at the target, the node has not reported it applied yet. */
  | { state: 'applying'; target: CpuMemory; aboveGoMaxProcs?: number }
  /** The node answered that it cannot apply the target now or at all. */
  | { state: 'pending'; reason: PendingReason; since: Date; aboveGoMaxProcs?: number }
  /** Not running (yet), terminating, or nothing known about its containers: left alone. */
  | { state: 'ignored' }
  | { state: 'impossible'; reason: ImpossibleReason; message: string };

const MiB = 1024 * 1024;

/** Memory in whole mebibytes as `<n>Mi`, other amounts as the usual quantity text. */
const memoryText = (bytes: number) => (bytes % MiB === 0 ? `${bytes / MiB}Mi` : formatMemory(bytes));

function containerOf(pod: V1Pod, name: string): V1Container | undefined {
  return pod.spec?.containers?.find((c) => c.name === name);
}

const envValue = (container: V1Container | undefined, name: string) =>
  container?.env?.find((e) => e.name === name && e.valueFrom === undefined)?.value;

/** Everything the pod's QoS class is computed from, with the scaled container's resources replaced. */
function podContainers(pod: V1Pod, name: string, resources: V1ResourceRequirements) {
  return [
    ...(pod.spec?.containers ?? []).map((c) => (c.name === name ? { resources } : c)),
    ...(pod.spec?.initContainers ?? []),
  ];
}

/** The resources to patch into the pod's `container` for the instance decision `decision`, if any. */
export function podTarget(
  pod: V1Pod,
  container: string,
  decision: V1ResourceRequirements,
  goMemLimitRatio: number,
): PodTarget {
  const spec = containerOf(pod, container);
  const current = cpuMemoryAmounts(spec?.resources);
  const wanted = cpuMemoryAmounts(decision);
  const adjustments: string[] = [];
  for (const [key, label] of [
    ['cpuLimit', 'cpu limit'],
    ['memoryLimit', 'memory limit'],
    ['cpuRequest', 'cpu request'],
    ['memoryRequest', 'memory request'],
  ] as const) {
    if (current[key] !== undefined && wanted[key] === undefined)
      return {
        possible: false,
        reason: 'LimitRemoval',
        message: `a resize cannot remove the ${label} the pod has`,
      };
  }
  const next = { ...wanted };

  // GOMEMLIMIT: the memory limit stays at or above what the running pod's value was made from.
  const goMemLimitText = envValue(spec, Env.goMemLimit);
  const goMemLimit = parseGoMemLimit(goMemLimitText);
  if (goMemLimit !== undefined && next.memoryLimit !== undefined) {
    const floor = Math.ceil(goMemLimit / (goMemLimitRatio > 0 ? goMemLimitRatio : 1));
    if (next.memoryLimit < floor) {
      adjustments.push(
        `memory limit held at ${memoryText(Math.ceil(floor / MiB) * MiB)} (the pod's GOMEMLIMIT is ${goMemLimitText})`,
      );
      next.memoryLimit = Math.ceil(floor / MiB) * MiB;
      if (next.memoryRequest !== undefined && next.memoryRequest > next.memoryLimit)
        next.memoryRequest = next.memoryLimit;
    }
  }

  // The QoS class stays what it is.
  const podClass =
    (pod.status?.qosClass as QosClass | undefined) ??
    qosClass(podContainers(pod, container, spec?.resources ?? {}));
  const classOf = () => qosClass(podContainers(pod, container, toResources(next, decision)));
  if (classOf() !== podClass) {
    if (podClass === 'Guaranteed') {
      // A Guaranteed pod: limits equal to requests (the floor above raises both).
      const memory = Math.max(next.memoryRequest ?? 0, next.memoryLimit ?? 0);
      if (next.cpuRequest !== undefined) next.cpuLimit = next.cpuRequest;
      if (memory > 0) next.memoryRequest = next.memoryLimit = memory;
      adjustments.push('limits kept equal to requests (the pod is Guaranteed)');
    } else if (podClass === 'Burstable' && next.cpuRequest !== undefined && next.cpuLimit !== undefined) {
      next.cpuLimit = (Math.floor(next.cpuRequest / 1000) + 1) * 1000;
      adjustments.push(`cpu limit ${formatCpu(next.cpuLimit)}, above the request (the pod is Burstable)`);
    }
    if (classOf() !== podClass)
      return {
        possible: false,
        reason: 'QoSClass',
        message: `the resize would change the pod's QoS class from ${podClass} to ${classOf()}`,
      };
  }

  const resources = cpuMemoryOf(toResources(next, decision));
  const goMaxProcs = Number(envValue(spec, Env.goMaxProcs));
  const cores = Math.ceil((next.cpuLimit ?? next.cpuRequest ?? 0) / 1000);
  const aboveGoMaxProcs =
    Number.isInteger(goMaxProcs) && goMaxProcs > 0 && cores > goMaxProcs ? goMaxProcs : undefined;
  return {
    possible: true,
    resources,
    adjustments,
    ...(aboveGoMaxProcs !== undefined && !sameCpuMemory(resources, spec?.resources)
      ? { aboveGoMaxProcs }
      : {}),
  };
}

/** The amounts as resources; where an amount is the decision's, with the decision's text. */
function toResources(
  amounts: ReturnType<typeof cpuMemoryAmounts>,
  decision: V1ResourceRequirements,
): V1ResourceRequirements {
  const given = cpuMemoryAmounts(decision);
  const text = (key: keyof typeof amounts, list: 'requests' | 'limits', r: 'cpu' | 'memory') => {
    const value = amounts[key]!;
    if (given[key] === value) return String((decision[list] as Record<string, unknown>)[r]);
    return r === 'cpu' ? formatCpu(value) : memoryText(value);
  };
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (amounts.cpuRequest !== undefined) requests.cpu = text('cpuRequest', 'requests', 'cpu');
  if (amounts.memoryRequest !== undefined) requests.memory = text('memoryRequest', 'requests', 'memory');
  if (amounts.cpuLimit !== undefined) limits.cpu = text('cpuLimit', 'limits', 'cpu');
  if (amounts.memoryLimit !== undefined) limits.memory = text('memoryLimit', 'limits', 'memory');
  return {
    ...(Object.keys(requests).length ? { requests } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
  };
}

const condition = (pod: V1Pod, type: string): V1PodCondition | undefined =>
  pod.status?.conditions?.find((c) => c.type === type);

function sinceOf(c: V1PodCondition, now: Date): Date {
  const at = c.lastTransitionTime ? new Date(c.lastTransitionTime) : undefined;
  return at && !Number.isNaN(at.getTime()) ? at : now;
}

/** Where `pod` stands against the instance decision. */
export function podState(
  pod: V1Pod,
  container: string,
  decision: V1ResourceRequirements,
  goMemLimitRatio: number,
  now: Date,
): PodState {
  if (pod.metadata?.deletionTimestamp || pod.status?.phase !== 'Running') return { state: 'ignored' };
  const spec = containerOf(pod, container);
  const status = pod.status?.containerStatuses?.find((c) => c.name === container);
  if (!spec || !status) return { state: 'ignored' };
  if (status.resources === undefined) {
    const ready = condition(pod, 'Ready')?.status === 'True';
    // A ready pod whose node does not report container resources runs on a kubelet without
    // in-place resize: the API server refuses its resize.
    return ready
      ? {
          state: 'impossible',
          reason: 'NodeUnsupported',
          message: `node ${pod.spec?.nodeName ?? '?'} does not report container resources (a kubelet before 1.33)`,
        }
      : { state: 'ignored' };
  }
  const target = podTarget(pod, container, decision, goMemLimitRatio);
  if (!target.possible) {
    // Already running with it (e.g. a new pod of the template): nothing to do.
    if (sameCpuMemory(spec.resources, decision) && sameCpuMemory(status.resources, decision))
      return { state: 'done', target: cpuMemoryOf(decision) };
    return { state: 'impossible', reason: target.reason, message: target.message };
  }
  const extra = target.aboveGoMaxProcs !== undefined ? { aboveGoMaxProcs: target.aboveGoMaxProcs } : {};
  if (!sameCpuMemory(spec.resources, target.resources))
    return { state: 'resize', target: target.resources, adjustments: target.adjustments, ...extra };
  if (sameCpuMemory(status.resources, target.resources)) return { state: 'done', target: target.resources };
  const generation = pod.metadata?.generation;
  const pending = condition(pod, 'PodResizePending');
  if (pending?.status === 'True' && pending.observedGeneration === generation) {
    if (pending.reason === 'Infeasible' || pending.reason === 'Deferred')
      return { state: 'pending', reason: pending.reason, since: sinceOf(pending, now), ...extra };
  }
  const inProgress = condition(pod, 'PodResizeInProgress');
  if (inProgress?.status === 'True' && inProgress.reason === 'Error')
    return { state: 'pending', reason: 'InProgressError', since: sinceOf(inProgress, now), ...extra };
  return { state: 'applying', target: target.resources, ...extra };
}
