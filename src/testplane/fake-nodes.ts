// The plane's fake nodes, all played by one kwok. kwok-node-0 takes every pod; the others are
// tainted so that only pods that ask for them land there, for tests of in-place resizes a node
// cannot apply (docs/testplane.md, "In-place resize on kwok").
import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';

/** Label and NoSchedule taint key of the special-purpose nodes; the value is the node's role. */
export const NODE_ROLE_KEY = 'testplane.konsumerator.local/role';

export interface FakeNodeSpec {
  name: string;
  /** Capacity and allocatable, as Kubernetes quantities. */
  allocatable: { cpu: string; memory: string; pods: string };
  /** Set: the node has label and NoSchedule taint NODE_ROLE_KEY=role. */
  role?: string;
  /** The CPU manager policy of the kubelet kwok plays for this node. */
  cpuManagerPolicy: 'none' | 'static';
  /**
   * Requests of a pod the plane runs on the node (in kube-system), standing for the other tenants
   * of a busy node. kwok counts them as the room other pods hold when it decides whether a resize
   * fits; it cannot see the node's other pods.
   */
  neighbour?: { cpu: string; memory: string };
}

export const DEFAULT_NODE: FakeNodeSpec = {
  name: 'kwok-node-0',
  allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
  cpuManagerPolicy: 'none',
};

/**
 * 4 cpu / 8Gi allocatable, half of it held by a neighbour pod: a resize whose pod requests exceed
 * 2 cpu or 4Gi is Deferred; one beyond 4 cpu or 8Gi is refused by the API server's PodResizeValidator.
 */
export const SMALL_NODE: FakeNodeSpec = {
  name: 'kwok-node-small',
  role: 'small',
  allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
  cpuManagerPolicy: 'none',
  neighbour: { cpu: '2', memory: '4Gi' },
};

/** A kubelet with cpuManagerPolicy static: a cpu resize of a Guaranteed pod is Infeasible. */
export const STATIC_CPU_NODE: FakeNodeSpec = {
  name: 'kwok-node-static-cpu',
  role: 'static-cpu',
  allocatable: { cpu: '16', memory: '64Gi', pods: '110' },
  cpuManagerPolicy: 'static',
};

export const FAKE_NODES: readonly FakeNodeSpec[] = [DEFAULT_NODE, SMALL_NODE, STATIC_CPU_NODE];

/**
 * Pod spec fields that put a pod on `node`: its toleration, plus a nodeSelector (`required`) or a
 * preferred node affinity, so that a replacement pod too big for the node can go to kwok-node-0.
 */
export function placeOnNode(
  node: FakeNodeSpec,
  how: 'required' | 'preferred',
): Pick<V1PodSpec, 'tolerations' | 'nodeSelector' | 'affinity'> {
  if (!node.role) throw new Error(`node ${node.name} takes any pod; nothing to ask for`);
  const tolerations = [{ key: NODE_ROLE_KEY, operator: 'Equal', value: node.role, effect: 'NoSchedule' }];
  if (how === 'required') return { tolerations, nodeSelector: { [NODE_ROLE_KEY]: node.role } };
  const term = { matchExpressions: [{ key: NODE_ROLE_KEY, operator: 'In', values: [node.role] }] };
  return {
    tolerations,
    affinity: {
      nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: term }] },
    },
  };
}

export const NEIGHBOUR_NAMESPACE = 'kube-system';

/** The pod holding `node.neighbour`, bound to the node directly. */
export function neighbourPod(node: FakeNodeSpec): V1Pod | undefined {
  if (!node.neighbour) return undefined;
  return {
    metadata: {
      name: `${node.name}-neighbour`,
      namespace: NEIGHBOUR_NAMESPACE,
      labels: { app: 'kwok-neighbour' },
    },
    spec: {
      nodeName: node.name,
      automountServiceAccountToken: false,
      tolerations: node.role
        ? [{ key: NODE_ROLE_KEY, operator: 'Equal', value: node.role, effect: 'NoSchedule' }]
        : [],
      containers: [
        {
          name: 'neighbour',
          image: 'example.invalid/never-pulled:1',
          resources: { requests: { ...node.neighbour }, limits: { ...node.neighbour } },
        },
      ],
    },
  };
}
