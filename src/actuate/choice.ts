// How one instance's decision reaches its pods under in-place actuation: which pods to resize,
// or, under InPlaceOrRollout, whether to roll the instance out instead (a fallback), or, under
// InPlace, what stays unapplied. Pure: the instance's pods, its decision and the time in.
import type { V1Pod, V1ResourceRequirements } from '@kubernetes/client-node';
import type { CpuMemory } from '../plan/instance-resources.js';
import { podState, type ImpossibleReason, type PendingReason, type PodState } from './pod-target.js';

/** Why a decision reaches the pods by rollout (or, under InPlace, is not applied). */
export type FallbackReason =
  | PendingReason
  | ImpossibleReason
  /** The API server refused the resize: beyond the node's allocatable (403, PodResizeValidator). */
  | 'NodeCapacity'
  /** The API server refused the resize for another reason (422 and the like). */
  | 'Refused'
  /** The pod's GOMAXPROCS is below the new CPU limit. */
  | 'GoMaxProcs';

export const FALLBACK_REASONS: readonly FallbackReason[] = [
  'Infeasible',
  'Deferred',
  'InProgressError',
  'QoSClass',
  'LimitRemoval',
  'NodeUnsupported',
  'NodeCapacity',
  'Refused',
  'GoMaxProcs',
];

export type InPlaceMode = 'InPlaceOrRollout' | 'InPlace';

export interface Refusal {
  reason: 'NodeCapacity' | 'Refused';
  message: string;
}

export interface InstanceInput {
  mode: InPlaceMode;
  pods: readonly V1Pod[];
  container: string;
  /** The instance's decision: what its pods should run with. */
  decision: V1ResourceRequirements;
  goMemLimitRatio: number;
  now: Date;
  /** How long a resize may stay Deferred (or in progress with an error) before it counts as failed. */
  pendingBoundMs: number;
  /** Why the bound is what it is, when it is not the operator's (for the fallback's message). */
  pendingBoundWhy?: string;
  /** The API server's refusal of a resize to this decision, remembered from an earlier attempt. */
  refusal?: Refusal;
  /**
   * The GOMAXPROCS a new pod of the instance would get (undefined: not set). A pod's GOMAXPROCS
   * below its new CPU limit is a reason to roll out only when a new pod would have more.
   */
  newPodGoMaxProcs?: string;
}

export interface PodResize {
  pod: V1Pod;
  resources: CpuMemory;
  adjustments: string[];
}

export interface InstanceActuation {
  /** Pods to resize now. */
  resizes: PodResize[];
  /** InPlaceOrRollout: roll the instance out with the decision in its template, and why. */
  rollout?: { reason: FallbackReason; message: string };
  /** InPlace: why (part of) the decision stays unapplied. */
  held?: { reason: FallbackReason; message: string };
  /** Every pod that runs reports the resources it should have. */
  settled: boolean;
  /** Look again after this long: a Deferred resize reaches its bound then. */
  recheckInMs?: number;
  /** The GOMAXPROCS of a pod resized above it (InPlace: resized anyway, reported). */
  goMaxProcs?: number;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;

/** A new pod would run with more than `podGoMaxProcs` (or without GOMAXPROCS, following its limit). */
const rollingHelps = (podGoMaxProcs: number, newPod: string | undefined) =>
  newPod === undefined || !(Number(newPod) <= podGoMaxProcs);

/** The first reason, in this order, why the decision cannot be applied in place now. */
function failure(
  states: readonly PodState[],
  input: InstanceInput,
): { reason: FallbackReason; message: string } | undefined {
  if (input.refusal) return input.refusal;
  for (const s of states) if (s.state === 'impossible') return { reason: s.reason, message: s.message };
  for (const s of states)
    if (s.state === 'pending' && s.reason === 'Infeasible')
      return { reason: 'Infeasible', message: 'the node reports the resize Infeasible' };
  for (const s of states) {
    if (s.state !== 'pending' || s.reason === 'Infeasible') continue;
    const waited = input.now.getTime() - s.since.getTime();
    if (waited >= input.pendingBoundMs) {
      const bound = `bound ${seconds(input.pendingBoundMs)}${input.pendingBoundWhy ? `: ${input.pendingBoundWhy}` : ''}`;
      return {
        reason: s.reason,
        message:
          s.reason === 'Deferred'
            ? `the node has deferred the resize for ${seconds(waited)} (${bound})`
            : `the node has failed to apply the resize for ${seconds(waited)} (${bound})`,
      };
    }
  }
  for (const s of states)
    if (
      (s.state === 'resize' || s.state === 'applying' || s.state === 'pending') &&
      s.aboveGoMaxProcs &&
      rollingHelps(s.aboveGoMaxProcs, input.newPodGoMaxProcs)
    )
      return {
        reason: 'GoMaxProcs',
        message: `the pod's GOMAXPROCS is ${s.aboveGoMaxProcs}: a Go program would not use the cores above it until it restarts`,
      };
  return undefined;
}

export function decideInstance(input: InstanceInput): InstanceActuation {
  const states = input.pods.map((pod) => ({
    pod,
    state: podState(pod, input.container, input.decision, input.goMemLimitRatio, input.now),
  }));
  const failed = failure(
    states.map((s) => s.state),
    input,
  );
  const settled = states.every((s) => s.state.state === 'done' || s.state.state === 'ignored');
  const waits = states.flatMap(({ state }) =>
    state.state === 'pending' && state.reason !== 'Infeasible'
      ? [Math.max(0, state.since.getTime() + input.pendingBoundMs - input.now.getTime())]
      : [],
  );
  const recheck = waits.length > 0 ? { recheckInMs: Math.min(...waits) } : {};
  if (failed && input.mode === 'InPlaceOrRollout')
    return { resizes: [], rollout: failed, settled, ...recheck };
  // InPlace: resize what can be resized; a refused decision is not tried again until it changes.
  const resizes = input.refusal
    ? []
    : states.flatMap(({ pod, state }) =>
        state.state === 'resize' ? [{ pod, resources: state.target, adjustments: state.adjustments }] : [],
      );
  const goMaxProcs = states.find(
    (s) =>
      (s.state.state === 'resize' || s.state.state === 'applying') &&
      s.state.aboveGoMaxProcs &&
      rollingHelps(s.state.aboveGoMaxProcs, input.newPodGoMaxProcs),
  );
  return {
    resizes,
    settled,
    ...(failed ? { held: failed } : {}),
    ...recheck,
    ...(goMaxProcs && 'aboveGoMaxProcs' in goMaxProcs.state
      ? { goMaxProcs: goMaxProcs.state.aboveGoMaxProcs! }
      : {}),
  };
}
