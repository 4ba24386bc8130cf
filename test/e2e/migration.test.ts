// The migration runbook of docs/compatibility.md ("Migrating from the original operator"), followed
// on the real control plane, in the order a hurried migration takes it: the original's CRD is
// still installed when this operator starts. The operator must say so (error log, CRDOutdated
// event, failing /readyz, each with the command that fixes it), write nothing while it lasts
// (what it reads through that CRD is pruned), name the cause of a Consumer whose pod template the
// original's CRD pruned, recover once the CRD is applied as the runbook says, and adopt the
// original's Deployments without restarting a pod once the Consumer is applied again. Then an old
// pipeline re-applies the original's CRD: the operator holds its writes again, so nothing is lost
// when the CRD is fixed; and the runbook's rollback leaves every Deployment and pod in place.
import assert from 'node:assert/strict';
import { after, before, test } from '../support/timed.js';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Deployment,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { Operator } from '../../src/controller/operator.js';
import { CRD_NAME, CRD_SCHEMA_HASH_ANNOTATION, GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import { expectedCrdHash } from '../../src/api/crd.js';
import type { Consumer, ConsumerSpec } from '../../src/api/schema.js';
import { describeApiError } from '../../src/controller/kube.js';
import { freePort } from '../../src/testplane/ports.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient } from '../support/operator.js';
import { ClusterView, rawGet } from '../support/cluster.js';
import { operatorServiceAccountConfig } from '../support/service-account.js';
import { originalCrd } from '../fixtures/original/crd.js';
import { originalSampleConsumer } from '../fixtures/original/consumers.js';
import { originalDeployment } from '../fixtures/original/deployments.js';

const admin = kubeConfig();
const consumers = new ConsumerClient();
const cluster = new ClusterView();
const custom = admin.makeApiClient(CustomObjectsApi);
const core = admin.makeApiClient(CoreV1Api);
const extensions = admin.makeApiClient(ApiextensionsV1Api);

/** The runbook's `kubectl apply --server-side`: kubectl's field manager, so an apply replaces what the last one set. */
const KUBECTL = 'kubectl';
const FIX = 'kubectl apply --server-side --force-conflicts -f deploy/crd.yaml';

let operator: Operator | undefined;
let namespace = '';
let healthUrl = '';
const logLines: Array<{ level: number; msg: string }> = [];

const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** The spec the user keeps in their repository: the original's sample, sized for the test. */
const userSpec = (ns: string): ConsumerSpec => ({
  ...originalSampleConsumer().spec,
  namespace: ns,
  numPartitions: 4,
  numPartitionsPerInstance: 2,
});

/**
 * Whether the schema the API server applies now keeps a pod template's labels (a dry-run create):
 * a CRD change takes effect shortly after the apply returns.
 */
async function servedSchemaKeepsTemplateLabels(ns: string): Promise<boolean> {
  const stored = (await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace: ns,
    dryRun: 'All',
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Consumer',
      metadata: { name: 'probe' },
      spec: userSpec(ns),
    },
  })) as Consumer;
  return stored.spec.deploymentTemplate.template.metadata?.labels?.app === 'fake-consumer';
}

async function readyz(): Promise<{ status: number; body: string }> {
  const response = await fetch(healthUrl);
  return { status: response.status, body: await response.text() };
}

/** Reconciles of the Consumer that have finished (the count of the duration summary). */
async function reconcilesDone(): Promise<number> {
  const { values } = await operator!.metrics.reconcileDuration.get();
  return values.find((v) => v.metricName?.endsWith('_count') && v.labels.consumer === 'legacy')?.value ?? 0;
}

async function events(reason: string): Promise<string[]> {
  const list = await core.listNamespacedEvent({ namespace });
  return list.items
    .filter((e) => e.involvedObject.name === 'legacy' && e.reason === reason)
    .map((e) => e.message ?? '');
}

async function deleteConsumerCrd(): Promise<void> {
  await extensions.deleteCustomResourceDefinition({ name: CRD_NAME }).catch((err: unknown) => {
    if (describeApiError(err).code !== 404) throw err;
  });
  await waitFor(
    `CRD ${CRD_NAME} deleted`,
    () =>
      extensions.readCustomResourceDefinition({ name: CRD_NAME }).then(
        () => false,
        (err: unknown) => describeApiError(err).code === 404,
      ),
    120_000,
  );
}

