// Guest mode (`run --namespace`): the operator, authenticated as its own ServiceAccount bound only
// to the namespaced Role of `konsumerator manifests --guest`, reads Consumers from annotated
// ConfigMaps of its namespace, runs their Deployments exactly as in CRD mode, reports status in
// the ConfigMap's annotations, reports a bad ConfigMap without disturbing the others, and is
// refused everything outside its namespace.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { Operator } from '../../src/controller/operator.js';
import { createLogger, silentLogger } from '../../src/util/log.js';
import { describeApiError } from '../../src/controller/kube.js';
import { GuestAnnotation } from '../../src/api/guest.js';
import { Annotation } from '../../src/api/constants.js';
import type { Condition, ConsumerSpec } from '../../src/api/schema.js';
import { guestManifests, OPERATOR_NAME } from '../../src/cli/manifests.js';
import { applyObjects } from '../../src/cli/install.js';
import { leaseOf } from '../../src/cli/run.js';
import { planConsumer } from '../../src/plan/consumer-plan.js';
import { driftPaths } from '../../src/plan/compare.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, testEnv, waitFor } from '../support/env.js';
import { ClusterView, currentResources } from '../support/cluster.js';
import { baseSpec, consumer } from '../support/consumers.js';
import { apiRequestCounts } from '../support/operator.js';

const admin = kubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const cluster = new ClusterView();
let ns: string;
let operatorConfig: KubeConfig;
let operator: Operator | undefined;

/** A KubeConfig authenticated as the guest ServiceAccount (a token from the TokenRequest API). */
async function guestServiceAccount(namespace: string): Promise<KubeConfig> {
  const rbac = guestManifests({ namespace, image: 'unused' }).filter((o) => o.kind !== 'Deployment');
  await applyObjects(admin, rbac, 'konsumerator-tests');
  const token = await core.createNamespacedServiceAccountToken({
    name: OPERATOR_NAME,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'plane', server: testEnv().apiServerUrl, caFile: testEnv().caFile }],
    users: [{ name: 'guest', token: token.status!.token }],
    contexts: [{ name: 'guest', cluster: 'plane', user: 'guest' }],
    currentContext: 'guest',
  });
  return config;
}

before(async () => {
  ns = await newNamespace('guest');
  operatorConfig = await guestServiceAccount(ns);
  operator = new Operator({
    kubeConfig: operatorConfig,
    log: process.env.KONSUMERATOR_TEST_LOGS ? createLogger('debug') : silentLogger(),
    version: 'test',
    namespace: ns,
    resyncMs: 2_000,
    leaderElection: {
      ...leaseOf({ namespace: ns }),
      identity: 'guest-test',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 500,
    },
  });
  await operator.start();
});
after(async () => {
  await operator?.stop();
  await deleteTestNamespaces();
});

const managed = { [GuestAnnotation.managed]: '' };

function specFor(overrides: Partial<ConsumerSpec> = {}): ConsumerSpec {
  return baseSpec({ namespace: ns, numPartitions: 4, numPartitionsPerInstance: 2, ...overrides });
}

async function createConfigMap(
  name: string,
  data: Record<string, string>,
  annotations: Record<string, string> = managed,
): Promise<V1ConfigMap> {
  return core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, annotations }, data } });
}

