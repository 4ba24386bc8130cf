// Limits a Consumer's author cannot exceed (src/controller/limits.ts), ResourceQuota refusals read
// from the API server's message (src/controller/quota.ts), and the status they lead to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Consumer, ConsumerSpec } from '../../src/api/schema.js';
import { checkTenantLimits, DEFAULT_TENANT_LIMITS } from '../../src/controller/limits.js';
import { describeQuotaRefusal, parseQuotaRefusal } from '../../src/controller/quota.js';
import { buildStatus } from '../../src/plan/status.js';
import { baseSpec } from '../support/consumers.js';

function consumer(name: string, created: string, spec: Partial<ConsumerSpec> = {}): Consumer {
  return {
    metadata: {
      name,
      namespace: 'team',
      uid: `uid-${name}`,
      creationTimestamp: created as unknown as Date, // custom objects carry the RFC 3339 string
    },
    spec: baseSpec({ name, ...spec }),
  };
}

test('instances per Consumer: a spec asking for more is refused, saying how many and the flag', () => {
  const limits = { maxInstancesPerConsumer: 10, maxConsumersPerNamespace: 5 };
  const ok = consumer('ok', '2030-01-01T00:00:00Z', { numPartitions: 20, numPartitionsPerInstance: 2 });
  assert.equal(checkTenantLimits(ok, [ok], limits), undefined, '10 instances: at the limit');
  const big = consumer('big', '2030-01-01T00:00:00Z', { numPartitions: 21, numPartitionsPerInstance: 2 });
  const refusal = checkTenantLimits(big, [big], limits)!;
  assert.equal(refusal.reason, 'InstanceLimitExceeded');
  assert.match(
    refusal.message,
    /asks for 11 instances \(numPartitions 21, 2 per instance\); the operator allows at most 10 per Consumer \(--max-instances-per-consumer\): nothing of it is created, changed or deleted/,
  );
  // 0 per instance counts as 1, as the plan does.
  const ones = consumer('ones', '2030-01-01T00:00:00Z', { numPartitions: 11, numPartitionsPerInstance: 0 });
  assert.match(
    checkTenantLimits(ones, [ones], limits)!.message,
    /11 instances \(numPartitions 11, 1 per instance\)/,
  );
  assert.equal(DEFAULT_TENANT_LIMITS.maxInstancesPerConsumer, 1000);
});

test('Consumers per namespace: the oldest are reconciled, the newer ones refused; deleted ones do not count', () => {
  const limits = { maxInstancesPerConsumer: 1000, maxConsumersPerNamespace: 2 };
  const a = consumer('a', '2030-01-01T00:00:01Z');
  const b = consumer('b', '2030-01-01T00:00:02Z');
  const c = consumer('c', '2030-01-01T00:00:02Z'); // same second as b: by name
  const d = consumer('d', '2030-01-01T00:00:00Z');
  d.metadata.deletionTimestamp = new Date();
  const all = [c, b, a, d];
  assert.equal(checkTenantLimits(a, all, limits), undefined);
  assert.equal(checkTenantLimits(b, all, limits), undefined);
  const refusal = checkTenantLimits(c, all, limits)!;
  assert.equal(refusal.reason, 'ConsumerLimitExceeded');
  assert.match(
    refusal.message,
    /namespace team has 3 Consumers; the operator reconciles the 2 oldest \(--max-consumers-per-namespace\) and this is not one of them/,
  );
  // One gone: c is within the limit again.
  assert.equal(checkTenantLimits(c, [c, b], limits), undefined);
});

test('a refused Consumer: Ready and Progressing False, Degraded True, counters kept', () => {
  const c = consumer('big', '2030-01-01T00:00:00Z');
  c.status = { expected: 4, running: 4 } as Consumer['status'];
  const status = buildStatus(
    c,
    undefined,
    { refused: { reason: 'InstanceLimitExceeded', message: 'too many' } },
    new Date('2030-01-01T00:00:00Z'),
  );
  assert.deepEqual(
    status.conditions!.map((x) => [x.type, x.status, x.reason]),
    [
      ['Ready', 'False', 'InstanceLimitExceeded'],
      ['Progressing', 'False', 'InstanceLimitExceeded'],
      ['Degraded', 'True', 'InstanceLimitExceeded'],
    ],
  );
  assert.equal(status.expected, 4);
});

test("a ResourceQuota refusal, from the API server's message: which quota, how far over", () => {
  const message =
    'deployments.apps "orders-3" is forbidden: exceeded quota: deployments, requested: count/deployments.apps=1, ' +
    'used: count/deployments.apps=2, limited: count/deployments.apps=2';
  const refusal = parseQuotaRefusal(403, message)!;
  assert.deepEqual(refusal, {
    quota: 'deployments',
    resources: [{ resource: 'count/deployments.apps', requested: '1', used: '2', limited: '2' }],
  });
  assert.equal(
    describeQuotaRefusal(refusal, 'team'),
    'ResourceQuota team/deployments: count/deployments.apps 2 of 2 used, 1 more asked (1 over)',
  );
  const several = parseQuotaRefusal(
    403,
    'x is forbidden: exceeded quota: compute, requested: limits.cpu=2,requests.cpu=1, used: limits.cpu=3,requests.cpu=1, limited: limits.cpu=4,requests.cpu=2',
  )!;
  assert.equal(
    describeQuotaRefusal(several, 'team'),
    'ResourceQuota team/compute: limits.cpu 3 of 4 used, 2 more asked (1 over); requests.cpu 1 of 2 used, 1 more asked (0 over)',
  );
  assert.equal(
    parseQuotaRefusal(403, 'deployments.apps "x" is forbidden: User "u" cannot create'),
    undefined,
  );
  assert.equal(parseQuotaRefusal(422, message), undefined);
});

test('a write refused by a quota makes Degraded say QuotaExceeded', () => {
  const c = consumer('q', '2030-01-01T00:00:00Z');
  const plan = {
    actions: [],
    clashes: [],
    notRolledOut: [],
    deletionsWaiting: [],
    recreating: [],
    replacedToDelete: [],
    counts: { expected: 1, running: 0, paused: 0, missing: 1, outdated: 0, redundant: 0 },
  };
  const status = buildStatus(
    c,
    plan as unknown as Parameters<typeof buildStatus>[1],
    { failures: ['create of Deployment q-0 refused by ResourceQuota team/d: …'], quotaExceeded: true },
    new Date(),
  );
  const degraded = status.conditions!.find((x) => x.type === 'Degraded')!;
  assert.equal(degraded.reason, 'QuotaExceeded');
  assert.match(degraded.message, /refused by ResourceQuota team\/d/);
  const ready = status.conditions!.find((x) => x.type === 'Ready')!;
  assert.equal(ready.reason, 'QuotaExceeded');
});