/** What the cluster holds of the original's instances, to prove nothing was restarted or rewritten. */
interface Snapshot {
  pods: Record<string, string[]>;
  replicaSets: string[];
  specs: unknown[];
}

async function snapshot(ns: string): Promise<Snapshot> {
  const raw = await rawGet<{ items: V1Deployment[] }>(`/apis/apps/v1/namespaces/${ns}/deployments`);
  return {
    pods: await cluster.podUidsByDeployment(ns),
    replicaSets: (await cluster.apps.listNamespacedReplicaSet({ namespace: ns })).items
      .map((r) => r.metadata!.name!)
      .sort(),
    specs: raw.items.map((d) => d.spec),
  };
}

let before0: Snapshot;

before(async () => {
  // A cluster that ran the original: its CRD, installed the way its deploy pipeline does.
  await deleteConsumerCrd();
  await installCrd(admin, KUBECTL, originalCrd());
  namespace = await newNamespace('migration');
  await waitFor('the original CRD served', async () => !(await servedSchemaKeepsTemplateLabels(namespace)));
  const consumer = await consumers.create(namespace, 'legacy', userSpec(namespace));
  // The fact the guard is about: the original's CRD keeps nothing of the pod template's metadata.
  assert.deepEqual(consumer.spec.deploymentTemplate.template.metadata ?? {}, {});
  // The Deployments the original wrote for it (from the spec as the user applied it).
  const applied = { ...consumer, spec: userSpec(namespace) };
  for (const [id, partitions] of [
    [0, [0, 1]],
    [1, [2, 3]],
  ] as const) {
    await cluster.apps.createNamespacedDeployment({
      namespace,
      body: originalDeployment(applied, id, [...partitions], 2),
      fieldManager: 'manager',
    });
  }
  await cluster.waitAllRunning(namespace, 2);
  before0 = await snapshot(namespace);

  const port = await freePort();
  healthUrl = `http://127.0.0.1:${port}/readyz`;
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void logLines.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  operator = new Operator({
    kubeConfig: await operatorServiceAccountConfig(),
    log,
    version: 'test',
    workers: 2,
    resyncMs: 60_000,
    healthAddress: `127.0.0.1:${port}`,
    crdCheckIntervalMs: 500,
  });
  await operator.start();
});

after(async () => {
  await operator?.stop();
  // Leave the plane with this version's CRD for the next test file, owned as installCrd() owns it.
  await installCrd(admin, KUBECTL);
  await installCrd(admin);
  await deleteTestNamespaces();
});

test("under the original's CRD the operator reports it loudly and writes nothing", async () => {
  const stored0 = await consumers.get(namespace, 'legacy');
  const probe = await readyz();
  assert.equal(probe.status, 503);
  assert.match(
    probe.body,
    /^not ready: the installed CRD consumers\.konsumerator\.lwolf\.org is the original operator's/,
  );
  assert.ok(probe.body.includes(FIX), probe.body);

  const errors = logLines.filter((l) => l.level >= 50 && l.msg.includes("is the original operator's"));
  assert.equal(errors.length, 1, 'one error log line at start');
  assert.ok(errors[0]!.msg.includes(FIX));

  const [outdated] = await waitFor('a CRDOutdated event on the Consumer', async () => {
    const found = await events('CRDOutdated');
    return found.length > 0 ? found : undefined;
  });
  assert.ok(outdated!.includes(FIX), outdated);
  const [invalid] = await waitFor('an InvalidSpec event on the Consumer', async () => {
    const found = await events('InvalidSpec');
    return found.length > 0 ? found : undefined;
  });
  assert.match(invalid!, /selects app=fake-consumer, which the pod template labels do not carry/);
  assert.match(
    invalid!,
    /spec\.deploymentTemplate\.template\.metadata: is empty, as the original operator's CRD leaves it/,
  );

  // Once a reconcile has finished: no status written (it would store the pruned spec), and
  // nothing written to the original's Deployments.
  await waitFor('a finished reconcile', async () => (await reconcilesDone()) >= 1);
  const stored = await consumers.get(namespace, 'legacy');
  assert.equal(
    stored.metadata.resourceVersion,
    stored0.metadata.resourceVersion,
    'the Consumer was not written',
  );
  assert.equal(stored.status, undefined);
  assert.deepEqual(await snapshot(namespace), before0);
  for (const d of await cluster.deployments(namespace))
    assert.equal(d.metadata!.annotations!['konsumerator.lwolf.org/render-hash'], undefined);
});

