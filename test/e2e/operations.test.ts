// Day-to-day operations on the real control plane: `kubectl scale consumer/<name>` through the
// Consumer's scale subresource stops every instance (Deployments kept at 0 replicas, sizes kept,
// no resizing while stopped) and starts them again; the operations CLI, run as a kubectl plugin
// by the real kubectl, shows status, pauses, resumes, stops and starts, and names the permission
// a user lacks.
import { test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { runPause, runStatus, runStopStart, type TargetOptions } from '../../src/cli/ops.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { kubeConfig, newNamespace, testEnv, waitFor } from '../support/env.js';
import { ConsumerClient, operatorForThisFile } from '../support/operator.js';
import { ClusterView, currentResources } from '../support/cluster.js';
import { baseSpec, consumerPolicy } from '../support/consumers.js';
import { kubectlPath } from '../support/tools.js';
import { runTool, runToolOk } from '../support/run.js';

const consumers = new ConsumerClient();
const cluster = new ClusterView();
operatorForThisFile();

const kubectl = (...args: string[]) => runToolOk(kubectlPath(), args);

const calm = { production: 10, consumption: 10, behind: 0 };
/** 150 msg/s with 10 minutes of backlog: the proactive predictor asks for more than the 100m minimum. */
const lagging = { production: 150, consumption: 100, behind: 150 * 600 };

function staticSpec(ns: string, partition1: typeof calm, replicas?: number): ConsumerSpec {
  return baseSpec({
    namespace: ns,
    numPartitions: 3,
    numPartitionsPerInstance: 1,
    ...(replicas === undefined ? {} : { replicas }),
    autoscaler: {
      mode: 'static',
      pendingScaleUpDuration: '0s',
      static: {
        partitions: { '0': calm, '1': partition1, '2': calm },
        minSyncPeriod: '1s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '1m',
        criticalLag: '1h',
        recoveryTime: '10m',
      },
    },
    resourcePolicy: consumerPolicy('4'),
  });
}

const eventReasons = async (namespace: string) =>
  (await kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({ namespace })).items.map((e) => e.reason);

const cpuOf = async (ns: string) =>
  (await cluster.deployments(ns)).map((d) => String(currentResources(d).requests?.cpu));

const replicasOf = async (ns: string) => (await cluster.deployments(ns)).map((d) => d.spec?.replicas);

test('kubectl scale --replicas=0 stops every instance and keeps its Deployment and size; --replicas=1 starts them', async () => {
  const ns = await newNamespace('ops-scale');
  await consumers.create(ns, 'orders', staticSpec(ns, calm));
  await consumers.waitReady(ns, 'orders');
  await waitFor('calm instances at 100m', async () => (await cpuOf(ns)).join() === '100m,100m,100m');
  assert.equal(
    (await consumers.get(ns, 'orders')).status?.replicas,
    1,
    'the template replicas, before any scale',
  );

  await kubectl('-n', ns, 'scale', 'consumer/orders', '--replicas=0');
  assert.equal(
    (await consumers.get(ns, 'orders')).spec.replicas,
    0,
    'the scale subresource writes spec.replicas',
  );
  await waitFor('every Deployment at 0 replicas', async () => (await replicasOf(ns)).join() === '0,0,0');
  const stopped = await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'Stopped');
  assert.equal(stopped.status?.replicas, 0);
  assert.match(
    await kubectl('-n', ns, 'get', 'consumer', 'orders', '-o', 'custom-columns=REPLICAS:.status.replicas'),
    /REPLICAS\s+0/,
  );
  assert.match(await kubectl('-n', ns, 'get', 'consumer', 'orders'), /REPLICAS/);
  await waitFor('a Stopped event', async () => (await eventReasons(ns)).includes('Stopped'));

  // Partition 1 starts lagging while the Consumer is stopped: nothing is read or resized.
  await consumers.setSpec(ns, 'orders', staticSpec(ns, lagging, 0));
  await waitFor('the new generation reconciled', async () => {
    const c = await consumers.get(ns, 'orders');
    return c.status?.observedGeneration === c.metadata.generation;
  });
  assert.deepEqual(await cpuOf(ns), ['100m', '100m', '100m'], 'sizes kept while stopped');
  assert.deepEqual(await replicasOf(ns), [0, 0, 0]);
  assert.equal((await cluster.deployments(ns)).length, 3, 'no Deployment deleted');

  await kubectl('-n', ns, 'scale', 'consumer/orders', '--replicas=1');
  await waitFor('every Deployment at 1 replica', async () => (await replicasOf(ns)).join() === '1,1,1');
  await waitFor('a Started event', async () => (await eventReasons(ns)).includes('Started'));
  // Started again, the lagging instance is sized from the metrics.
  await waitFor('instance 1 scaled up after the start', async () => {
    const [a, b, c] = await cpuOf(ns);
    return a === '100m' && c === '100m' && b !== '100m';
  });
  const started = await consumers.waitReady(ns, 'orders');
  assert.equal(started.status?.replicas, 1);
  // The Scale object kubectl and autoscalers read (its zero values are left out of the JSON).
  const scale = JSON.parse(
    await kubectl('-n', ns, 'get', 'consumer', 'orders', '--subresource=scale', '-o', 'json'),
  ) as { kind: string; spec: { replicas?: number }; status: { replicas?: number } };
  assert.deepEqual([scale.kind, scale.spec.replicas, scale.status.replicas], ['Scale', 1, 1]);
});

