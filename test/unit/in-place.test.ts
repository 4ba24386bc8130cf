// The pure parts of in-place actuation: the QoS class, a pod's target (QoS kept, GOMEMLIMIT floor,
// GOMAXPROCS), where a pod stands, and the per-instance choice between resizing and rolling out.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Container, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { qosClass } from '../../src/actuate/qos.js';
import { podState, podTarget } from '../../src/actuate/pod-target.js';
import { decideInstance } from '../../src/actuate/choice.js';
import { ActuationMemory } from '../../src/actuate/memory.js';
import { pendingBoundMs } from '../../src/actuate/pending-bound.js';
import { classifyRefusal, listsPodResize } from '../../src/actuate/resize-api.js';

type R = V1Container['resources'];
const res = (cpu: string, memory: string, cpuLimit?: string, memoryLimit?: string): R => ({
  requests: { cpu, memory },
  ...(cpuLimit || memoryLimit
    ? { limits: { ...(cpuLimit ? { cpu: cpuLimit } : {}), ...(memoryLimit ? { memory: memoryLimit } : {}) } }
    : {}),
});
const SIDECAR: V1Container = { name: 'side', resources: res('50m', '32Mi', undefined, '32Mi') };

interface PodOptions {
  resources: R;
  status?: R | null;
  sidecar?: boolean;
  env?: Record<string, string>;
  conditions?: V1PodCondition[];
  generation?: number;
  qos?: string;
  phase?: string;
}

function pod(o: PodOptions): V1Pod {
  const consumer: V1Container = {
    name: 'consumer',
    resources: o.resources,
    env: Object.entries(o.env ?? { GOMEMLIMIT: '76MiB', GOMAXPROCS: '8' }).map(([name, value]) => ({
      name,
      value,
    })),
  };
  const containers = [consumer, ...(o.sidecar ? [SIDECAR] : [])];
  return {
    metadata: { name: 'p', namespace: 'ns', generation: o.generation ?? 1 },
    spec: { containers },
    status: {
      phase: o.phase ?? 'Running',
      qosClass: o.qos ?? qosClass(containers),
      conditions: [{ type: 'Ready', status: 'True' }, ...(o.conditions ?? [])],
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: '',
        imageID: '',
        ready: true,
        restartCount: 0,
        ...(o.status === null
          ? {}
          : { resources: c.name === 'consumer' ? (o.status ?? o.resources) : c.resources }),
      })),
    },
  };
}

describe('qosClass, as the API server computes it', () => {
  test('BestEffort, Guaranteed, Burstable', () => {
    assert.equal(qosClass([{}, { resources: {} }]), 'BestEffort');
    assert.equal(qosClass([{ resources: res('1', '1Gi', '1', '1Gi') }]), 'Guaranteed');
    assert.equal(
      qosClass([{ resources: { limits: { cpu: '1', memory: '1Gi' } } }]),
      'Guaranteed',
      'requests default to limits',
    );
    assert.equal(qosClass([{ resources: res('500m', '1Gi', '1', '1Gi') }]), 'Burstable');
    assert.equal(
      qosClass([{ resources: res('1', '1Gi', '1', '1Gi') }, SIDECAR]),
      'Burstable',
      'a sidecar without a cpu limit',
    );
    assert.equal(qosClass([{ resources: res('1', '1Gi', undefined, '1Gi') }]), 'Burstable');
  });
});

const decisionOf = (cpu: string, memory: string, cpuLimit: string, memoryLimit: string) =>
  res(cpu, memory, cpuLimit, memoryLimit)!;

