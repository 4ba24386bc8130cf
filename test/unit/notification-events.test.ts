// Which scaling events carry a webhook notification: scale changes always, the rest on their
// transitions only (stall starts, metrics lost, metrics back), read from the conditions the last
// reconcile stored; and the event sink hands the notification on besides recording the event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import type { Condition, Consumer, ConsumerSpec } from '../../src/api/schema.js';
import { autoscaleStep, ScalingMemory } from '../../src/controller/autoscaling.js';
import { MetricsSources } from '../../src/controller/metrics-sources.js';
import { NotifyingEventSink } from '../../src/controller/notifications.js';
import type { EventSink } from '../../src/controller/events.js';
import { Notifier } from '../../src/notify/notifier.js';
import type { CloudEvent } from '../../src/notify/cloudevent.js';
import type { AttemptOutcome } from '../../src/notify/retry.js';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import { silentLogger } from '../../src/util/log.js';
import { baseSpec, consumer } from '../support/consumers.js';

const now = new Date('2026-03-01T10:00:00Z');
type Sample = { production: number; consumption: number; behind: number };

function staticSpec(partition1: Sample): ConsumerSpec {
  return baseSpec({
    numPartitions: 2,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'static',
      predictor: 'naive',
      pendingScaleUpDuration: '0s',
      static: {
        partitions: { '0': { production: 10, consumption: 10, behind: 0 }, '1': partition1 },
        minSyncPeriod: '1s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '1m',
        criticalLag: '1h',
        recoveryTime: '10m',
      },
    },
  });
}

const deploymentsOf = (spec: ConsumerSpec): V1Deployment[] =>
  planConsumer({ consumer: consumer(spec), deployments: [], now }).actions.map((a) =>
    a.type === 'create' ? a.deployment : assert.fail('only creates'),
  );

const withConditions = (c: Consumer, conditions: Array<Pick<Condition, 'type' | 'status'>>): Consumer => ({
  ...c,
  status: {
    conditions: conditions.map((x) => ({
      ...x,
      reason: 'R',
      message: 'm',
      lastTransitionTime: now.toISOString(),
    })),
  },
});

async function step(c: Consumer, deployments: V1Deployment[]) {
  const sources = new MetricsSources();
  try {
    return await autoscaleStep(c, deployments, sources, new ScalingMemory(), now);
  } finally {
    await sources.closeAll();
  }
}

const notified = (s: Awaited<ReturnType<typeof step>>) =>
  s.events.filter((e) => e.notification).map((e) => [e.reason, e.notification!.type]);

test('a scale-up carries its notification with sizes, partitions and actuation', async () => {
  const calm = { production: 10, consumption: 10, behind: 0 };
  const spec = staticSpec({ production: 150, consumption: 100, behind: 150 * 600 });
  const s = await step(consumer(spec), deploymentsOf(staticSpec(calm)));
  const up = s.events.find((e) => e.reason === 'ScaledUp')!;
  assert.equal(up.notification!.type, 'instance.scaled.up');
  assert.equal(up.notification!.subject, 'orders-1');
  assert.deepEqual(
    { ...up.notification!.data, reason: undefined },
    {
      instance: 1,
      deployment: 'orders-1',
      partitions: [1],
      from: { cpuRequest: '100m', cpuLimit: '100m', memoryRequest: '100M', memoryLimit: '100M' },
      to: { cpuRequest: '1', cpuLimit: '1', memoryRequest: '300M', memoryLimit: '300M' },
      reason: undefined,
      lagSeconds: 600,
      actuation: 'InPlaceOrRollout',
    },
  );
  // The policy's maximum (baseSpec: 1 core) keeps 2 of the 3 cores asked for: saturated too.
  assert.deepEqual(notified(s), [
    ['ScaledUp', 'instance.scaled.up'],
    ['Saturated', 'instance.saturated'],
  ]);
});

test('a stall is notified when it starts, not while it lasts', async () => {
  const stalled = staticSpec({ production: 10, consumption: 0, behind: 5000 });
  const deployments = deploymentsOf(staticSpec({ production: 10, consumption: 10, behind: 0 }));
  const first = await step(
    withConditions(consumer(stalled), [{ type: 'Stalled', status: 'False' }]),
    deployments,
  );
  assert.deepEqual(notified(first), [['ConsumerStalled', 'consumer.stalled']]);
  assert.deepEqual(first.events.find((e) => e.notification)!.notification!.data, { partitions: [1] });
  const again = await step(
    withConditions(consumer(stalled), [{ type: 'Stalled', status: 'True' }]),
    deployments,
  );
  assert.ok(
    again.events.some((e) => e.reason === 'ConsumerStalled'),
    'the event stays',
  );
  assert.deepEqual(notified(again), [], 'no second notification');
});

test('metrics lost once, and back once', async () => {
  // A Prometheus address where nothing listens: the read fails.
  const lostSpec = baseSpec({
    numPartitions: 1,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'prometheus',
      prometheus: {
        address: ['http://127.0.0.1:1'],
        offset: { query: 'lag', partitionLabel: 'partition' },
        production: { query: 'production', partitionLabel: 'partition' },
        consumption: { query: 'consumption', partitionLabel: 'partition' },
        minSyncPeriod: '1s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '1m',
        criticalLag: '1h',
        recoveryTime: '10m',
      },
    },
  });
  const lost = await step(consumer(lostSpec), []);
  assert.deepEqual(notified(lost), [['MetricsUnavailable', 'consumer.metrics.lost']]);
  assert.equal(lost.events[0]!.notification!.data.reason, 'ReadFailed');
  const stillLost = await step(
    withConditions(consumer(lostSpec), [{ type: 'MetricsAvailable', status: 'False' }]),
    [],
  );
  assert.deepEqual(notified(stillLost), []);

  const calm = staticSpec({ production: 10, consumption: 10, behind: 0 });
  const back = await step(
    withConditions(consumer(calm), [{ type: 'MetricsAvailable', status: 'False' }]),
    deploymentsOf(calm),
  );
  assert.deepEqual(notified(back), [['MetricsRestored', 'consumer.metrics.restored']]);
  const steady = await step(
    withConditions(consumer(calm), [{ type: 'MetricsAvailable', status: 'True' }]),
    deploymentsOf(calm),
  );
  assert.deepEqual(notified(steady), []);
});

test('the event sink records every event and notifies only those that carry a notification', async () => {
  const recorded: string[] = [];
  const inner: EventSink = { emit: (_c, _t, reason) => recorded.push(reason) };
  const sent: CloudEvent[] = [];
  const notifier = new Notifier(
    [{ name: 'r', url: new URL('http://receiver.example/') }],
    { attempt() {}, dropped() {}, depth() {} },
    silentLogger(),
    {
      send: async (_url, body): Promise<AttemptOutcome> => {
        sent.push(JSON.parse(body) as CloudEvent);
        return { kind: 'delivered', status: 200 };
      },
    },
  );
  const sink = new NotifyingEventSink(inner, notifier, () => now);
  const c = consumer(baseSpec());
  sink.emit(c, 'Normal', 'Plain', 'no notification');
  sink.emit(c, 'Warning', 'ConsumerStalled', 'm', { type: 'consumer.stalled', data: { partitions: [3] } });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(recorded, ['Plain', 'ConsumerStalled']);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.type, 'org.lwolf.konsumerator.consumer.stalled');
  assert.equal(sent[0]!.time, now.toISOString());
  assert.deepEqual(sent[0]!.data, {
    consumer: { namespace: 'default', name: 'orders', uid: 'uid-orders' },
    partitions: [3],
  });
  await notifier.close();
});
