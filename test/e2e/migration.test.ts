// The migration runbook of docs/compatibility.md ("Migrating from the original operator"), followed
// on the real control plane, in the order a hurried migration takes it: the original's CRD is
// still installed when this operator starts. The operator must say so (error log, CRDOutdated
// event, failing /readyz, each with the command that fixes it), keep its hands off the Deployments
// of a Consumer whose pod template the original's CRD pruned (and name that cause), recover once
// the CRD is applied as the runbook says, and adopt the original's Deployments without restarting
// a pod once the Consumer is applied again. Then an old pipeline re-applies the original's CRD,
// and the runbook's rollback leaves every Deployment and pod in place.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
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

test("under the original's CRD the operator reports it loudly and leaves the pruned Consumer's Deployments alone", async () => {
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

  // Reconciling goes on: the status fields the original's CRD knows are written; the conditions
  // are pruned by the API server.
  const stored = await waitFor('the status written', async () => {
    const c = await consumers.get(namespace, 'legacy');
    return c.status?.observedGeneration === c.metadata.generation ? c : undefined;
  });
  assert.equal(stored.status?.conditions, undefined);

  // Nothing was written to the original's Deployments.
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

test('an old pipeline re-applying the original CRD is caught again; the rollback leaves every Deployment and pod in place', async () => {
  await installCrd(admin, KUBECTL, originalCrd());
  await waitFor('/readyz fails again', async () => (await readyz()).status === 503);
  assert.match((await readyz()).body, /is the original operator's/);

  // Rollback: stop this operator; the original's CRD is already back.
  await operator?.stop();
  operator = undefined;
  const after0 = await snapshot(namespace);
  assert.deepEqual(after0.pods, before0.pods);
  assert.deepEqual(after0.replicaSets, before0.replicaSets);
  const left = await consumers.get(namespace, 'legacy');
  assert.equal(left.spec.numPartitions, 4, 'the Consumer is still there for the original');
  for (const d of await cluster.deployments(namespace)) {
    assert.equal(d.metadata!.ownerReferences?.[0]?.uid, left.metadata.uid, 'still owned by the Consumer');
  }
});