describe('podTarget', () => {
  test('a Burstable pod takes the decision as it is', () => {
    const p = pod({ resources: res('100m', '100M', '1', '100M') });
    const target = podTarget(p, 'consumer', decisionOf('2500m', '300M', '3', '300M'), 0.8);
    assert.deepEqual(target, {
      possible: true,
      resources: res('2500m', '300M', '3', '300M'),
      adjustments: [],
    });
  });

  test('a Guaranteed pod keeps limits equal to requests', () => {
    const p = pod({ resources: res('1', '100M', '1', '100M') });
    assert.equal(p.status!.qosClass, 'Guaranteed');
    const target = podTarget(p, 'consumer', decisionOf('1500m', '200M', '2', '200M'), 0.8);
    assert.ok(target.possible);
    assert.deepEqual(target.resources, res('1500m', '200M', '1500m', '200M'));
    assert.match(target.adjustments.join(), /Guaranteed/);
  });

  test('a Burstable pod that would become Guaranteed gets a CPU limit of the next whole core', () => {
    const p = pod({ resources: res('100m', '100M', '1', '100M') });
    const target = podTarget(p, 'consumer', decisionOf('3', '300M', '3', '300M'), 0.8);
    assert.ok(target.possible);
    assert.deepEqual(target.resources, res('3', '300M', '4', '300M'));
    // With a sidecar the pod stays Burstable anyway: the decision as it is.
    const withSidecar = podTarget(
      pod({ resources: res('100m', '100M', '1', '100M'), sidecar: true }),
      'consumer',
      decisionOf('3', '300M', '3', '300M'),
      0.8,
    );
    assert.ok(withSidecar.possible);
    assert.deepEqual(withSidecar.resources, res('3', '300M', '3', '300M'));
  });

  test('the memory limit is never lowered below what the pod’s GOMEMLIMIT was made from', () => {
    // Started at 300M: GOMEMLIMIT = floor(0.8 × 300M) = 228MiB; 228MiB ÷ 0.8 = 285Mi.
    const p = pod({
      resources: res('3', '300M', '4', '300M'),
      env: { GOMEMLIMIT: '228MiB', GOMAXPROCS: '8' },
    });
    const target = podTarget(p, 'consumer', decisionOf('100m', '100M', '1', '100M'), 0.8);
    assert.ok(target.possible);
    assert.deepEqual(target.resources, res('100m', '100M', '1', '285Mi'));
    assert.match(target.adjustments[0]!, /held at 285Mi \(the pod's GOMEMLIMIT is 228MiB\)/);
    // Above the floor: as decided.
    const above = podTarget(p, 'consumer', decisionOf('1', '290Mi', '1', '290Mi'), 0.8);
    assert.ok(above.possible);
    assert.deepEqual(above.resources, res('1', '290Mi', '2', '290Mi'));
  });

  test('the GOMEMLIMIT floor of a Guaranteed pod raises request and limit together', () => {
    const p = pod({
      resources: res('2', '300M', '2', '300M'),
      env: { GOMEMLIMIT: '228MiB', GOMAXPROCS: '8' },
    });
    const target = podTarget(p, 'consumer', decisionOf('1', '100M', '1', '100M'), 0.8);
    assert.ok(target.possible);
    assert.deepEqual(target.resources, res('1', '285Mi', '1', '285Mi'));
  });

  test('a limit cannot be removed; a QoS class that cannot be kept is impossible', () => {
    const p = pod({ resources: res('100m', '100M', '1', '100M') });
    const removal = podTarget(p, 'consumer', res('200m', '100M', undefined, '100M')!, 0.8);
    assert.deepEqual(
      { possible: removal.possible, reason: !removal.possible && removal.reason },
      { possible: false, reason: 'LimitRemoval' },
    );
    // Guaranteed to Burstable without any limit to raise: a CPU limit cannot be added equal to a missing request.
    const g = pod({ resources: res('1', '100M', '1', '100M') });
    const noCpuRequest = podTarget(
      g,
      'consumer',
      { requests: { memory: '200M' }, limits: { cpu: '1', memory: '300M' } },
      0.8,
    );
    assert.equal(noCpuRequest.possible, false);
  });

  test('a CPU limit above the pod’s GOMAXPROCS is flagged', () => {
    const p = pod({
      resources: res('100m', '100M', '1', '100M'),
      env: { GOMEMLIMIT: '76MiB', GOMAXPROCS: '1' },
    });
    const target = podTarget(p, 'consumer', decisionOf('3', '300M', '3', '300M'), 0.8);
    assert.ok(target.possible);
    assert.equal(target.aboveGoMaxProcs, 1);
    const within = podTarget(p, 'consumer', decisionOf('500m', '100M', '1', '100M'), 0.8);
    assert.ok(within.possible);
    assert.equal(within.aboveGoMaxProcs, undefined);
  });
});

const now = new Date('2026-01-01T00:10:00Z');
const decision = decisionOf('3', '300M', '3', '300M');

describe('podState', () => {
  test('resize, applying, done, ignored', () => {
    const running = pod({ resources: res('100m', '100M', '1', '100M'), sidecar: true });
    assert.equal(podState(running, 'consumer', decision, 0.8, now).state, 'resize');
    const asked = pod({ resources: decision, status: res('100m', '100M', '1', '100M'), sidecar: true });
    assert.equal(podState(asked, 'consumer', decision, 0.8, now).state, 'applying');
    const done = pod({ resources: decision, sidecar: true });
    assert.equal(podState(done, 'consumer', decision, 0.8, now).state, 'done');
    const pending = pod({ resources: res('100m', '100M', '1', '100M'), phase: 'Pending' });
    assert.equal(podState(pending, 'consumer', decision, 0.8, now).state, 'ignored');
  });

  test('the node’s answers: Infeasible, Deferred (with since), stale conditions ignored', () => {
    const condition = (reason: string, generation: number): V1PodCondition => ({
      type: 'PodResizePending',
      status: 'True',
      reason,
      observedGeneration: generation,
      lastTransitionTime: new Date('2026-01-01T00:08:00Z'),
    });
    const base = {
      resources: decision,
      status: res('100m', '100M', '1', '100M'),
      sidecar: true,
      generation: 2,
    };
    const infeasible = podState(
      pod({ ...base, conditions: [condition('Infeasible', 2)] }),
      'consumer',
      decision,
      0.8,
      now,
    );
    assert.equal(infeasible.state === 'pending' && infeasible.reason, 'Infeasible');
    const deferred = podState(
      pod({ ...base, conditions: [condition('Deferred', 2)] }),
      'consumer',
      decision,
      0.8,
      now,
    );
    assert.deepEqual(deferred, {
      state: 'pending',
      reason: 'Deferred',
      since: new Date('2026-01-01T00:08:00Z'),
    });
    const stale = podState(
      pod({ ...base, conditions: [condition('Infeasible', 1)] }),
      'consumer',
      decision,
      0.8,
      now,
    );
    assert.equal(stale.state, 'applying', 'about an older generation');
  });

  test('a ready pod whose node does not report container resources cannot be resized', () => {
    const p = pod({ resources: res('100m', '100M', '1', '100M'), status: null });
    const state = podState(p, 'consumer', decision, 0.8, now);
    assert.equal(state.state === 'impossible' && state.reason, 'NodeUnsupported');
  });
});

describe('decideInstance', () => {
  const input = (pods: V1Pod[], mode: 'InPlaceOrRollout' | 'InPlace' = 'InPlaceOrRollout') => ({
    mode,
    pods,
    container: 'consumer',
    decision,
    goMemLimitRatio: 0.8,
    now,
    pendingBoundMs: 5 * 60_000,
  });
  const pendingPod = (reason: string, since: string) =>
    pod({
      resources: decision,
      status: res('100m', '100M', '1', '100M'),
      sidecar: true,
      conditions: [
        {
          type: 'PodResizePending',
          status: 'True',
          reason,
          observedGeneration: 1,
          lastTransitionTime: new Date(since),
        },
      ],
    });

  test('pods to resize', () => {
    const act = decideInstance(input([pod({ resources: res('100m', '100M', '1', '100M'), sidecar: true })]));
    assert.equal(act.resizes.length, 1);
    assert.equal(act.rollout, undefined);
    assert.equal(act.settled, false);
  });

  test('InPlaceOrRollout rolls out on Infeasible at once, on Deferred after the bound', () => {
    assert.equal(
      decideInstance(input([pendingPod('Infeasible', '2026-01-01T00:09:59Z')])).rollout?.reason,
      'Infeasible',
    );
    const young = decideInstance(input([pendingPod('Deferred', '2026-01-01T00:08:00Z')]));
    assert.equal(young.rollout, undefined);
    assert.equal(young.recheckInMs, 3 * 60_000, 'looks again when the bound is reached');
    const old = decideInstance(input([pendingPod('Deferred', '2026-01-01T00:04:00Z')]));
    assert.equal(old.rollout?.reason, 'Deferred');
    assert.match(old.rollout!.message, /deferred the resize for 360s \(bound 300s\)/);
  });

  test('a lagging instance does not wait for its node: the bound of pendingBoundMs() rolls it out at once', () => {
    const bound = (lagMs: number) =>
      pendingBoundMs({ boundMs: 5 * 60_000, lagMs, tolerableLagMs: 5 * 60_000 });
    const deferred = [pendingPod('Deferred', '2026-01-01T00:09:50Z')];
    assert.equal(decideInstance({ ...input(deferred), pendingBoundMs: bound(0) }).rollout, undefined);
    const rolled = decideInstance({
      ...input(deferred),
      pendingBoundMs: bound(2 * 60_000),
      pendingBoundWhy: 'the instance lags 120s',
    }).rollout;
    assert.equal(rolled?.reason, 'Deferred');
    assert.match(rolled!.message, /deferred the resize for 10s \(bound 0s: the instance lags 120s\)/);
  });

  test('InPlaceOrRollout rolls out on a refusal and on a QoS class it cannot keep; GOMAXPROCS too', () => {
    const running = pod({ resources: res('100m', '100M', '1', '100M'), sidecar: true });
    const refused = decideInstance({
      ...input([running]),
      refusal: { reason: 'NodeCapacity', message: 'm' },
    });
    assert.equal(refused.rollout?.reason, 'NodeCapacity');
    assert.equal(refused.resizes.length, 0);
    const lowProcs = pod({
      resources: res('100m', '100M', '1', '100M'),
      sidecar: true,
      env: { GOMAXPROCS: '1', GOMEMLIMIT: '76MiB' },
    });
    assert.equal(decideInstance(input([lowProcs])).rollout?.reason, 'GoMaxProcs');
    // Unless a new pod would have no more (the template pins GOMAXPROCS): then it is resized.
    const pinned = decideInstance({ ...input([lowProcs]), newPodGoMaxProcs: '1' });
    assert.equal(pinned.rollout, undefined);
    assert.equal(pinned.resizes.length, 1);
    assert.equal(
      decideInstance({ ...input([lowProcs]), newPodGoMaxProcs: '8' }).rollout?.reason,
      'GoMaxProcs',
    );
  });

  test('InPlace never rolls out: it reports, resizes what it can and does not retry a refusal', () => {
    const held = decideInstance(input([pendingPod('Infeasible', '2026-01-01T00:09:59Z')], 'InPlace'));
    assert.equal(held.rollout, undefined);
    assert.equal(held.held?.reason, 'Infeasible');
    assert.equal(held.resizes.length, 0, 'already asked for');
    const running = pod({ resources: res('100m', '100M', '1', '100M'), sidecar: true });
    const refused = decideInstance({
      ...input([running], 'InPlace'),
      refusal: { reason: 'NodeCapacity', message: 'm' },
    });
    assert.equal(refused.resizes.length, 0);
    assert.equal(refused.held?.reason, 'NodeCapacity');
    const lowProcs = pod({
      resources: res('100m', '100M', '1', '100M'),
      sidecar: true,
      env: { GOMAXPROCS: '1', GOMEMLIMIT: '76MiB' },
    });
    const anyway = decideInstance(input([lowProcs], 'InPlace'));
    assert.equal(anyway.resizes.length, 1, 'resized anyway');
    assert.equal(anyway.goMaxProcs, 1);
  });

  test('settled when every running pod reports the target', () => {
    const act = decideInstance(
      input([pod({ resources: decision, sidecar: true }), pod({ resources: decision, phase: 'Pending' })]),
    );
    assert.equal(act.settled, true);
    assert.deepEqual(act.resizes, []);
  });
});

describe('ActuationMemory', () => {
  test('refusals are kept per decision; a decision is timed once until its pods report it', () => {
    const memory = new ActuationMemory();
    memory.refused('u', 1, 'consumer', decision, { reason: 'NodeCapacity', message: 'm' });
    assert.equal(memory.refusal('u', 1, 'consumer', decision)?.reason, 'NodeCapacity');
    assert.equal(
      memory.refusal('u', 1, 'consumer', res('1', '1G', '1', '1G')!),
      undefined,
      'another decision',
    );
    assert.equal(memory.decided('u', 2, 'consumer', decision, 1000, 'in-place'), true);
    assert.equal(memory.decided('u', 2, 'consumer', decision, 2000, 'rollout'), false, 'the same decision');
    assert.deepEqual(memory.reached('u', 2, 'consumer', decision, 4500), { seconds: 3.5, path: 'rollout' });
    assert.equal(memory.reached('u', 2, 'consumer', decision, 5000), undefined, 'once');
    memory.retain(new Set(['other']));
    assert.equal(memory.refusal('u', 1, 'consumer', decision), undefined);
  });

  test("each instance's lag from the last read is kept until a read does not know it", () => {
    const memory = new ActuationMemory();
    memory.noteLags(
      'u',
      new Map([
        [0, 90_000],
        [1, 0],
      ]),
    );
    assert.equal(memory.lag('u', 0), 90_000);
    assert.equal(memory.lag('u', 1), 0);
    assert.equal(memory.lag('u', 2), undefined);
    memory.noteLags('u', new Map([[0, undefined]]));
    assert.equal(memory.lag('u', 0), undefined, 'unknown at the last read');
    assert.equal(memory.lag('u', 1), 0, 'not in that read: kept');
    memory.retain(new Set(['other']));
    assert.equal(memory.lag('u', 1), undefined);
  });
});

describe('the API server’s answers', () => {
  test('discovery lists pods/resize from Kubernetes 1.33 on', () => {
    const list = (names: string[]) => ({
      groupVersion: 'v1',
      resources: names.map((name) => ({ name, kind: 'Pod', namespaced: true, singularName: '', verbs: [] })),
    });
    assert.equal(listsPodResize(list(['pods', 'pods/status', 'pods/resize'])), true);
    assert.equal(listsPodResize(list(['pods', 'pods/status'])), false);
  });

  test('a 403 NodeCapacity and a 422 are refusals; a 403 of RBAC is not', () => {
    const capacity = {
      code: 403,
      body: JSON.stringify({
        message: 'pods "p" is forbidden: node didn\'t have enough allocatable resources: cpu',
        details: { causes: [{ reason: 'NodeCapacity' }] },
      }),
    };
    assert.deepEqual(classifyRefusal(capacity), {
      reason: 'NodeCapacity',
      message: "node didn't have enough allocatable resources: cpu",
    });
    assert.equal(
      (classifyRefusal({ code: 422, body: { message: 'Invalid' } }) as { reason: string }).reason,
      'Refused',
    );
    assert.equal(
      classifyRefusal({ code: 403, body: { message: 'cannot patch resource "pods/resize"' } }),
      undefined,
    );
    assert.equal(classifyRefusal({ code: 404 }), 'gone');
    assert.equal(classifyRefusal({ code: 500 }), undefined);
  });
});