/**
 * The plugin as a user installs it: an executable named kubectl-konsumerator on the PATH (npm
 * links the package's bin entry that way), found and run by the real kubectl. Node 24 first on
 * the PATH, as the package requires.
 */
function pluginPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-plugin-'));
  symlinkSync(join(REPO_ROOT, 'bin', 'kubectl-konsumerator.js'), join(dir, 'kubectl-konsumerator'));
  return `${dir}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
}

test('kubectl konsumerator: status, pause/resume of an instance and of the Consumer, stop/start, a missing permission named', async (t) => {
  const ns = await newNamespace('ops-cli');
  const PATH = pluginPath();
  const plugin = (args: string[], env: Record<string, string> = {}) =>
    runTool(kubectlPath(), ['konsumerator', ...args, '-n', ns], { env: { PATH, ...env }, timeoutMs: 60_000 });
  // In the test's process (the verbs' own code, without a Node start per call); the plugin path
  // through kubectl is taken for status, explain and the refused stop.
  const cli = async (verb: (options: TargetOptions) => Promise<void>) => {
    let text = '';
    await verb({ kubeconfig: testEnv().kubeconfigPath, namespace: ns, out: (t) => (text += t) });
    return text;
  };
  const ok = async (...args: string[]) => {
    const result = await plugin(args);
    assert.equal(result.code, 0, `kubectl konsumerator ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  await consumers.create(ns, 'orders', staticSpec(ns, lagging));
  await consumers.waitReady(ns, 'orders');
  await waitFor('instance 1 scaled up', async () => {
    const [a, b] = await cpuOf(ns);
    return a === '100m' && b !== '100m';
  });
  await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'Read');

  const table = await ok('status', 'orders');
  t.diagnostic(`kubectl konsumerator status orders:\n${table}`);
  assert.match(table, /^Consumer .*\/orders: 1 pod\(s\) per instance/m);
  assert.match(table, /^1\s+1\s+\S+\s+\S+\s+1:10m\/90000\s+150\/s\s+100\/s\s+[A-Z_]+/m, table);
  const report = JSON.parse(await cli((o) => runStatus('orders', { ...o, output: 'json' }))) as {
    instances: { instance: number; lag: { messages?: number; seconds?: number }[]; podsReady: number }[];
  };
  assert.equal(report.instances.length, 3);
  assert.deepEqual(report.instances[1]!.lag, [{ partition: 1, messages: 90000, seconds: 600 }]);
  assert.ok(
    report.instances.every((i) => i.podsReady === 1),
    JSON.stringify(report.instances),
  );

  const explained = await ok('explain', 'orders', '--instance', '1');
  assert.match(explained, /^instance 1 \(orders-1\), partitions 1$/m, explained);
  assert.match(explained, /partition 1: production 150\/s, consumption 100\/s, behind 90000, lag 10m/);
  assert.match(explained, /predictor: +cpu /);

  // Pause one instance: its Deployment gets the annotation, the operator counts it paused.
  assert.match(
    await cli((o) => runPause(true, 'orders', { ...o, instance: '1' })),
    /instance 1 \(orders-1\) of orders paused/,
  );
  assert.match(await cli((o) => runPause(true, 'orders', { ...o, instance: '1' })), /already paused/);
  await waitFor('status.paused = 1', async () => (await consumers.get(ns, 'orders')).status?.paused === 1);
  assert.match(await cli((o) => runStatus('orders', o)), /^1 .* [A-Z_]+ \(paused\) /m);
  await cli((o) => runPause(false, 'orders', { ...o, instance: '1' }));
  await waitFor('status.paused = 0', async () => (await consumers.get(ns, 'orders')).status?.paused === 0);

  // Pause the Consumer: no reads, no resizing; resume: read again.
  await cli((o) => runPause(true, 'orders', o));
  await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'AutoscalingPaused');
  assert.match(await cli((o) => runPause(false, 'orders', o)), /Consumer orders resumed/);
  assert.match(await cli((o) => runPause(false, 'orders', o)), /already resumed/);
  await consumers.waitCondition(ns, 'orders', 'MetricsAvailable', 'Read');

  // Stop and start through the scale subresource.
  assert.match(await cli((o) => runStopStart(false, 'orders', o)), /stopped/);
  assert.match(await cli((o) => runStopStart(false, 'orders', o)), /already stopped/);
  await waitFor('every Deployment at 0 replicas', async () => (await replicasOf(ns)).join() === '0,0,0');
  assert.match(await cli((o) => runStatus('orders', o)), /stopped \(0 pods per instance\)/);
  await cli((o) => runStopStart(true, 'orders', o));
  await waitFor('every Deployment at 1 replica', async () => (await replicasOf(ns)).join() === '1,1,1');
  const reasons = await eventReasons(ns);
  for (const reason of [
    'InstancePaused',
    'InstanceResumed',
    'Paused',
    'Resumed',
    'StopRequested',
    'StartRequested',
  ])
    assert.ok(reasons.includes(reason), `event ${reason} in ${reasons.join(', ')}`);

  // A user with the namespace's view role reads status but may not stop: the error names the rule.
  const viewer = await viewerKubeconfig(ns);
  const denied = await plugin(['stop', 'orders'], { KUBECONFIG: viewer });
  assert.notEqual(denied.code, 0);
  assert.match(
    denied.stderr,
    /may not patch konsumerator\.lwolf\.org\/consumers\/scale in namespace ops-cli-\S+; it needs a Role rule/,
  );
  assert.match(
    await cli((o) => runStatus('orders', { ...o, kubeconfig: viewer, output: 'yaml' })),
    /^name: orders$/m,
  );
});

