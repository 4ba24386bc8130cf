// The shipped RBAC is enough: the operator, configured as in a pod (its ServiceAccount's token from
// the TokenRequest API, the CA and namespace as files), reconciles a Consumer; and it is refused
// what its role does not grant.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { Operator } from '../../src/controller/operator.js';
import { describeApiError } from '../../src/controller/kube.js';
import { inClusterAccess, type ClusterAccess } from '../../src/kube/config.js';
import { kubeConfig, newNamespace, deleteTestNamespaces, testEnv, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient, startOperator } from '../support/operator.js';
import { ClusterView } from '../support/cluster.js';
import { baseSpec } from '../support/consumers.js';
import { OPERATOR_NAMESPACE, operatorServiceAccountConfig } from '../support/service-account.js';

let operator: Operator | undefined;
let serviceAccountConfig: KubeConfig;
let serviceAccountDir: string | undefined;

before(async () => {
  const admin = kubeConfig();
  await installCrd(admin);
  // Namespace, ServiceAccount, ClusterRole and binding exactly as `konsumerator manifests` ships them.
  serviceAccountConfig = await operatorServiceAccountConfig();
});
after(async () => {
  await deleteTestNamespaces();
  await operator?.stop();
  if (serviceAccountDir) rmSync(serviceAccountDir, { recursive: true, force: true });
});

/**
 * What a pod of the operator finds: the ServiceAccount's token, the cluster's CA and the namespace
 * as files, and the API server's address in the environment.
 */
function podServiceAccount(): ClusterAccess {
  const dir = (serviceAccountDir = mkdtempSync(join(tmpdir(), 'serviceaccount-')));
  writeFileSync(join(dir, 'token'), serviceAccountConfig.getCurrentUser()!.token!);
  copyFileSync(testEnv().caFile, join(dir, 'ca.crt'));
  writeFileSync(join(dir, 'namespace'), OPERATOR_NAMESPACE);
  const server = new URL(testEnv().apiServerUrl);
  return inClusterAccess(
    { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port },
    dir,
  );
}

test('the operator reconciles with only the shipped ClusterRole, configured as in a pod', async () => {
  operator = await startOperator(podServiceAccount());
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

test('namespace editors may manage Consumers and viewers may read them, through the built-in roles', async () => {
  const admin = kubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const ns = await newNamespace('rbac-tenants');
  /** A ServiceAccount of `ns` bound there to the built-in ClusterRole `role`, as a KubeConfig. */
  const member = async (role: 'edit' | 'view'): Promise<KubeConfig> => {
    const name = `${role}or`;
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
      },
    });
    const token = await core.createNamespacedServiceAccountToken({
      name,
      namespace: ns,
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
    return config;
  };
  const editor = new ConsumerClient(await member('edit'));
  const viewer = new ConsumerClient(await member('view'));
  // The controller-manager aggregates the shipped ClusterRoles into edit and view shortly after.
  await waitFor('an editor creating a Consumer', () =>
    editor.create(ns, 'by-editor', baseSpec({ namespace: ns })).then(
      () => true,
      () => false,
    ),
  );
  await waitFor('a viewer reading it', () =>
    viewer.get(ns, 'by-editor').then(
      (c) => c.metadata.name === 'by-editor',
      () => false,
    ),
  );
  // It is the shipped ClusterRoles that gave the built-in roles these rights.
  const edit = await rbac.readClusterRole({ name: 'edit' });
  assert.ok(
    edit.rules?.some((r) => r.apiGroups?.includes('konsumerator.lwolf.org') && r.verbs.includes('create')),
    'the edit ClusterRole aggregates konsumerator-consumers-edit',
  );
  await assert.rejects(
    viewer.create(ns, 'by-viewer', baseSpec({ namespace: ns })),
    (e) => describeApiError(e).code === 403,
  );
  // kubectl scale consumer/<name>: editors may, viewers may read the Scale only.
  const scale = (client: ConsumerClient, replicas: number) =>
    client.custom.patchNamespacedCustomObjectScale(
      {
        group: 'konsumerator.lwolf.org',
        version: 'v1',
        plural: 'consumers',
        namespace: ns,
        name: 'by-editor',
        body: { spec: { replicas } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  await scale(editor, 0);
  assert.equal((await viewer.get(ns, 'by-editor')).spec.replicas, 0);
  await assert.rejects(scale(viewer, 1), (e) => describeApiError(e).code === 403);
  await editor.custom.deleteNamespacedCustomObject({
    group: 'konsumerator.lwolf.org',
    version: 'v1',
    plural: 'consumers',
    namespace: ns,
    name: 'by-editor',
  });
  // Neither may touch Consumers of another namespace.
  await assert.rejects(
    editor.create('default', 'elsewhere', baseSpec({ namespace: 'default' })),
    (e) => describeApiError(e).code === 403,
  );
});
