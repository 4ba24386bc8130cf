// `konsumerator status` rows from the objects the API server holds, and the human quantities
// they are shown in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import { consumerReport, renderReport } from '../../src/cli/ops-status.js';
import { parseOutput } from '../../src/cli/ops.js';
import { humanBytes, humanCpu, humanDuration, humanMemory, humanMillicores } from '../../src/util/human.js';
import { baseSpec, consumer } from '../support/consumers.js';

const now = new Date('2026-01-01T12:00:00Z');

test('human quantities: binary memory units, cores or millicores, two-unit durations', () => {
  assert.equal(humanBytes(614465536), '586Mi');
  assert.equal(humanMemory('614465536'), '586Mi');
  assert.equal(humanMemory('1Gi'), '1Gi');
  assert.equal(humanMemory('300M'), '286Mi');
  assert.equal(humanMemory(512), '512');
  assert.equal(humanMemory(undefined), '-');
  assert.equal(humanCpu('1500m'), '1.5');
  assert.equal(humanCpu('250m'), '250m');
  assert.equal(humanCpu(2), '2');
  assert.equal(humanMillicores(3333), '3.33');
  assert.equal(humanDuration(45_000), '45s');
  assert.equal(humanDuration(200_000), '3m20s');
  assert.equal(humanDuration(5 * 3600_000 + 12 * 60_000 + 5000), '5h12m');
  assert.equal(humanDuration(2 * 86400_000 + 4 * 3600_000), '2d4h');
});

function fixture() {
  const c = consumer(baseSpec({ namespace: 'ns', numPartitions: 4, numPartitionsPerInstance: 2 }));
  c.status = {
    lastSyncTime: '2026-01-01T11:59:30Z',
    lastSyncState: {
      '0': { productionRate: 100, consumptionRate: 90, messageBehind: 6000 },
      '1': { productionRate: 50, consumptionRate: 50, messageBehind: 0 },
      '2': { productionRate: 10 },
    },
  };
  const deployments: V1Deployment[] = planConsumer({ consumer: c, deployments: [], now }).actions.flatMap(
    (a) => (a.type === 'create' ? [a.deployment] : []),
  );
  const first = deployments[0]!;
  first.metadata!.annotations!['konsumerator.lwolf.org/scaling-status'] = 'PENDING_SCALE_UP';
  first.metadata!.annotations!['konsumerator.lwolf.org/scaling-status-change'] = '2026-01-01T11:50:00Z';
  first.metadata!.annotations!['konsumerator.lwolf.org/resources'] =
    '{"container":"consumer","requests":{"cpu":"1500m","memory":"614465536"}}';
  deployments[1]!.metadata!.annotations!['konsumerator.lwolf.org/disable-autoscaler'] = '';
  const pod = (name: string, started: string, restarts: number, ready: boolean): V1Pod => ({
    metadata: {
      name: `${name}-abc-x${restarts}`,
      labels: { 'pod-template-hash': 'abc' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-abc`, uid: 'u', controller: true },
      ],
    },
    status: {
      phase: 'Running',
      startTime: new Date(started),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      containerStatuses: [{ name: 'consumer', restartCount: restarts, ready, image: '', imageID: '' }],
    },
  });
  const pods = [
    pod('orders-0', '2026-01-01T10:00:00Z', 2, true),
    pod('orders-1', '2026-01-01T11:59:00Z', 0, false),
  ];
  const events: CoreV1Event[] = [
    {
      metadata: {},
      involvedObject: {},
      reason: 'ScaledUp',
      message: 'orders-0: cpu 100m/1, memory 100M → cpu 1500m/2, memory 150M (lagging, lag 60s)',
      lastTimestamp: new Date('2026-01-01T11:50:00Z'),
    },
    {
      metadata: {},
      involvedObject: {},
      reason: 'ScaledUp',
      message: 'orders-0: older',
      lastTimestamp: new Date('2026-01-01T11:00:00Z'),
    },
  ];
  return { c, deployments, pods, events };
}

test('one row per instance: sizes now, lag per partition, rates, state, last change, pods', () => {
  const { c, deployments, pods, events } = fixture();
  const report = consumerReport(c, deployments, pods, events, now);
  assert.equal(report.instances.length, 2);
  const [a, b] = report.instances;
  assert.equal(a!.partitions, '0-1');
  assert.equal(a!.cpu, '1500m', 'the in-place size, not the template');
  assert.deepEqual(a!.lag, [
    { partition: 0, messages: 6000, seconds: 60 },
    { partition: 1, messages: 0, seconds: 0 },
  ]);
  assert.equal(a!.productionRate, 150);
  assert.equal(a!.consumptionRate, 140);
  assert.equal(a!.state, 'PENDING_SCALE_UP');
  assert.equal(a!.lastChange, '2026-01-01T11:50:00Z');
  assert.match(a!.lastChangeReason!, /^ScaledUp: cpu 100m\/1.*lagging/);
  assert.equal(a!.podsReady, 1);
  assert.equal(a!.uptimeMs, 2 * 3600_000);
  assert.equal(a!.restarts, 2);
  assert.equal(b!.paused, true);
  assert.deepEqual(
    b!.lag.map((l) => [l.messages, l.seconds]),
    [
      [undefined, undefined],
      [undefined, undefined],
    ],
    'partition 2 has a rate but no lag: unknown, never 0',
  );
  assert.equal(b!.productionRate, 10);
  assert.equal(b!.consumptionRate, undefined);

  const text = renderReport(report, now);
  assert.match(text, /metrics read 30s ago/);
  assert.match(
    text,
    /^0\s+0-1\s+1\.5\s+586Mi\s+0:1m\/6000 1:0s\/0\s+150\/s\s+140\/s\s+PENDING_SCALE_UP\s+10m ago\s+1\/1\s+2h\s+2$/m,
  );
  assert.match(text, /RUNNING \(paused\)/);
  assert.match(text, /orders-0: ScaledUp: cpu 100m\/1/);
});

test('a stopped Consumer shows STOPPED; an instance without a Deployment shows MISSING', () => {
  const { c, deployments } = fixture();
  c.spec.replicas = 0;
  const report = consumerReport(c, deployments.slice(0, 1), [], [], now);
  assert.equal(report.stopped, true);
  assert.equal(report.instances[1]!.state, 'MISSING');
  assert.match(renderReport(report, now), /stopped \(0 pods per instance\)/);
  assert.match(renderReport(report, now), /STOPPED/);
});

test('-o takes json or yaml; anything else is refused with the choices', () => {
  assert.equal(parseOutput(undefined), 'table');
  assert.equal(parseOutput('json'), 'json');
  assert.equal(parseOutput('yaml'), 'yaml');
  assert.throws(() => parseOutput('xml'), /use json or yaml/);
});