/** A kubeconfig file for a ServiceAccount bound to the built-in view role in `namespace`. */
async function viewerKubeconfig(namespace: string): Promise<string> {
  const admin = kubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'viewer' } } });
  await admin.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'viewer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'viewer', namespace }],
    },
  });
  const token = await core.createNamespacedServiceAccountToken({
    name: 'viewer',
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const env = testEnv();
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'plane', server: env.apiServerUrl, caFile: env.caFile }],
    users: [{ name: 'viewer', token: token.status!.token }],
    contexts: [{ name: 'viewer', cluster: 'plane', user: 'viewer', namespace }],
    currentContext: 'viewer',
  });
  const file = join(mkdtempSync(join(tmpdir(), 'viewer-')), 'kubeconfig');
  writeFileSync(file, config.exportConfig(), { mode: 0o600 });
  return file;
}

test('deploymentMetadata: labels and annotations on the Deployments, kept up to date and removed, no rollout; the operator keys refused at apply', async () => {
  const ns = await newNamespace('ops-meta');
  const spec = (metadata?: ConsumerSpec['deploymentMetadata']) =>
    baseSpec({
      namespace: ns,
      numPartitions: 2,
      numPartitionsPerInstance: 1,
      ...(metadata ? { deploymentMetadata: metadata } : {}),
    });
  await consumers.create(
    ns,
    'orders',
    spec({ labels: { team: 'payments' }, annotations: { 'example.com/owner': 'a' } }),
  );
  await consumers.waitReady(ns, 'orders');
  const before = await cluster.deployments(ns);
  assert.deepEqual(
    before.map((d) => [d.metadata?.labels?.team, d.metadata?.annotations?.['example.com/owner']]),
    [
      ['payments', 'a'],
      ['payments', 'a'],
    ],
  );
  assert.equal(before[0]!.spec?.template.metadata?.labels?.team, undefined, 'not on the pods');
  await cluster.waitAllRunning(ns, 2);
  const podsBefore = await cluster.podUidsByDeployment(ns);
  // A label someone else put on a Deployment is not the operator's: it stays.
  await kubectl('-n', ns, 'label', 'deployment', before[0]!.metadata!.name!, 'oncall=yes');

  await consumers.setSpec(ns, 'orders', spec({ annotations: { 'example.com/owner': 'b' } }));
  await waitFor('team label removed, owner annotation changed', async () =>
    (await cluster.deployments(ns)).every(
      (d) => d.metadata?.labels?.team === undefined && d.metadata?.annotations?.['example.com/owner'] === 'b',
    ),
  );
  const after = await cluster.deployments(ns);
  // A Deployment's annotations are copied to its ReplicaSet (the API server counts a new
  // generation for that), but the pod template is the same: the same pods keep running.
  assert.deepEqual(await cluster.podUidsByDeployment(ns), podsBefore, 'no rollout: the same pods');
  assert.equal(after[0]!.metadata?.labels?.oncall, 'yes');

  const refused = await runTool(kubectlPath(), ['-n', ns, 'apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'konsumerator.lwolf.org/v1',
      kind: 'Consumer',
      metadata: { name: 'orders' },
      spec: spec({
        labels: { controller: 'other' },
        annotations: { 'konsumerator.lwolf.org/partition': '0' },
      }),
    }),
  });
  assert.notEqual(refused.code, 0);
  assert.match(
    refused.stderr,
    /spec\.deploymentMetadata\.labels: Invalid value: .*must not set the labels the operator sets itself/,
  );
  assert.match(
    refused.stderr,
    /spec\.deploymentMetadata\.annotations: Invalid value: .*must not set annotations under konsumerator\.lwolf\.org\//,
  );
});
