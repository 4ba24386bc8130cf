// The pure parts of the load generator and the simulated consumer group: rate profiles, their
// integration into whole messages, and how CPU turns into committed offsets.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import {
  allocate,
  consumeStep,
  instanceOf,
  readyPodsPerInstance,
  type ConsumerInstance,
} from '../../src/loadgen/consumer-group.js';
import { profileRate, RateIntegrator } from '../../src/loadgen/profile.js';

describe('profileRate', () => {
  test('base rates per partition, 0 for partitions beyond them', () => {
    const rate = profileRate({ rates: [100, 10] });
    assert.equal(rate(0, 0), 100);
    assert.equal(rate(1, 123), 10);
    assert.equal(rate(2, 0), 0);
  });

  test('steps apply from their time on, to their partitions, the latest one winning', () => {
    const rate = profileRate({
      rates: [100, 10],
      steps: [
        { atSeconds: 20, factor: 0.5 },
        { atSeconds: 10, factor: 3, partitions: [1] },
      ],
    });
    assert.deepEqual([rate(0, 9.9), rate(1, 9.9)], [100, 10]);
    assert.deepEqual([rate(0, 10), rate(1, 10)], [100, 30]);
    assert.deepEqual([rate(0, 20), rate(1, 25)], [50, 5]);
  });

  test('sine: swings around the base, shifted per partition, never negative', () => {
    const rate = profileRate({
      rates: [100, 100],
      sine: { amplitude: 0.5, periodSeconds: 40, phasePerPartition: 0.5 },
    });
    assert.ok(Math.abs(rate(0, 10) - 150) < 1e-9);
    assert.ok(Math.abs(rate(1, 10) - 50) < 1e-9);
    const deep = profileRate({ rates: [10], sine: { amplitude: 2, periodSeconds: 4 } });
    assert.equal(deep(0, 3), 0);
  });
});

describe('RateIntegrator', () => {
  test('a constant rate gives exactly rate × time, whatever the tick lengths', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.001, max: 2, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (ticks) => {
          const integrator = new RateIntegrator(() => 37, 1);
          let t = 0;
          let total = 0;
          for (const dt of ticks) {
            t += dt;
            total += integrator.advance(t)[0]!;
          }
          return total === Math.floor(37 * t + 1e-6) || total === Math.floor(37 * t - 1e-6);
        },
      ),
    );
  });

  test('skewed partitions get their own counts; time never goes back', () => {
    const integrator = new RateIntegrator(profileRate({ rates: [400, 100, 100, 50] }), 4);
    assert.deepEqual(integrator.advance(0.25), [100, 25, 25, 12]);
    assert.deepEqual(integrator.advance(0.1), [0, 0, 0, 0]);
    assert.deepEqual(integrator.advance(1), [300, 75, 75, 38]);
  });
});

describe('allocate (water-filling)', () => {
  test('evenly, except that a partition never gets more than its backlog', () => {
    assert.deepEqual(allocate(90, [100, 100, 100]), [30, 30, 30]);
    assert.deepEqual(allocate(90, [10, 100, 100]), [10, 40, 40]);
    assert.deepEqual(allocate(90, [10, 0, 20]), [10, 0, 20]);
    assert.deepEqual(allocate(0, [10, 20]), [0, 0]);
  });

  test('uses min(capacity, total backlog), never more than a backlog', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e4, noNaN: true }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 8 }),
        (capacity, backlogs) => {
          const out = allocate(capacity, backlogs);
          const used = out.reduce((a, b) => a + b, 0);
          const total = backlogs.reduce((a, b) => a + b, 0);
          return (
            out.every((x, i) => x >= 0 && x <= backlogs[i]! + 1e-6) &&
            Math.abs(used - Math.min(capacity, total)) < 1e-6
          );
        },
      ),
    );
  });
});

