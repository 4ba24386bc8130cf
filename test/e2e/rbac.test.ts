// The shipped RBAC is enough: the operator, authenticated as its own ServiceAccount with a token
// from the TokenRequest API, reconciles a Consumer; and it is refused what its role does not grant.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Operator } from '../../src/controller/operator.js';
import { describeApiError } from '../../src/controller/kube.js';
import { kubeConfig, newNamespace, deleteTestNamespaces } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient, startOperator } from '../support/operator.js';
import { ClusterView } from '../support/cluster.js';
import { baseSpec } from '../support/consumers.js';
import { operatorServiceAccountConfig } from '../support/service-account.js';

let operator: Operator | undefined;
let serviceAccountConfig: KubeConfig;

before(async () => {
  const admin = kubeConfig();
  await installCrd(admin);
  // Namespace, ServiceAccount, ClusterRole and binding exactly as `konsumerator manifests` ships them.
  serviceAccountConfig = await operatorServiceAccountConfig();
});
after(async () => {
  await deleteTestNamespaces();
  await operator?.stop();
});

test('the operator reconciles with only the shipped ClusterRole', async () => {
  operator = await startOperator(serviceAccountConfig);
  const ns = await newNamespace('rbac');
  const consumers = new ConsumerClient();
  await consumers.create(
    ns,
    'orders',
    baseSpec({ namespace: ns, numPartitions: 4, numPartitionsPerInstance: 2 }),
  );
  await consumers.waitReady(ns, 'orders');
  await new ClusterView().waitAllRunning(ns, 2);
  // Events are recorded too (the role grants events create).
  const admin = kubeConfig().makeApiClient(CoreV1Api);
  const events = (await admin.listNamespacedEvent({ namespace: ns })).items.filter(
    (e) => e.source?.component === 'konsumerator',
  );
  assert.deepEqual(events.map((e) => e.reason).sort(), ['Created', 'Created']);
});

test('the operator identity may not read Secrets or change Consumers', async () => {
  const core = serviceAccountConfig.makeApiClient(CoreV1Api);
  const forbidden = (e: unknown) => describeApiError(e).code === 403;
  // No access to Secrets at all: not cluster-wide, not in a namespace, not by name, not a watch.
  const ns = await newNamespace('rbac-secrets');
  const admin = kubeConfig().makeApiClient(CoreV1Api);
  await admin.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'password' }, stringData: { password: 'hunter2' } },
  });
  await assert.rejects(core.listSecretForAllNamespaces(), forbidden);
  await assert.rejects(core.listSecretForAllNamespaces({ watch: true }), forbidden);
  await assert.rejects(core.listNamespacedSecret({ namespace: ns }), forbidden);
  await assert.rejects(core.readNamespacedSecret({ namespace: ns, name: 'password' }), forbidden);
  const consumers = new ConsumerClient(serviceAccountConfig);
  await assert.rejects(
    consumers.create('default', 'forbidden', baseSpec({ namespace: 'default' })),
    (e) => describeApiError(e).code === 403,
  );
});
