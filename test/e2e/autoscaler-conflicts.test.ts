// Other autoscalers beside konsumerator, on the plane: a real HorizontalPodAutoscaler (the
// kube-controller-manager's HPA controller raises a Deployment of 1 replica to its minReplicas
// without any metrics) and real VerticalPodAutoscaler objects of the VPA's own CRD (the
// `k8s.io/autoscaler/vertical-pod-autoscaler` module's, test/fixtures/vpa). Each that targets an
// instance Deployment is a conflict: reported (condition, Warning event), sizing goes on, and
// nobody undoes the other's writes (the HPA owns the replica count, the VPA the pods). An HPA on
// a balanced Consumer's Deployment is no conflict: it chooses the replica count, konsumerator sizes
// each replica for its share.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  ApiextensionsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { Operator } from '../../src/controller/operator.js';
import { applyObjects } from '../../src/cli/install.js';
import { FIELD_MANAGER } from '../../src/api/constants.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, waitFor } from '../support/env.js';
import { installCrd, TEST_FIELD_MANAGER } from '../support/crd.js';
import { ConsumerClient, startOperator } from '../support/operator.js';
import { busy, calm, staticSpec } from '../support/in-place.js';
import { currentResources } from '../support/cluster.js';
import { parseQuantity } from '../../src/util/units.js';

const VPA = { group: 'autoscaling.k8s.io', version: 'v1', plural: 'verticalpodautoscalers' };
const consumers = new ConsumerClient();
const admin = kubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const hpas = admin.makeApiClient(AutoscalingV2Api);
const custom = admin.makeApiClient(CustomObjectsApi);
let operator: Operator | undefined;

before(async () => {
  await installCrd(admin);
  const crds = parseAllDocuments(
    readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'vpa', 'vpa-v1-crd-gen.yaml'), 'utf8'),
  )
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null);
  await applyObjects(admin, crds, TEST_FIELD_MANAGER);
  const api = admin.makeApiClient(ApiextensionsV1Api);
  await waitFor('the VPA CRD Established', async () => {
    const crd = await api.readCustomResourceDefinition({ name: `${VPA.plural}.${VPA.group}` });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });
  // Started after the VPA API exists, as in a cluster that runs the VPA.
  operator = await startOperator();
});
after(async () => {
  await deleteTestNamespaces();
  await operator?.stop();
});

/** Two instances, sized from static metrics (one partition each). */
async function twoInstances(prefix: string) {
  const ns = await newNamespace(prefix);
  await consumers.create(ns, 'orders', staticSpec(ns, { partitions: { 0: calm, 1: calm } }));
  await consumers.waitReady(ns, 'orders', 60_000);
  return ns;
}

const deployment = async (ns: string, name: string) =>
  consumers.apps.readNamespacedDeployment({ namespace: ns, name });

/** Whether konsumerator's field manager owns spec.replicas of the Deployment. */
const operatorOwnsReplicas = (d: V1Deployment) =>
  (d.metadata?.managedFields ?? []).some(
    (m) =>
      m.manager === FIELD_MANAGER &&
      (m.fieldsV1 as { 'f:spec'?: Record<string, unknown> } | undefined)?.['f:spec']?.['f:replicas'] !==
        undefined,
  );

/**
 * An HPA on orders-0 with 2 to 3 replicas on CPU utilization. The plane serves no resource
 * metrics, so the HPA controller only raises the Deployment to its minimum, 2.
 */
const createHpa = (ns: string, name: string) =>
  hpas.createNamespacedHorizontalPodAutoscaler({
    namespace: ns,
    body: {
      metadata: { name },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders-0' },
        minReplicas: 2,
        maxReplicas: 3,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
      },
    },
  });

const conflictOf = async (ns: string) =>
  (await consumers.get(ns, 'orders')).status?.conditions?.find((c) => c.type === 'AutoscalerConflict');

const warnings = async (ns: string) =>
  (await core.listNamespacedEvent({ namespace: ns })).items.filter(
    (e) =>
      e.reason === 'AutoscalerConflict' && e.type === 'Warning' && e.source?.component === 'konsumerator',
  );

test(
  'an HPA on an instance: reported, the HPA keeps the replica count, sizing goes on; removed, konsumerator takes it back',
  { timeout: 120_000 },
  async (t) => {
    const ns = await twoInstances('hpa');
    await createHpa(ns, 'orders-0-hpa');
    const condition = await waitFor('the AutoscalerConflict condition', async () => {
      const c = await conflictOf(ns);
      return c?.status === 'True' ? c : undefined;
    });
    assert.equal(condition.reason, 'AutoscalerTargetsInstance');
    assert.match(condition.message, /HorizontalPodAutoscaler orders-0-hpa targets orders-0/);
    assert.ok((await warnings(ns)).length > 0, 'a Warning event');

    // The HPA controller raises the replicas to its minimum, and konsumerator lets it.
    const t0 = Date.now();
    await waitFor(
      'the HPA sets 2 replicas',
      async () => (await deployment(ns, 'orders-0')).spec?.replicas === 2,
      60_000,
    );
    t.diagnostic(`the HPA controller set 2 replicas ${Date.now() - t0} ms after the conflict was reported`);
    // Sizing goes on: more production on partition 0 gives its instance more CPU...
    const before = currentResources(await deployment(ns, 'orders-0'));
    await consumers.setSpec(ns, 'orders', staticSpec(ns, { partitions: { 0: busy(2), 1: calm } }));
    const resized = await waitFor('orders-0 sized up', async () => {
      const d = await deployment(ns, 'orders-0');
      return JSON.stringify(currentResources(d)) !== JSON.stringify(before) ? d : undefined;
    });
    // ...without writing the replica count: konsumerator does not own it, the HPA's value stands.
    assert.equal(resized.spec?.replicas, 2);
    assert.equal(operatorOwnsReplicas(resized), false, 'konsumerator does not own spec.replicas of orders-0');
    assert.equal(operatorOwnsReplicas(await deployment(ns, 'orders-1')), true, 'but of orders-1');

    await hpas.deleteNamespacedHorizontalPodAutoscaler({ namespace: ns, name: 'orders-0-hpa' });
    await waitFor('the conflict gone', async () => (await conflictOf(ns)) === undefined);
    const back = await waitFor('konsumerator sets the template replicas again', async () => {
      const d = await deployment(ns, 'orders-0');
      return d.spec?.replicas === 1 ? d : undefined;
    });
    assert.equal(operatorOwnsReplicas(back), true);
  },
);

