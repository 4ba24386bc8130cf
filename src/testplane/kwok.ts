// kwok simulates the kubelets of fake Nodes: it marks the nodes Ready, keeps their leases fresh,
// moves the pods bound to them through Running/Ready and deletion, and answers in-place resizes
// (testplane/kwok/pod-stages.yaml). No container ever runs.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import { coreApi } from './client.js';
import { DEFAULT_NODE, FAKE_NODES, NODE_ROLE_KEY, neighbourPod, type FakeNodeSpec } from './fake-nodes.js';
import { podStagesYaml } from './kwok-stages.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

export const FAKE_NODE_NAME = DEFAULT_NODE.name;
const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';

export interface KwokParams {
  binDir: string;
  dir: string;
  kubeconfigPath: string;
}

export async function startKwokWithFakeNodes(p: KwokParams): Promise<ManagedProcess> {
  const process = startKwok(p);
  const core = coreApi(p.kubeconfigPath);
  await Promise.all(
    FAKE_NODES.map(async (node) => {
      await core.createNode({ body: fakeNode(node) });
      await waitFor(`node ${node.name} Ready and schedulable`, () => readySchedulableNode(core, node.name), {
        process,
        timeoutMs: 60_000,
      });
    }),
  );
  return process;
}

/**
 * Binds each node's neighbour pod to it (fake-nodes.ts). Needs the ServiceAccount admission's
 * `default` ServiceAccount in their namespace.
 */
export async function placeNeighbours(kubeconfigPath: string): Promise<void> {
  const core = coreApi(kubeconfigPath);
  for (const pod of FAKE_NODES.map(neighbourPod)) {
    if (pod) await core.createNamespacedPod({ namespace: pod.metadata!.namespace!, body: pod });
  }
}

function startKwok({ binDir, dir, kubeconfigPath }: KwokParams): ManagedProcess {
  const podStages = join(dir, 'kwok-pod-stages.yaml');
  writeFileSync(podStages, podStagesYaml(FAKE_NODES));
  return startProcess({
    name: 'kwok',
    command: join(binDir, 'kwok'),
    args: [
      `--kubeconfig=${kubeconfigPath}`,
      // The standalone binary has no built-in stages; build-testplane.sh extracts kwok's "fast" ones.
      `--config=${join(dirname(binDir), 'kwok-stages.yaml')}`,
      // Ours: a pod-ready that reports resources, and the in-place resize stages.
      `--config=${podStages}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_ANNOTATION}=fake`,
      '--manage-nodes-with-label-selector=',
      '--manage-single-node=',
      '--node-lease-duration-seconds=40',
    ],
    logFile: join(dir, 'kwok.log'),
  });
}

/**
 * Shape of kwok's own example node, without its NoSchedule taint: the operator's Deployments
 * do not tolerate it and there are no real nodes to protect. A node with a role gets that role's
 * label and NoSchedule taint instead. A name alone: kwok-node-0's size.
 */
export function fakeNode(node: FakeNodeSpec | string): V1Node {
  const { name, allocatable, role } = typeof node === 'string' ? { ...DEFAULT_NODE, name: node } : node;
  const resources = { ...allocatable };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/role': 'agent',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
        ...(role ? { [NODE_ROLE_KEY]: role } : {}),
      },
    },
    ...(role ? { spec: { taints: [{ key: NODE_ROLE_KEY, value: role, effect: 'NoSchedule' }] } } : {}),
    status: {
      allocatable: resources,
      capacity: resources,
      nodeInfo: {
        architecture: 'amd64',
        bootID: '',
        containerRuntimeVersion: '',
        kernelVersion: '',
        kubeProxyVersion: 'fake',
        kubeletVersion: 'fake',
        machineID: '',
        operatingSystem: 'linux',
        osImage: '',
        systemUUID: '',
      },
    },
  };
}

/**
 * Ready is set by kwok; the not-ready taint that admission put on the new node is removed later
 * by the KCM's node-lifecycle controller. Pods only schedule once both happened (the role taint
 * stays: it is what keeps other pods off a special node).
 */
async function readySchedulableNode(core: CoreV1Api, name: string): Promise<V1Node | undefined> {
  const node = await core.readNode({ name });
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const blocked = node.spec?.taints?.some(
    (t) => t.key !== NODE_ROLE_KEY && (t.effect === 'NoSchedule' || t.effect === 'NoExecute'),
  );
  return ready && !blocked ? node : undefined;
}