test("after the runbook's CRD apply the operator recovers, names the pruned template, and adopts the Deployments without restarts once the Consumer is applied again", async () => {
  // Runbook step 1.
  await installCrd(admin, KUBECTL);
  const installed = await rawGet<KubernetesObject & { spec: unknown }>(
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`,
  );
  assert.equal(installed.metadata?.annotations?.[CRD_SCHEMA_HASH_ANNOTATION], expectedCrdHash());
  await waitFor("this version's CRD served", () => servedSchemaKeepsTemplateLabels(namespace));

  await waitFor('/readyz passes', async () => (await readyz()).status === 200);
  assert.ok(
    logLines.some((l) => l.level === 30 && l.msg === 'the installed CRD is the one this version expects'),
  );

  // The stored Consumer lost its template metadata for good: now that conditions are kept, the
  // status says why nothing happens.
  const degraded = await consumers.waitCondition(namespace, 'legacy', 'Degraded', 'InvalidSpec');
  const message = degraded.status!.conditions!.find((c) => c.type === 'Degraded')!.message;
  assert.match(message, /the original operator's CRD leaves it/);
  assert.ok(message.includes(FIX), message);
  assert.deepEqual(await snapshot(namespace), before0, 'still untouched');

  // Runbook step 3: apply the Consumer again.
  await consumers.setSpec(namespace, 'legacy', userSpec(namespace));
  const ready = await consumers.waitReady(namespace, 'legacy', 90_000);
  assert.equal(ready.status?.conditions?.find((c) => c.type === 'Degraded')?.status, 'False');
  for (const d of await cluster.deployments(namespace)) {
    assert.ok(d.metadata!.annotations!['konsumerator.lwolf.org/render-hash'], 'adopted');
  }
  assert.deepEqual(plain(await snapshot(namespace)), plain(before0), 'same pods, ReplicaSets and specs');
  const adopted = await events('Updated');
  assert.equal(adopted.filter((m) => m.endsWith('adopted it')).length, 2, adopted.join('\n'));
});

test('an old pipeline re-applying the original CRD is caught again and loses nothing; the rollback leaves every Deployment and pod in place', async () => {
  const adopted = await snapshot(namespace);
  const stored0 = await consumers.get(namespace, 'legacy');
  const done = await reconcilesDone();
  await installCrd(admin, KUBECTL, originalCrd());
  await waitFor('/readyz fails again', async () => (await readyz()).status === 503);
  assert.match((await readyz()).body, /is the original operator's/);
  // The API server prunes on read: the operator sees the template without labels. A change that
  // would change the status (one instance paused) is reconciled, and nothing is written: a status
  // write would store the pruned spec for good.
  await waitFor('a reconcile under the original CRD', async () => (await reconcilesDone()) > done);
  const done1 = await reconcilesDone();
  await cluster.apps.patchNamespacedDeployment(
    {
      namespace,
      name: 'test-consumer-0',
      body: { metadata: { annotations: { 'konsumerator.lwolf.org/disable-autoscaler': 'true' } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await waitFor('a reconcile after the change', async () => (await reconcilesDone()) > done1);
  const pruned = await consumers.get(namespace, 'legacy');
  assert.deepEqual(pruned.spec.deploymentTemplate.template.metadata ?? {}, {});
  assert.equal(pruned.metadata.resourceVersion, stored0.metadata.resourceVersion, 'not written');

  // Runbook step 1 again: the stored Consumer kept everything, so nothing needs applying again.
  await installCrd(admin, KUBECTL);
  await waitFor('/readyz passes again', async () => (await readyz()).status === 200);
  const back = await consumers.get(namespace, 'legacy');
  assert.deepEqual(back.spec, stored0.spec);
  await consumers.waitReady(namespace, 'legacy');
  assert.deepEqual(plain(await snapshot(namespace)), plain(adopted));

  // Rollback: stop this operator and keep this CRD, as the runbook advises.
  await operator?.stop();
  operator = undefined;
  const after0 = await snapshot(namespace);
  assert.deepEqual(after0.pods, before0.pods, 'the pods of the original still run');
  assert.deepEqual(after0.replicaSets, before0.replicaSets);
  const left = await consumers.get(namespace, 'legacy');
  for (const d of await cluster.deployments(namespace)) {
    assert.equal(d.metadata!.ownerReferences?.[0]?.uid, left.metadata.uid, 'still owned by the Consumer');
  }
});