test(
  'VPAs (the real CRD): one in Off mode is no conflict; an acting one is, and its instance is not resized in place',
  { timeout: 120_000 },
  async () => {
    const ns = await twoInstances('vpa');
    const vpa = (name: string, target: string, updateMode: string) =>
      custom.createNamespacedCustomObject({
        ...VPA,
        namespace: ns,
        body: {
          apiVersion: `${VPA.group}/${VPA.version}`,
          kind: 'VerticalPodAutoscaler',
          metadata: { name },
          spec: {
            targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
            updatePolicy: { updateMode },
          },
        },
      });
    await vpa('recommends', 'orders-1', 'Off');
    await vpa('acts', 'orders-0', 'Recreate');
    const condition = await waitFor('the AutoscalerConflict condition', async () => {
      const c = await conflictOf(ns);
      return c?.status === 'True' ? c : undefined;
    });
    assert.match(condition.message, /VerticalPodAutoscaler acts targets orders-0/);
    assert.doesNotMatch(condition.message, /recommends/);
    assert.ok((await warnings(ns)).length > 0, 'a Warning event');

    // Sizing goes on for both instances: orders-1 is resized in place (the annotation carries the
    // new size), orders-0's decision goes to its template (the VPA sets its pods' resources).
    const template = (d: V1Deployment) => JSON.stringify(d.spec?.template?.spec?.containers?.[0]?.resources);
    const before0 = template(await deployment(ns, 'orders-0'));
    const before1 = template(await deployment(ns, 'orders-1'));
    await consumers.setSpec(ns, 'orders', staticSpec(ns, { partitions: { 0: busy(2), 1: busy(2) } }));
    await waitFor('orders-0 sized up through its template', async () => {
      const d = await deployment(ns, 'orders-0');
      return (
        template(d) !== before0 && d.metadata?.annotations?.['konsumerator.lwolf.org/resources'] === undefined
      );
    });
    await waitFor('orders-1 sized up in place', async () => {
      const d = await deployment(ns, 'orders-1');
      return (
        template(d) === before1 && d.metadata?.annotations?.['konsumerator.lwolf.org/resources'] !== undefined
      );
    });

    await custom.patchNamespacedCustomObject(
      { ...VPA, namespace: ns, name: 'acts', body: { spec: { updatePolicy: { updateMode: 'Off' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitFor(
      'no conflict once the VPA only recommends',
      async () => (await conflictOf(ns)) === undefined,
    );
  },
);

/** The CPU request of each of an instance's pods (in place: the annotation, else the template). */
const cpuPerPod = (d: V1Deployment) => parseQuantity(currentResources(d).requests?.cpu ?? '0');

test(
  'an HPA on a balanced Consumer: no conflict, the HPA owns the replica count, each replica is sized for its share',
  { timeout: 120_000 },
  async (t) => {
    const ns = await newNamespace('hpa-balanced');
    // Two partitions keeping up at one core's worth each (naive: production / 100 msg/s per core),
    // shared by the replicas: one replica needs two cores, each of two replicas one.
    const steady = { production: 100, consumption: 100, behind: 0 };
    const spec = {
      ...staticSpec(ns, { partitions: { 0: steady, 1: steady } }),
      assignment: 'Balanced' as const,
    };
    await consumers.create(ns, 'orders', spec);
    await consumers.waitReady(ns, 'orders', 60_000);
    const alone = await waitFor('one replica sized for both partitions', async () => {
      const d = await deployment(ns, 'orders-0');
      return d.spec?.replicas === 1 && cpuPerPod(d) === 2 ? cpuPerPod(d) : undefined;
    });
    await createHpa(ns, 'orders-hpa');
    const t0 = Date.now();
    await waitFor(
      'the HPA sets 2 replicas',
      async () => (await deployment(ns, 'orders-0')).spec?.replicas === 2,
      60_000,
    );
    const shared = await waitFor('each of the 2 replicas sized for one partition', async () => {
      const d = await deployment(ns, 'orders-0');
      return cpuPerPod(d) === 1 ? d : undefined;
    });
    t.diagnostic(
      `CPU per replica ${alone} cores with 1 replica, ${cpuPerPod(shared)} with the HPA's 2 (${Date.now() - t0} ms after the HPA)`,
    );
    assert.ok(
      cpuPerPod(shared) <= alone / 2 + 0.5,
      `about half as much per replica (${cpuPerPod(shared)} of ${alone})`,
    );
    assert.equal(shared.spec?.replicas, 2, "the HPA's count stands");
    assert.equal(operatorOwnsReplicas(shared), false, 'konsumerator does not own spec.replicas');
    assert.equal(await conflictOf(ns), undefined, 'no AutoscalerConflict condition');
    assert.equal((await warnings(ns)).length, 0, 'no AutoscalerConflict event');
  },
);
