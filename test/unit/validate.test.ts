import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConsumer } from '../../src/api/validate.js';
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
