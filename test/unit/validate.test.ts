import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConsumer } from '../../src/api/validate.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { baseSpec, consumer } from '../support/consumers.js';

test('a valid Consumer has no problems', () => {
  assert.deepEqual(validateConsumer(consumer()), { errors: [], warnings: [] });
});

test('what the schema cannot express is caught with the field named', () => {
  const elsewhere = consumer(baseSpec({ namespace: 'other' }), 'orders', 'default');
  assert.match(validateConsumer(elsewhere).errors[0]!.field, /spec\.namespace/);
  const spec = baseSpec();
  spec.deploymentTemplate.selector.matchLabels = { app: 'something-else' };
  assert.equal(
    validateConsumer(consumer(spec)).errors[0]!.field,
    'spec.deploymentTemplate.selector.matchLabels',
  );
  const noSuchContainer = baseSpec({ autoscaler: { mode: 'none', container: 'ghost' } });
  assert.equal(validateConsumer(consumer(noSuchContainer)).errors[0]!.field, 'spec.autoscaler.container');
  // Longer than the CRD allows: specs that bypass the schema (guest-mode ConfigMaps) are checked too.
  const long = baseSpec({ name: 'x'.repeat(250), numPartitions: 100000 });
  assert.equal(validateConsumer(consumer(long)).errors[0]!.field, 'spec.name');
});

test('harmless oddities are warnings, not errors', () => {
  const spec = baseSpec();
  spec.resourcePolicy.containerPolicies = [{ containerName: 'busybox-info' }];
  const result = validateConsumer(consumer(spec));
  assert.deepEqual(result.errors, []);
  assert.match(result.warnings[0]!.message, /busybox-info/);
});

test('selectors: empty, or with expressions the pod labels do not meet, are errors', () => {
  const empty = baseSpec();
  empty.deploymentTemplate.selector = {};
  assert.match(validateConsumer(consumer(empty)).errors[0]!.message, /is empty/);
  const expressions = baseSpec();
  expressions.deploymentTemplate.selector = {
    matchExpressions: [
      { key: 'app', operator: 'In', values: ['orders-consumer'] },
      { key: 'tier', operator: 'DoesNotExist' },
      { key: 'app', operator: 'NotIn', values: ['orders-consumer'] },
      { key: 'zone', operator: 'Exists' },
    ],
  };
  assert.deepEqual(
    validateConsumer(consumer(expressions)).errors.map((e) => e.field),
    [
      'spec.deploymentTemplate.selector.matchExpressions[2]',
      'spec.deploymentTemplate.selector.matchExpressions[3]',
    ],
  );
});

test("a pod template pruned by the original's CRD: the selector mismatch names that cause and the fix", () => {
  const pruned = baseSpec();
  pruned.deploymentTemplate.template.metadata = {};
  const errors = validateConsumer(consumer(pruned)).errors;
  assert.deepEqual(
    errors.map((e) => e.field),
    ['spec.deploymentTemplate.selector.matchLabels', 'spec.deploymentTemplate.template.metadata'],
  );
  assert.match(errors[0]!.message, /selects app=orders-consumer, which the pod template labels do not carry/);
  assert.match(errors[1]!.message, /original operator's CRD/);
  assert.match(errors[1]!.message, /kubectl apply --server-side --force-conflicts -f deploy\/crd\.yaml/);
  assert.match(errors[1]!.message, /apply this Consumer again/);
  // No metadata at all reads the same.
  delete pruned.deploymentTemplate.template.metadata;
  assert.equal(validateConsumer(consumer(pruned)).errors.length, 2);
  // Labels that merely differ, or a guest-mode ConfigMap (no CRD), get no such hint.
  const mismatched = baseSpec();
  mismatched.deploymentTemplate.template.metadata = { labels: { app: 'other' } };
  assert.deepEqual(
    validateConsumer(consumer(mismatched)).errors.map((e) => e.field),
    ['spec.deploymentTemplate.selector.matchLabels'],
  );
  const fromConfigMap = { ...consumer(pruned), apiVersion: 'v1', kind: 'ConfigMap' };
  assert.deepEqual(
    validateConsumer(fromConfigMap).errors.map((e) => e.field),
    ['spec.deploymentTemplate.selector.matchLabels'],
  );
});

test('Deployment names leave room for the ReplicaSet hash: 242 characters at most', () => {
  const fits = baseSpec({ name: 'n'.repeat(240), numPartitions: 2, numPartitionsPerInstance: 1 });
  assert.deepEqual(validateConsumer(consumer(fits)).errors, []);
  const tooLong = baseSpec({ name: 'n'.repeat(240), numPartitions: 11, numPartitionsPerInstance: 1 });
  assert.equal(validateConsumer(consumer(tooLong)).errors[0]!.field, 'spec.name');
});

/** An autoscaler with metrics (static), for the warnings that only concern autoscaling. */
const staticAutoscaler: ConsumerSpec['autoscaler'] = {
  mode: 'static',
  static: {
    partitions: {},
    minSyncPeriod: '1s',
    ratePerCore: 100,
    ramPerCore: '100M',
    tolerableLag: '5s',
    criticalLag: '1m',
    recoveryTime: '1m',
  },
};

test('warnings: more partitions per instance than partitions, env vars the operator sets, a budget below the minimums', () => {
  const spec = baseSpec({ numPartitions: 3, numPartitionsPerInstance: 50 });
  spec.deploymentTemplate.template.spec!.containers[0]!.env = [
    { name: 'KONSUMERATOR_PARTITION', value: 'mine' },
    { name: 'GOMAXPROCS', value: '64' },
  ];
  spec.autoscaler = staticAutoscaler;
  spec.resourcePolicy.globalPolicy = { maxAllowed: { cpu: '50m', memory: '10G' } };
  const { errors, warnings } = validateConsumer(consumer(spec));
  assert.deepEqual(errors, []);
  assert.deepEqual(
    warnings.map((w) => w.field),
    [
      'spec.numPartitionsPerInstance',
      'spec.deploymentTemplate.template.spec.containers[consumer].env',
      'spec.resourcePolicy.globalPolicy.maxAllowed.cpu',
    ],
  );
  assert.match(warnings[1]!.message, /sets KONSUMERATOR_PARTITION, GOMAXPROCS/);
});

test('warning: a budget below the minimums counts every pod of every instance', () => {
  const spec = baseSpec({ numPartitions: 3, numPartitionsPerInstance: 1 });
  spec.autoscaler = staticAutoscaler;
  spec.resourcePolicy.globalPolicy = { maxAllowed: { cpu: '500m' } };
  const budgetWarnings = (replicas: number) =>
    validateConsumer(consumer({ ...spec, replicas })).warnings.filter((w) =>
      w.field.includes('globalPolicy'),
    );
  assert.deepEqual(budgetWarnings(1), [], '3 pods × 100m fit 500m');
  assert.deepEqual(
    budgetWarnings(2).map((w) => w.message),
    [
      'is 500m, below 3 instance(s) × 2 pod(s) × minAllowed.cpu 100m of container consumer: the instances stay at their minimum, above the budget',
    ],
  );
});
