// kwok simulates the kubelet of a fake Node: it marks the node Ready, keeps its lease fresh and
// moves the pods bound to it through Running/Ready and deletion. No container ever runs.
import { dirname, join } from 'node:path';
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import { coreApi } from './client.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

export const FAKE_NODE_NAME = 'kwok-node-0';
const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';

export interface KwokParams {
  binDir: string;
  dir: string;
  kubeconfigPath: string;
}

export async function startKwokWithFakeNode(p: KwokParams): Promise<ManagedProcess> {
  const process = startKwok(p);
  const core = coreApi(p.kubeconfigPath);
  await core.createNode({ body: fakeNode(FAKE_NODE_NAME) });
  await waitFor(
    `node ${FAKE_NODE_NAME} Ready and schedulable`,
    () => readySchedulableNode(core, FAKE_NODE_NAME),
    {
      process,
      timeoutMs: 60_000,
    },
  );
  return process;
}

function startKwok({ binDir, dir, kubeconfigPath }: KwokParams): ManagedProcess {
  return startProcess({
    name: 'kwok',
    command: join(binDir, 'kwok'),
    args: [
      `--kubeconfig=${kubeconfigPath}`,
      // The standalone binary has no built-in stages; build-testplane.sh extracts kwok's "fast" ones.
      `--config=${join(dirname(binDir), 'kwok-stages.yaml')}`,
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
 * do not tolerate it and there are no real nodes to protect.
 */
export function fakeNode(name: string): V1Node {
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
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
      },
    },
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
 * by the KCM's node-lifecycle controller. Pods only schedule once both happened.
 */
async function readySchedulableNode(core: CoreV1Api, name: string): Promise<V1Node | undefined> {
  const node = await core.readNode({ name });
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const blocked = node.spec?.taints?.some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  return ready && !blocked ? node : undefined;
}
