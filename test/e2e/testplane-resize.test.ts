// In-place pod resize on the test plane, with plain API calls (no operator): the real API server
// takes `pods/<name>/resize` patches and kwok, playing the kubelet, answers them in the pod's status
// (testplane/kwok/pod-stages.yaml; docs/testplane.md, "In-place resize on kwok").
import assert from 'node:assert/strict';
import { after, describe, it } from '../support/timed.js';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1PolicyRule,
  type V1Container,
  type V1Deployment,
  type V1Pod,
  type V1PodSpec,
} from '@kubernetes/client-node';
import { SMALL_NODE, STATIC_CPU_NODE, placeOnNode } from '../../src/testplane/index.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, testEnv, waitFor } from '../support/env.js';
import {
  PodHistory,
  condition,
  normalized,
  resizeContainer,
  resized,
  restartCount,
  sameResources,
  specResources,
  statusResources,
  type Resources,
} from '../support/pod-resize.js';

const kc = kubeConfig();
const apps = kc.makeApiClient(AppsV1Api);
const core = kc.makeApiClient(CoreV1Api);

const SIDECAR: V1Container = {
  name: 'side',
  image: 'example.invalid/sidecar:1',
  resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '32Mi' } },
};

function app(resources: Resources, extra: Partial<V1Container> = {}): V1Container {
  return { name: 'app', image: 'example.invalid/app:1', resources, ...extra };
}

function deployment(name: string, containers: V1Container[], spec: Partial<V1PodSpec> = {}): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers, ...spec } },
    },
  };
}

/** Creates the Deployment and returns its pod once kwok runs it. */
async function runningPod(namespace: string, body: V1Deployment): Promise<V1Pod> {
  await apps.createNamespacedDeployment({ namespace, body });
  const name = body.metadata!.name!;
  return waitFor(`a running pod of ${name}`, async () => {
    const [pod, ...more] = (await core.listNamespacedPod({ namespace, labelSelector: `app=${name}` })).items;
    return pod?.status?.phase === 'Running' && more.length === 0 ? pod : undefined;
  });
}

async function readPod(pod: V1Pod): Promise<V1Pod> {
  return core.readNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace! });
}

/**
 * Resizes `app` and waits until the node reports it applied; returns the pod then and the
 * milliseconds from the patch to the first watched version showing it.
 */
async function resizeAndWait(pod: V1Pod, resources: Resources): Promise<{ pod: V1Pod; ms: number }> {
  const history = await PodHistory.watch(await readPod(pod));
  try {
    const t0 = performance.now();
    const patched = await resizeContainer(core, pod, 'app', resources);
    assert.deepEqual(specResources(patched, 'app'), resources, 'the resize patch changes the spec');
    const done = await waitFor('the resize applied in the pod status', async () =>
      history.first(
        (p) => resized(p, 'app', resources) && p.metadata!.generation === patched.metadata!.generation,
      ),
    );
    // A kubelet marks the resize in progress for this generation before it is applied, and never
    // leaves it pending.
    const generation = patched.metadata!.generation;
    const marked = (type: string) => (p: V1Pod) => condition(p, type)?.observedGeneration === generation;
    assert.ok(history.first(marked('PodResizeInProgress')), 'PodResizeInProgress seen for the resize');
    assert.ok(!history.first(marked('PodResizePending')), 'never PodResizePending');
    return { pod: done.pod, ms: Math.round(done.at - t0) };
  } finally {
    history.close();
  }
}

async function pendingCondition(pod: V1Pod, generation: number) {
  return waitFor(`PodResizePending for generation ${generation}`, async () => {
    const now = await readPod(pod);
    const pending = condition(now, 'PodResizePending');
    return pending?.observedGeneration === generation && now.status?.observedGeneration === generation
      ? { pod: now, pending }
      : undefined;
  });
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `min ${sorted[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms (n=${sorted.length})`;
}