async function patchConfigMap(name: string, patch: object): Promise<void> {
  await core.patchNamespacedConfigMap(
    { name, namespace: ns, body: patch },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

const annotationsOf = async (name: string) =>
  (await core.readNamespacedConfigMap({ name, namespace: ns })).metadata?.annotations ?? {};

const conditionsOf = (annotations: Record<string, string>): Condition[] =>
  JSON.parse(annotations[GuestAnnotation.conditions] ?? '[]') as Condition[];

/** Waits until the ConfigMap's status annotations satisfy `ok`. */
const waitAnnotations = (
  name: string,
  what: string,
  ok: (a: Record<string, string>) => boolean,
  timeoutMs = 60_000,
) =>
  waitFor(
    `ConfigMap ${name}: ${what}`,
    async () => {
      const a = await annotationsOf(name);
      return ok(a) ? a : undefined;
    },
    timeoutMs,
  );

const isReady = (a: Record<string, string>) =>
  conditionsOf(a).find((c) => c.type === 'Ready')?.status === 'True';

const eventsOn = async (name: string) =>
  (await core.listNamespacedEvent({ namespace: ns })).items.filter(
    (e) =>
      e.involvedObject.kind === 'ConfigMap' &&
      e.involvedObject.name === name &&
      e.source?.component === 'konsumerator',
  );

test('a managed ConfigMap gets the Deployments CRD mode would create, owned by the ConfigMap, and its status in annotations', async () => {
  const cm = await createConfigMap('orders', { 'consumer.yaml': stringify(specFor()) });
  await createConfigMap('unrelated', { 'consumer.yaml': stringify(specFor({ name: 'unrelated' })) }, {});
  const status = await waitAnnotations(
    'orders',
    'Ready',
    (a) => isReady(a) && a[GuestAnnotation.expected] === '2',
  );
  await cluster.waitAllRunning(ns, 2);

  assert.equal(status[GuestAnnotation.expected], '2');
  assert.equal(status[GuestAnnotation.running], '2');
  assert.equal(status[GuestAnnotation.paused], '0');
  assert.equal(status[GuestAnnotation.missing], '0');
  assert.equal(status[GuestAnnotation.outdated], '0');
  assert.equal(status[GuestAnnotation.lagging], '0');
  assert.equal(status[GuestAnnotation.error], undefined);

  // Exactly what CRD mode renders for the same spec, except the owner: the ConfigMap.
  const deployments = await cluster.deployments(ns);
  assert.deepEqual(
    deployments.map((d) => d.metadata!.name),
    ['orders-0', 'orders-1'],
  );
  const crdPlan = planConsumer({
    consumer: consumer(specFor(), 'orders', ns),
    deployments: [],
    now: new Date(),
  });
  for (const [i, d] of deployments.entries()) {
    assert.deepEqual(
      d.metadata!.ownerReferences!.map((r) => ({ ...r })),
      [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'orders',
          uid: cm.metadata!.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    );
    const rendered = crdPlan.actions[i]!;
    assert.equal(rendered.type, 'create');
    const desired = (rendered as { deployment: typeof d }).deployment;
    const {
      [Annotation.renderHash]: _h,
      [Annotation.scalingStatusChange]: _t,
      ...annotations
    } = desired.metadata!.annotations!;
    assert.deepEqual(
      driftPaths(
        { labels: desired.metadata!.labels, annotations, spec: desired.spec },
        {
          labels: d.metadata!.labels,
          annotations: d.metadata!.annotations,
          spec: d.spec,
        },
      ),
      [],
    );
  }
  const env = deployments[1]!.spec!.template.spec!.containers[0]!.env!;
  assert.equal(env.find((e) => e.name === 'KONSUMERATOR_PARTITION')?.value, '2,3');
  assert.equal(env.find((e) => e.name === 'KONSUMERATOR_NUM_INSTANCES')?.value, '2');

  // Events are recorded on the ConfigMap; a ConfigMap without the annotation is left alone.
  assert.deepEqual((await eventsOn('orders')).map((e) => e.reason).sort(), ['Created', 'Created']);
  const unrelated = await annotationsOf('unrelated');
  assert.ok(!Object.keys(unrelated).some((k) => k.startsWith('konsumerator.lwolf.org/status')));

  // Converged: reconciles every 2 s (resync) write nothing, neither status nor Deployments.
  const before = await apiRequestCounts();
  await new Promise((r) => setTimeout(r, 5_000));
  const after = await apiRequestCounts();
  const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
  assert.equal(delta('PATCH /configmaps'), 0, 'no status write without a change');
  assert.equal(delta('APPLY apps/deployments') + delta('PATCH apps/deployments'), 0);
});

test('a change of the ConfigMap is reconciled', async () => {
  await patchConfigMap('orders', { data: { 'consumer.yaml': stringify(specFor({ numPartitions: 6 })) } });
  await waitAnnotations(
    'orders',
    'three instances Ready',
    (a) => isReady(a) && a[GuestAnnotation.expected] === '3',
  );
  const deployments = await cluster.deployments(ns);
  assert.deepEqual(
    deployments.map((d) => d.metadata!.name),
    ['orders-0', 'orders-1', 'orders-2'],
  );
  for (const d of deployments) {
    const env = d.spec!.template.spec!.containers[0]!.env!;
    assert.equal(env.find((e) => e.name === 'KONSUMERATOR_NUM_PARTITIONS')?.value, '6');
  }
});

test('a bad ConfigMap is reported on it and retried when it changes; the good one is not disturbed', async () => {
  await createConfigMap('broken', { 'a.yaml': 'x: 1', 'b.yaml': 'y: 2' });
  const keys = await waitAnnotations('broken', 'error about the keys', (a) =>
    /several keys/.test(a[GuestAnnotation.error] ?? ''),
  );
  assert.match(keys[GuestAnnotation.error]!, /^InvalidSpec: data: has several keys \(a\.yaml, b\.yaml\)/);
  assert.equal(conditionsOf(keys).find((c) => c.type === 'Ready')?.status, 'False');

  // The spec the original would have crashed on (no numPartitions), then a YAML syntax error.
  const { numPartitions: _n, ...noPartitions } = specFor({ name: 'broken' });
  await patchConfigMap('broken', {
    metadata: { annotations: { [GuestAnnotation.specKey]: 'b.yaml' } },
    data: { 'b.yaml': stringify(noPartitions) },
  });
  await waitAnnotations('broken', 'error about numPartitions', (a) =>
    (a[GuestAnnotation.error] ?? '').includes('spec.numPartitions: is required'),
  );
  await patchConfigMap('broken', { data: { 'b.yaml': 'numPartitions: [\n' } });
  await waitAnnotations('broken', 'error about the syntax', (a) =>
    (a[GuestAnnotation.error] ?? '').includes('data["b.yaml"]: is not valid YAML or JSON'),
  );
  const warnings = await waitFor('InvalidSpec events on the broken ConfigMap', async () => {
    const events = (await eventsOn('broken')).filter(
      (e) => e.type === 'Warning' && e.reason === 'InvalidSpec',
    );
    return events.length >= 3 ? events : undefined;
  });
  assert.ok(warnings.some((e) => /numPartitions: is required/.test(e.message ?? '')));

  // Meanwhile the good one still follows its spec.
  await patchConfigMap('orders', { data: { 'consumer.yaml': stringify(specFor({ numPartitions: 2 })) } });
  await waitAnnotations(
    'orders',
    'one instance Ready',
    (a) => isReady(a) && a[GuestAnnotation.expected] === '1',
  );
  assert.deepEqual(await cluster.deploymentNames(ns), ['orders-0']);

  // Fixed: reconciled at once, the error goes away.
  await patchConfigMap('broken', {
    data: { 'b.yaml': stringify(specFor({ name: 'broken', numPartitions: 1 })) },
  });
  const fixed = await waitAnnotations('broken', 'Ready', isReady);
  assert.equal(fixed[GuestAnnotation.error], undefined);
  assert.deepEqual(await cluster.deploymentNames(ns), ['broken-0', 'orders-0']);
});

test('the disable-autoscaler annotation on the ConfigMap pauses autoscaling', async () => {
  const hot = { production: 150, consumption: 100, behind: 150 * 600 };
  const spec = specFor({
    name: 'paused',
    numPartitions: 1,
    numPartitionsPerInstance: 1,
    autoscaler: {
      mode: 'static',
      pendingScaleUpDuration: '0s',
      static: {
        partitions: { '0': hot },
        minSyncPeriod: '1s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '1m',
        criticalLag: '1h',
        recoveryTime: '10m',
      },
    },
  });
  await createConfigMap(
    'paused',
    { 'consumer.yaml': stringify(spec) },
    { ...managed, [Annotation.disableAutoscaler]: 'true' },
  );
  const cpu = async () => {
    const d = (await cluster.deployments(ns)).find((x) => x.metadata!.name === 'paused-0');
    return d ? currentResources(d).requests?.cpu : undefined;
  };
  const paused = await waitAnnotations('paused', 'autoscaling paused', (a) =>
    conditionsOf(a).some((c) => c.type === 'MetricsAvailable' && c.reason === 'AutoscalingPaused'),
  );
  assert.equal(paused[GuestAnnotation.lastSyncTime], undefined, 'no metrics read while paused');
  assert.equal(await cpu(), '100m', 'the minimum of the policy, not the prediction');

  await patchConfigMap('paused', { metadata: { annotations: { [Annotation.disableAutoscaler]: null } } });
  // 150 msg/s with 10 minutes of backlog → 300 msg/s → 3 cores, capped at the policy's 1.
  await waitFor('scaled up once unpaused', async () => ((await cpu()) === '1' ? true : undefined), 60_000);
  // The status is patched right after the Deployment, in the same reconcile.
  const read = await waitAnnotations('paused', 'status after the read', (a) =>
    Boolean(a[GuestAnnotation.lastSyncTime]),
  );
  assert.equal(JSON.parse(read[GuestAnnotation.lastSyncState]!)['0'].messageBehind, 90_000);
});

test('deleting the ConfigMap garbage-collects its Deployments', async () => {
  assert.ok(
    testEnv().withControllers,
    'garbage collection needs the controller-manager, which npm test starts',
  );
  await core.deleteNamespacedConfigMap({ name: 'broken', namespace: ns });
  await waitFor(
    'broken-0 collected',
    async () => ((await cluster.deploymentNames(ns)).includes('broken-0') ? undefined : true),
    60_000,
  );
  assert.ok((await cluster.deploymentNames(ns)).includes('orders-0'));
});

test('the guest identity is refused everything outside its namespace, and Secrets within it', async () => {
  const other = await newNamespace('guest-other');
  const asGuest = operatorConfig.makeApiClient(CoreV1Api);
  const guestApps = new ClusterView(operatorConfig).apps;
  const forbidden = (e: unknown) => describeApiError(e).code === 403;
  await assert.rejects(asGuest.listNamespacedConfigMap({ namespace: other }), forbidden);
  await assert.rejects(asGuest.listConfigMapForAllNamespaces(), forbidden);
  await assert.rejects(guestApps.listDeploymentForAllNamespaces(), forbidden);
  await assert.rejects(guestApps.listNamespacedDeployment({ namespace: other }), forbidden);
  await assert.rejects(
    guestApps.createNamespacedDeployment({
      namespace: other,
      body: { metadata: { name: 'x' }, spec: specFor().deploymentTemplate },
    }),
    forbidden,
  );
  await assert.rejects(asGuest.listNamespacedSecret({ namespace: ns }), forbidden);
  // Pods: read in its own namespace (in-place resizes), nothing elsewhere, never deleted.
  await asGuest.listNamespacedPod({ namespace: ns });
  await assert.rejects(asGuest.listNamespacedPod({ namespace: other }), forbidden);
  await assert.rejects(asGuest.listPodForAllNamespaces(), forbidden);
  await assert.rejects(asGuest.deleteCollectionNamespacedPod({ namespace: ns }), forbidden);
  await assert.rejects(asGuest.listNamespace(), forbidden);
  // And it holds its Lease, named as the original's, in its own namespace.
  assert.equal(operator!.isLeader, true);
  const lease = await admin
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ namespace: ns, name: `konsumerator-${ns}` });
  assert.equal(lease.spec?.holderIdentity, 'guest-test');
});