describe('consumeStep', () => {
  const instances: ConsumerInstance[] = [
    { name: 'a', partitions: [0, 1], cpuCores: 2 },
    { name: 'b', partitions: [2], cpuCores: 0.5 },
  ];

  test('consumes cpu × ratePerCore per second, split over the instance partitions, up to the log end', () => {
    const committed = [0, 0, 0, 0];
    const carry = [0, 0, 0, 0];
    const changed = consumeStep(instances, 100, 1, committed, [1000, 30, 1000, 1000], carry);
    // a: 200 msg/s over partitions 0 and 1; partition 1 only has 30, so 0 gets 170. b: 50 msg/s.
    // Partition 3 belongs to no instance: nothing consumes it.
    assert.deepEqual(committed, [170, 30, 50, 0]);
    assert.deepEqual(changed, [0, 1, 2]);
  });

  test('fractions carry over between steps; a caught-up partition keeps none', () => {
    const committed = [0, 0, 0];
    const carry = [0, 0, 0];
    const one: ConsumerInstance[] = [{ name: 'x', partitions: [0], cpuCores: 0.01 }];
    let total = 0;
    for (let i = 0; i < 10; i++) {
      consumeStep(one, 100, 0.3, committed, [1e6, 0, 0], carry); // 0.3 messages a step
      total = committed[0]!;
    }
    assert.equal(total, 3);
    consumeStep(one, 1e6, 1, committed, [5, 0, 0], carry);
    assert.deepEqual([committed[0], carry[0]], [5, 0]);
  });

  test('a Deployment scaled to zero or without CPU consumes nothing', () => {
    const committed = [0];
    consumeStep([{ name: 'z', partitions: [0], cpuCores: 0 }], 100, 10, committed, [500], [0]);
    assert.deepEqual(committed, [0]);
  });
});

describe('instanceOf (a Deployment of the operator)', () => {
  const deployment = (annotations: Record<string, string>, cpu: Record<string, string>, replicas = 1) =>
    ({
      metadata: { name: 'c-0', annotations },
      spec: {
        replicas,
        selector: {},
        template: { spec: { containers: [{ name: 'c', resources: cpu }, { name: 'sidecar' }] } },
      },
    }) as V1Deployment;
  const partition = 'konsumerator.lwolf.org/partition';

  test('partitions from the annotation, cores from the first container request, else its limit', () => {
    assert.deepEqual(
      instanceOf(deployment({ [partition]: '0,1,2' }, { requests: { cpu: '500m' } } as never)),
      {
        name: 'c-0',
        partitions: [0, 1, 2],
        cpuCores: 0.5,
      },
    );
    assert.equal(
      instanceOf(deployment({ [partition]: '3' }, { limits: { cpu: '2' } } as never))?.cpuCores,
      2,
    );
  });

  test('no partition annotation: not an instance; zero replicas: no CPU', () => {
    assert.equal(instanceOf(deployment({}, { requests: { cpu: '1' } } as never)), undefined);
    assert.equal(
      instanceOf(deployment({ [partition]: '1' }, { requests: { cpu: '1' } } as never, 0))?.cpuCores,
      0,
    );
  });
});

describe('readyPodsPerInstance (the pods of the operator Deployments)', () => {
  const pod = (
    name: string,
    deployment: string,
    opts: { ready?: boolean; deleting?: boolean; applied?: string; spec?: string } = {},
  ) =>
    ({
      metadata: {
        name,
        labels: { 'pod-template-hash': 'abc12' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            uid: 'u',
            controller: true,
            kind: 'ReplicaSet',
            name: `${deployment}-abc12`,
          },
        ],
        ...(opts.deleting ? { deletionTimestamp: new Date() } : {}),
      },
      spec: { containers: [{ name: 'c', resources: { requests: { cpu: opts.spec ?? '100m' } } }] },
      status: {
        conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
        ...(opts.applied
          ? { containerStatuses: [{ name: 'c', resources: { requests: { cpu: opts.applied } } }] }
          : {}),
      },
    }) as V1Pod;
  const instances: ConsumerInstance[] = [
    { name: 'c-0', partitions: [0], cpuCores: 1 },
    { name: 'c-1', partitions: [1], cpuCores: 1 },
  ];

  test('each instance with its ready pods at the CPU the node applied, else the spec', () => {
    const pods = [
      pod('c-1-x', 'c-1', { applied: '2', spec: '3' }),
      pod('c-0-x', 'c-0', { spec: '500m' }),
      pod('c-0-y', 'c-0', { applied: '250m' }),
    ];
    assert.deepEqual(readyPodsPerInstance(instances, pods), [
      {
        instance: instances[0],
        pods: [
          { name: 'c-0-x', cpuCores: 0.5 },
          { name: 'c-0-y', cpuCores: 0.25 },
        ],
      },
      { instance: instances[1], pods: [{ name: 'c-1-x', cpuCores: 2 }] },
    ]);
  });

  test('pods not ready, being deleted or of no listed instance are left out', () => {
    const pods = [
      pod('a', 'c-0', { ready: false }),
      pod('b', 'c-0', { deleting: true }),
      pod('c', 'other'),
      { ...pod('d', 'c-1'), metadata: { name: 'd' } } as V1Pod, // no owner: not of a Deployment
    ];
    assert.deepEqual(readyPodsPerInstance(instances, pods), [
      { instance: instances[0], pods: [] },
      { instance: instances[1], pods: [] },
    ]);
  });
});