describe('in-place pod resize on kwok', () => {
  after(deleteTestNamespaces);

  it('reports a started pod’s container resources, as a kubelet with in-place resize does', async () => {
    const namespace = await newNamespace('resize-start');
    const resources = {
      requests: { cpu: '250m', memory: '128Mi' },
      limits: { cpu: '500m', memory: '128Mi' },
    };
    const pod = await runningPod(namespace, deployment('web', [app(resources), SIDECAR]));

    assert.equal(pod.spec?.nodeName, testEnv().nodeName);
    for (const container of ['app', 'side']) {
      assert.deepEqual(statusResources(pod, container), specResources(pod, container), container);
      const status = pod.status!.containerStatuses!.find((c) => c.name === container)!;
      assert.deepEqual(status.allocatedResources, specResources(pod, container).requests, container);
    }
    assert.equal(pod.status?.observedGeneration, pod.metadata?.generation);
  });

  it('resizes a Deployment’s pod in place: same pod, no restart, no new ReplicaSet, sidecar untouched', async () => {
    const namespace = await newNamespace('resize-hot');
    const small = { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } };
    const big = { requests: { cpu: '750m', memory: '256Mi' }, limits: { cpu: '1', memory: '256Mi' } };
    const before = await runningPod(namespace, deployment('web', [app(small), SIDECAR]));
    const replicaSets = (await apps.listNamespacedReplicaSet({ namespace })).items.map(
      (rs) => rs.metadata!.uid,
    );
    const deploymentBefore = await apps.readNamespacedDeployment({ name: 'web', namespace });

    const delays: number[] = [];
    let pod = before;
    for (const resources of [big, small, big, small, big]) {
      const result = await resizeAndWait(pod, resources);
      delays.push(result.ms);
      pod = result.pod;
    }
    console.log(`resize patch → resources in the pod's status: ${summary(delays)}`);

    pod = await readPod(pod);
    assert.equal(pod.metadata!.uid, before.metadata!.uid, 'the same pod');
    assert.deepEqual(specResources(pod, 'app'), big);
    assert.deepEqual(statusResources(pod, 'app'), big);
    assert.equal(restartCount(pod, 'app'), 0);
    assert.deepEqual(specResources(pod, 'side'), specResources(before, 'side'));
    assert.deepEqual(statusResources(pod, 'side'), statusResources(before, 'side'));
    assert.equal(restartCount(pod, 'side'), 0);
    const sideStatus = (p: V1Pod) => p.status!.containerStatuses!.find((c) => c.name === 'side')!;
    assert.deepEqual(sideStatus(pod).state, sideStatus(before).state, 'the sidecar kept running');

    const replicaSetsAfter = (await apps.listNamespacedReplicaSet({ namespace })).items.map(
      (rs) => rs.metadata!.uid,
    );
    assert.deepEqual(replicaSetsAfter, replicaSets, 'no new ReplicaSet');
    const deploymentAfter = await apps.readNamespacedDeployment({ name: 'web', namespace });
    assert.equal(deploymentAfter.metadata!.generation, deploymentBefore.metadata!.generation);
    assert.deepEqual(
      normalized(deploymentAfter.spec!.template.spec!.containers[0]!.resources),
      small,
      'template untouched',
    );

    const reasons = await waitFor('kubelet-like resize events', async () => {
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${pod.metadata!.name}`,
      });
      const seen = new Set(events.items.map((e) => e.reason));
      return seen.has('ResizeStarted') && seen.has('ResizeCompleted') ? seen : undefined;
    });
    assert.ok(!reasons.has('ResizeDeferred') && !reasons.has('ResizeInfeasible'));
  });

  it('restarts the container for a memory resize under resizePolicy RestartContainer, not for cpu', async () => {
    const namespace = await newNamespace('resize-restart');
    const resizePolicy = [
      { resourceName: 'cpu', restartPolicy: 'NotRequired' },
      { resourceName: 'memory', restartPolicy: 'RestartContainer' },
    ];
    const start = { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } };
    const before = await runningPod(namespace, deployment('web', [app(start, { resizePolicy }), SIDECAR]));

    const moreCpu = { requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '1', memory: '128Mi' } };
    const cpuOnly = await resizeAndWait(before, moreCpu);
    assert.equal(restartCount(cpuOnly.pod, 'app'), 0, 'a cpu resize does not restart');

    const moreMemory = { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '256Mi' } };
    const memory = await resizeAndWait(cpuOnly.pod, moreMemory);
    console.log(
      `resize patch → resources in the pod's status: cpu ${cpuOnly.ms} ms, memory with restart ${memory.ms} ms`,
    );
    const pod = memory.pod;
    assert.equal(pod.metadata!.uid, before.metadata!.uid, 'the same pod');
    assert.equal(restartCount(pod, 'app'), 1, 'the container restarted once');
    const app0 = pod.status!.containerStatuses!.find((c) => c.name === 'app')!;
    assert.ok(app0.lastState?.terminated, 'the previous container terminated');
    assert.ok(app0.state?.running, 'and a new one runs');
    assert.equal(restartCount(pod, 'side'), 0, 'the sidecar did not restart');
  });

  it('refuses a resize beyond the node’s allocatable (the API server’s PodResizeValidator)', async () => {
    const namespace = await newNamespace('resize-refused');
    const start = { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '256Mi' } };
    const pod = await runningPod(
      namespace,
      deployment('web', [app(start)], placeOnNode(SMALL_NODE, 'required')),
    );
    assert.equal(pod.spec?.nodeName, SMALL_NODE.name);

    // (A resize may not change the QoS class: the limits stay above the requests.)
    const tooBig = { requests: { cpu: '5', memory: '256Mi' }, limits: { cpu: '6', memory: '256Mi' } };
    const refusal = await resizeContainer(core, pod, 'app', tooBig).then(
      () => assert.fail('a resize beyond the node was accepted'),
      (err: unknown) => err,
    );
    assert.ok(refusal instanceof ApiException, `expected an ApiException, got ${String(refusal)}`);
    assert.equal(refusal.code, 403);
    assert.match(JSON.stringify(refusal.body), /node didn't have enough allocatable resources: cpu/);
    const after = await readPod(pod);
    assert.equal(after.metadata!.generation, pod.metadata!.generation);
    assert.deepEqual(specResources(after, 'app'), start);
  });

  it('defers a resize that fits the node but not the room its other pods leave, and applies a smaller one', async () => {
    const namespace = await newNamespace('resize-deferred');
    const start = { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '256Mi' } };
    const pod = await runningPod(
      namespace,
      deployment('web', [app(start)], placeOnNode(SMALL_NODE, 'required')),
    );
    assert.equal(pod.spec?.nodeName, SMALL_NODE.name);

    // 4 cpu allocatable, 2 held by the node's neighbour pod: 3 cpu does not fit now.
    const moreCpu = { requests: { cpu: '3', memory: '256Mi' }, limits: { cpu: '4', memory: '256Mi' } };
    const patched = await resizeContainer(core, pod, 'app', moreCpu);
    const cpu = await pendingCondition(pod, patched.metadata!.generation!);
    assert.equal(cpu.pending.reason, 'Deferred');
    assert.match(cpu.pending.message ?? '', /cpu/);
    assert.deepEqual(statusResources(cpu.pod, 'app'), start, 'still running with the old resources');
    assert.equal(condition(cpu.pod, 'PodResizeInProgress'), undefined);

    // 4Gi of 8Gi held by the neighbour: 5Gi does not fit either.
    const moreMemory = { requests: { cpu: '500m', memory: '5Gi' }, limits: { cpu: '1', memory: '5Gi' } };
    const patchedMemory = await resizeContainer(core, pod, 'app', moreMemory);
    const memory = await pendingCondition(pod, patchedMemory.metadata!.generation!);
    assert.equal(memory.pending.reason, 'Deferred');
    assert.match(memory.pending.message ?? '', /memory/);

    const fits = { requests: { cpu: '1500m', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } };
    const applied = await resizeAndWait(memory.pod, fits);
    assert.equal(applied.pod.metadata!.uid, pod.metadata!.uid);
    assert.equal(restartCount(applied.pod, 'app'), 0);
  });

  it('reports a cpu resize of a Guaranteed pod Infeasible on a node with the static CPU manager', async () => {
    const namespace = await newNamespace('resize-infeasible');
    const guaranteed = { requests: { cpu: '1', memory: '256Mi' }, limits: { cpu: '1', memory: '256Mi' } };
    const pod = await runningPod(
      namespace,
      deployment('web', [app(guaranteed)], placeOnNode(STATIC_CPU_NODE, 'required')),
    );
    assert.equal(pod.spec?.nodeName, STATIC_CPU_NODE.name);

    const twoCpus = { requests: { cpu: '2', memory: '256Mi' }, limits: { cpu: '2', memory: '256Mi' } };
    const patched = await resizeContainer(core, pod, 'app', twoCpus);
    const { pod: pending, pending: infeasible } = await pendingCondition(pod, patched.metadata!.generation!);
    assert.equal(infeasible.reason, 'Infeasible');
    assert.match(infeasible.message ?? '', /static/);
    assert.deepEqual(statusResources(pending, 'app'), guaranteed);

    // Back to what runs: nothing left to do, the condition goes.
    const back = await resizeContainer(core, pod, 'app', guaranteed);
    await waitFor('PodResizePending cleared', async () => {
      const now = await readPod(pod);
      return (
        now.status?.observedGeneration === back.metadata!.generation && !condition(now, 'PodResizePending')
      );
    });

    // Memory is not the CPU manager's: applied in place.
    const moreMemory = { requests: { cpu: '1', memory: '512Mi' }, limits: { cpu: '1', memory: '512Mi' } };
    const applied = await resizeAndWait(pod, moreMemory);
    assert.ok(sameResources(statusResources(applied.pod, 'app'), moreMemory));
  });

  it('needs RBAC patch on pods/resize: patch on pods does not grant it', async () => {
    const namespace = await newNamespace('resize-rbac');
    const start = { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } };
    const pod = await runningPod(namespace, deployment('web', [app(start)]));
    const readAndPatchPods: V1PolicyRule = {
      apiGroups: [''],
      resources: ['pods'],
      verbs: ['get', 'list', 'watch', 'patch'],
    };
    const asResizer = await serviceAccountWithRole(namespace, 'resizer', [readAndPatchPods]);
    await waitFor('the role binding in effect', () => asResizer.readNamespacedPod(podRef(pod)));

    const bigger = { requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '1', memory: '128Mi' } };
    const refusal = await resizeContainer(asResizer, pod, 'app', bigger).then(
      () => assert.fail('resized without pods/resize'),
      (err: unknown) => err,
    );
    assert.ok(
      refusal instanceof ApiException && refusal.code === 403,
      `expected 403, got ${String(refusal)}`,
    );
    assert.match(JSON.stringify(refusal.body), /pods\/resize/);

    // Least privilege for an in-place resizer: read pods, patch pods/resize.
    await rbac.replaceNamespacedRole({
      name: 'resizer',
      namespace,
      body: {
        metadata: { name: 'resizer' },
        rules: [
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: [''], resources: ['pods/resize'], verbs: ['patch'] },
        ],
      },
    });
    const patched = await waitFor('the resize allowed', () => resizeContainer(asResizer, pod, 'app', bigger));
    assert.deepEqual(specResources(patched, 'app'), bigger);
  });
});

const rbac = kc.makeApiClient(RbacAuthorizationV1Api);

function podRef(pod: V1Pod) {
  return { name: pod.metadata!.name!, namespace: pod.metadata!.namespace! };
}

/** A ServiceAccount of `namespace` bound to a Role with `rules`, as a CoreV1Api client. */
async function serviceAccountWithRole(
  namespace: string,
  name: string,
  rules: V1PolicyRule[],
): Promise<CoreV1Api> {
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  const token = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 600 } },
  });
  const env = testEnv();
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'plane', server: env.apiServerUrl, caFile: env.caFile }],
    users: [{ name, token: token.status!.token }],
    contexts: [{ name, cluster: 'plane', user: name }],
    currentContext: name,
  });
  return config.makeApiClient(CoreV1Api);
}
