import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import { trimDeployment } from '../../src/controller/trim.js';

const deployment = (ownerKind?: string): V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'orders-0',
    namespace: 'ns',
    managedFields: [{ manager: 'konsumerator', operation: 'Apply' }],
    ...(ownerKind
      ? {
          ownerReferences: [
            { apiVersion: 'v1', kind: ownerKind, name: 'orders', uid: 'u', controller: true },
          ],
        }
      : {}),
  },
  spec: { selector: {}, template: { spec: { containers: [{ name: 'c' }] } } },
  status: {
    observedGeneration: 2,
    replicas: 1,
    updatedReplicas: 1,
    availableReplicas: 1,
    conditions: [{ type: 'Available', status: 'True' }],
  },
});

test('a managed Deployment keeps its spec and rollout counters, not managedFields or conditions', () => {
  const trimmed = trimDeployment(deployment('Consumer'));
  assert.equal(trimmed.metadata!.managedFields, undefined);
  assert.deepEqual(trimmed.spec!.template.spec!.containers, [{ name: 'c' }]);
  assert.deepEqual(trimmed.status, {
    observedGeneration: 2,
    replicas: 1,
    updatedReplicas: 1,
    availableReplicas: 1,
  });
});

test('a guest-mode Deployment (controlled by a ConfigMap) is kept whole too', () => {
  assert.ok(trimDeployment(deployment('ConfigMap')).spec);
});

test('a Deployment no Consumer controls keeps only its metadata', () => {
  for (const trimmed of [trimDeployment(deployment()), trimDeployment(deployment('ReplicaSet'))]) {
    assert.equal(trimmed.spec, undefined);
    assert.equal(trimmed.status, undefined);
    assert.equal(trimmed.metadata!.name, 'orders-0');
    assert.equal(trimmed.metadata!.managedFields, undefined);
  }
});
