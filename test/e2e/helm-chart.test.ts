// The Helm chart (deploy/helm/konsumerator) with a real helm built from Go modules
// (scripts/build-tool.sh): it lints; with default values it renders the same objects as
// `konsumerator manifests` (guest mode likewise), so the two cannot drift apart; what it renders
// passes the API server's server-side dry run; and an install's ServiceAccount and RBAC are
// enough for the operator to reconcile a Consumer. kwok runs no containers, so the operator runs
// as a process outside the cluster with a token of the chart's ServiceAccount, as the chart's pods
// would; the chart's Deployment is installed and its (fake) pods become Ready all the same.
// Then upgrade, rollback and uninstall: the CRD and the Consumers stay.
import { after, before, describe, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { consumerCrd } from '../../src/api/crd.js';
import { demoCommands } from '../../src/cli/demo-commands.js';
import { CRD_NAME } from '../../src/api/constants.js';
import { IMAGE_USER } from '../../src/cli/image.js';
import { guestManifests, operatorManifests } from '../../src/cli/manifests.js';
import { dashboardConfigMaps } from '../../src/cli/dashboards.js';
import { monitoringManifests } from '../../src/cli/monitoring.js';
import { DEFAULT_IMAGE, OPERATOR_NAME } from '../../src/cli/version.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import type { ManagedProcess } from '../../src/testplane/process.js';
import { ClusterView } from '../support/cluster.js';
import { baseSpec } from '../support/consumers.js';
import { installCrd } from '../support/crd.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, testEnv, waitFor } from '../support/env.js';
import { ConsumerClient } from '../support/operator.js';
import { startOperatorProcess } from '../support/operator-process.js';
import { runToolOk } from '../support/run.js';
import { helmPath, kubectlPath } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'deploy', 'helm', 'konsumerator');
const RELEASE = 'konsumerator';
/** The labels Helm adds to every object's metadata, and the CRD's keep annotation: all else is equal. */
const HELM_ONLY_LABELS = [
  'helm.sh/chart',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by',
];
const HELM_ONLY_ANNOTATIONS = ['helm.sh/resource-policy'];

const helmHome = mkdtempSync(join(tmpdir(), 'konsumerator-helm-'));
/** helm with its caches and config in a directory of its own (never the user's). */
const helm = (args: string[], options: { input?: string } = {}) =>
  runToolOk(helmPath(), args, {
    ...options,
    env: {
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_DATA_HOME: join(helmHome, 'data'),
    },
    timeoutMs: 180_000,
  });
const kubectl = (args: string[], input?: string) =>
  runToolOk(kubectlPath(), args, input === undefined ? {} : { input });

type Obj = KubernetesObject & Record<string, unknown>;

function parseObjects(yaml: string): Obj[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object');
}

/** The object without what only Helm adds (its labels, the CRD's keep annotation). */
function withoutHelmMarks(object: Obj): Obj {
  const copy = JSON.parse(JSON.stringify(object)) as Obj;
  const metadata = copy.metadata ?? {};
  for (const [field, keys] of [
    ['labels', HELM_ONLY_LABELS],
    ['annotations', HELM_ONLY_ANNOTATIONS],
  ] as const) {
    const map = metadata[field];
    if (!map) continue;
    for (const key of keys) delete map[key];
    if (Object.keys(map).length === 0) delete metadata[field];
  }
  return copy;
}

const key = (o: KubernetesObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** Compares two sets of objects by kind, namespace and name, then each object field by field. */
function assertSameObjects(rendered: Obj[], expected: KubernetesObject[], what: string): void {
  const byKey = (objects: KubernetesObject[]) => new Map(objects.map((o) => [key(o), o]));
  const got = byKey(rendered.map(withoutHelmMarks));
  const want = byKey(expected.map((o) => JSON.parse(JSON.stringify(o)) as KubernetesObject));
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${what}: the same objects`);
  for (const [k, object] of want) assert.deepEqual(got.get(k), object, `${what}: ${k}`);
}

/** A plain URL, a target without headers, and one with two headers from a Secret. */
const NOTIFY_TARGETS = [
  'notifications.urls={https://hooks.example/a}',
  'notifications.targets[0].url=https://alerts.example/b',
  'notifications.targets[1].url=https://audit.example/c',
  'notifications.targets[1].headers[0].name=Authorization',
  'notifications.targets[1].headers[0].secretKeyRef.name=hook-auth',
  'notifications.targets[1].headers[0].secretKeyRef.key=token',
  'notifications.targets[1].headers[1].name=X-Api-Key',
  'notifications.targets[1].headers[1].secretKeyRef.name=hook-auth',
  'notifications.targets[1].headers[1].secretKeyRef.key=api-key',
];

const template = (namespace: string, ...set: string[]) =>
  helm(['template', RELEASE, CHART, '--namespace', namespace, ...set.flatMap((s) => ['--set', s])]);

describe('the chart renders what `konsumerator manifests` prints', () => {
  test('helm lint passes in cluster and guest mode', async () => {
    const cluster = await helm(['lint', '--strict', CHART]);
    assert.match(cluster, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    const guest = await helm(['lint', '--strict', CHART, '--set', 'mode=guest']);
    assert.match(guest, /0 chart\(s\) failed/);
  });

  test('default values: the CRD and the operator as `konsumerator manifests` (less the Namespace)', async () => {
    const namespace = 'konsumerator-system';
    const rendered = parseObjects(await template(namespace));
    const expected = [
      consumerCrd() as KubernetesObject,
      ...operatorManifests({ namespace, image: DEFAULT_IMAGE }),
    ];
    // `helm install --create-namespace` creates the namespace; a chart does not own it.
    assertSameObjects(
      rendered,
      expected.filter((o) => o.kind !== 'Namespace'),
      'cluster mode',
    );
    const crd = rendered.find((o) => o.kind === 'CustomResourceDefinition')!;
    assert.equal(
      crd.metadata?.annotations?.['helm.sh/resource-policy'],
      'keep',
      'an uninstall keeps the CRD',
    );
    const deployment = rendered.find((o) => o.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number } } } };
    };
    assert.equal(deployment.spec.template.spec.securityContext.runAsUser, IMAGE_USER.uid);
    assert.equal(deployment.spec.template.spec.securityContext.runAsGroup, IMAGE_USER.gid);
  });

  test('mode=guest: `konsumerator manifests --guest`', async () => {
    const namespace = 'team-a';
    const rendered = parseObjects(await template(namespace, 'mode=guest'));
    assertSameObjects(rendered, guestManifests({ namespace, image: DEFAULT_IMAGE }), 'guest mode');
  });

  test('serviceMonitor and prometheusRule: `konsumerator manifests --monitoring`; off by default', async () => {
    const namespace = 'konsumerator-system';
    const monitoringKinds = new Set(['ServiceMonitor', 'PrometheusRule']);
    const byDefault = parseObjects(await template(namespace));
    assert.deepEqual(
      byDefault.filter((o) => monitoringKinds.has(o.kind!)),
      [],
      'nothing of the Prometheus Operator unless asked',
    );
    const rendered = parseObjects(
      await template(namespace, 'serviceMonitor.enabled=true', 'prometheusRule.enabled=true'),
    ).filter((o) => monitoringKinds.has(o.kind!));
    assertSameObjects(rendered, monitoringManifests(namespace), 'monitoring');
  });

  test('security and limits values become the operator flags of docs/security.md; none by default', async () => {
    const argsOf = async (...set: string[]) =>
      (
        parseObjects(await template('konsumerator-system', ...set)).find(
          (o) => o.kind === 'Deployment',
        ) as unknown as {
          spec: { template: { spec: { containers: { args: string[] }[] } } };
        }
      ).spec.template.spec.containers[0]!.args;
    const base = await argsOf();
    assert.ok(!base.some((a) => /endpoints|max-|min-sync|read-concurrency|notify/.test(a)), base.join(' '));
    const args = await argsOf(
      'security.allowEndpoints={10.0.0.0/8,prometheus.monitoring.svc:9090}',
      'security.denyEndpoints={10.0.0.5}',
      'limits.maxInstancesPerConsumer=50',
      'limits.maxConsumersPerNamespace=20',
      'limits.minSyncPeriod=30s',
      'limits.metricsReadConcurrency=4',
      'notifications.urls={https://hooks.example/a,http://10.0.0.9:8080/b}',
      'notifications.timeout=2s',
      'notifications.queueSize=50',
    );
    assert.deepEqual(args.slice(base.length), [
      '--allow-endpoints=10.0.0.0/8',
      '--allow-endpoints=prometheus.monitoring.svc:9090',
      '--deny-endpoints=10.0.0.5',
      '--max-instances-per-consumer=50',
      '--max-consumers-per-namespace=20',
      '--min-sync-period=30s',
      '--metrics-read-concurrency=4',
      '--notify-url=https://hooks.example/a',
      '--notify-url=http://10.0.0.9:8080/b',
      '--notify-timeout=2s',
      '--notify-queue-size=50',
    ]);
  });

  test('notifications.targets: headers from Secrets become mounted volumes and --notify-header flags', async () => {
    const deployment = parseObjects(await template('konsumerator-system', ...NOTIFY_TARGETS)).find(
      (o) => o.kind === 'Deployment',
    ) as unknown as {
      spec: {
        template: {
          spec: {
            containers: { args: string[]; volumeMounts?: unknown[] }[];
            volumes?: unknown[];
          };
        };
      };
    };
    const pod = deployment.spec.template.spec;
    assert.deepEqual(
      pod.containers[0]!.args.filter((a) => a.startsWith('--notify')),
      [
        '--notify-url=https://hooks.example/a',
        '--notify-url=https://alerts.example/b',
        '--notify-url=https://audit.example/c',
        '--notify-header=3=Authorization:/etc/konsumerator/notify/1-0/value',
        '--notify-header=3=X-Api-Key:/etc/konsumerator/notify/1-1/value',
      ],
    );
    assert.deepEqual(pod.containers[0]!.volumeMounts, [
      { name: 'notify-1-0', mountPath: '/etc/konsumerator/notify/1-0', readOnly: true },
      { name: 'notify-1-1', mountPath: '/etc/konsumerator/notify/1-1', readOnly: true },
    ]);
    assert.deepEqual(pod.volumes, [
      { name: 'notify-1-0', secret: { secretName: 'hook-auth', items: [{ key: 'token', path: 'value' }] } },
      { name: 'notify-1-1', secret: { secretName: 'hook-auth', items: [{ key: 'api-key', path: 'value' }] } },
    ]);
    await assert.rejects(
      template(
        'x',
        'notifications.targets[0].url=https://b/',
        'notifications.targets[0].headers[0].name=Authorization',
      ),
      /notifications.targets\[\].headers\[\].secretKeyRef.name is required/,
    );
  });

  test('dashboards.enabled renders the dashboards as `konsumerator manifests --dashboards` prints them', async () => {
    const namespace = 'monitoring';
    const off = parseObjects(await template(namespace));
    assert.deepEqual(
      off.filter((o) => o.kind === 'ConfigMap'),
      [],
      'no dashboard ConfigMap by default',
    );
    const rendered = parseObjects(await template(namespace, 'dashboards.enabled=true')).filter(
      (o) => o.kind === 'ConfigMap',
    );
    assertSameObjects(rendered, dashboardConfigMaps(namespace), 'dashboards');
    for (const object of rendered) assert.equal(object.metadata?.labels?.grafana_dashboard, '1');
  });

  test('an unknown mode is refused', async () => {
    await assert.rejects(template('x', 'mode=global'), /mode must be cluster or guest, not "global"/);
  });
});

describe('on the test plane', () => {
  let operator: ManagedProcess | undefined;
  const releaseNamespace = `konsumerator-helm-${process.pid}`;

  before(async () => {
    // Other test files applied the operator's ClusterRoles and binding with `konsumerator
    // manifests`' names; objects Helm did not create make `helm install` stop. Take them away:
    // every file that needs them applies them again.
    const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    for (const name of [
      OPERATOR_NAME,
      `${OPERATOR_NAME}-consumers-edit`,
      `${OPERATOR_NAME}-consumers-view`,
    ]) {
      await rbac.deleteClusterRole({ name }).catch(() => undefined);
    }
    await rbac.deleteClusterRoleBinding({ name: OPERATOR_NAME }).catch(() => undefined);
    // The CRD stays (deleting it would delete every Consumer); it is adopted into the release as
    // docs/install.md says for a CRD installed without Helm.
    await installCrd(kubeConfig());
    await kubectl(['label', 'crd', CRD_NAME, '--overwrite', 'app.kubernetes.io/managed-by=Helm']);
    await kubectl([
      'annotate',
      'crd',
      CRD_NAME,
      '--overwrite',
      `meta.helm.sh/release-name=${RELEASE}`,
      `meta.helm.sh/release-namespace=${releaseNamespace}`,
    ]);
  });

  after(async () => {
    await operator?.stop();
    await helm(['uninstall', RELEASE, '--namespace', releaseNamespace, '--ignore-not-found']).catch(
      () => undefined,
    );
    await kubeConfig()
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: releaseNamespace })
      .catch(() => undefined);
    // The kept CRD stays, without the release's marks, for the files after this one.
    const helmLabels = HELM_ONLY_LABELS.map((l) => `${l}-`);
    const helmAnnotations = [
      ...HELM_ONLY_ANNOTATIONS,
      'meta.helm.sh/release-name',
      'meta.helm.sh/release-namespace',
    ];
    await kubectl(['label', 'crd', CRD_NAME, ...helmLabels]).catch(() => undefined);
    await kubectl(['annotate', 'crd', CRD_NAME, ...helmAnnotations.map((a) => `${a}-`)]).catch(
      () => undefined,
    );
    await deleteTestNamespaces();
  });

  test('what the chart renders passes the server-side dry run (cluster and guest mode)', async () => {
    const guestNamespace = await newNamespace('helm-guest');
    await kubectl(['create', 'namespace', releaseNamespace]);
    // With notification targets, so their Secret volumes are checked too.
    const cluster = await template(releaseNamespace, ...NOTIFY_TARGETS);
    const applied = await kubectl(
      ['apply', '--server-side', '--dry-run=server', '--force-conflicts', '-f', '-'],
      cluster,
    );
    assert.match(
      applied,
      /customresourcedefinition.apiextensions.k8s.io\/consumers.konsumerator.lwolf.org serverside-applied \(server dry run\)/,
    );
    assert.match(applied, /deployment.apps\/konsumerator serverside-applied \(server dry run\)/);
    const guest = await template(guestNamespace, 'mode=guest');
    const guestApplied = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], guest);
    assert.match(
      guestApplied,
      /role.rbac.authorization.k8s.io\/konsumerator serverside-applied \(server dry run\)/,
    );
    await kubectl(['delete', 'namespace', releaseNamespace, '--wait=true']);
  });

  test('helm install: its ServiceAccount and RBAC run the operator, which reconciles a Consumer', async () => {
    const installed = await helm([
      'install',
      RELEASE,
      CHART,
      '--namespace',
      releaseNamespace,
      '--create-namespace',
      // The CRD's fields belong to the field manager that applied it before: Helm's server-side
      // apply takes them over (docs/install.md).
      '--force-conflicts',
      '--wait',
      '--timeout',
      '2m',
    ]);
    assert.match(installed, /STATUS: deployed/);
    // The chart's Deployment rolled out (kwok plays its two pods).
    const apps = kubeConfig().makeApiClient(AppsV1Api);
    const deployment = await apps.readNamespacedDeployment({
      name: OPERATOR_NAME,
      namespace: releaseNamespace,
    });
    assert.equal(deployment.status?.readyReplicas, 2);
    // The CRD is the release's now, with the keep policy.
    const crd = await kubeConfig()
      .makeApiClient(ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: CRD_NAME });
    assert.equal(crd.metadata?.annotations?.['helm.sh/resource-policy'], 'keep');

    // The operator as the chart's ServiceAccount, leader election in the release's namespace.
    const token = await kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccountToken({
        name: OPERATOR_NAME,
        namespace: releaseNamespace,
        body: { spec: { audiences: [], expirationSeconds: 3600 } },
      });
    const env = testEnv();
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'plane', server: env.apiServerUrl, caFile: env.caFile }],
      users: [{ name: 'chart', token: token.status!.token }],
      contexts: [{ name: 'chart', cluster: 'plane', user: 'chart' }],
      currentContext: 'chart',
    });
    const kubeconfigFile = join(helmHome, 'chart-sa.kubeconfig');
    writeFileSync(kubeconfigFile, config.exportConfig(), { mode: 0o600 });
    operator = startOperatorProcess({
      name: 'helm-chart-operator',
      kubeconfigFile,
      leaseName: 'konsumerator-global',
      extraArgs: [`--leader-election-namespace=${releaseNamespace}`],
    });

    const ns = await newNamespace('helm-consumers');
    const consumers = new ConsumerClient();
    await consumers.create(
      ns,
      'orders',
      baseSpec({ namespace: ns, numPartitions: 4, numPartitionsPerInstance: 2 }),
    );
    await consumers.waitReady(ns, 'orders');
    await new ClusterView().waitAllRunning(ns, 2);
    // The commands the demo prints, pasted into a shell as they are.
    const [list, sizes, describe, events] = demoCommands({
      kubectl: kubectlPath(),
      kubeconfig: testEnv().kubeconfigPath,
      namespace: ns,
      consumer: 'orders',
    }).map((line) => runToolOk('bash', ['-c', line]));
    assert.match(await list!, new RegExp(`${ns}\\s+orders`));
    const table = await sizes!;
    assert.match(table, /^INSTANCE\s+PARTITIONS\s+CPU\s+MEMORY\s+STATE/);
    assert.match(table, /orders-0\s+0,1\s+100m\s+100M\s/, table);
    assert.match(table, /orders-1\s+2,3\s+100m\s+100M\s/, table);
    assert.match(await describe!, /Name:\s+orders/);
    assert.match(await events!, /Created/);
  });

  test('helm upgrade and rollback change the operator, and uninstall keeps the CRD and the Consumers', async () => {
    const apps = kubeConfig().makeApiClient(AppsV1Api);
    const replicas = async () =>
      (await apps.readNamespacedDeployment({ name: OPERATOR_NAME, namespace: releaseNamespace })).spec
        ?.replicas;
    await helm(['upgrade', RELEASE, CHART, '--namespace', releaseNamespace, '--set', 'replicas=1', '--wait']);
    assert.equal(await replicas(), 1);
    await helm(['rollback', RELEASE, '1', '--namespace', releaseNamespace, '--wait']);
    assert.equal(await replicas(), 2);

    await operator?.stop();
    operator = undefined;
    const custom = new ConsumerClient();
    const before = (await custom.custom.listClusterCustomObject({
      group: 'konsumerator.lwolf.org',
      version: 'v1',
      plural: 'consumers',
    })) as { items: unknown[] };
    assert.ok(before.items.length >= 1);
    const uninstalled = await helm(['uninstall', RELEASE, '--namespace', releaseNamespace, '--wait']);
    assert.match(
      uninstalled,
      /These resources were kept due to the resource policy:[\s\S]*CustomResourceDefinition/,
    );
    const crds = kubeConfig().makeApiClient(ApiextensionsV1Api);
    assert.equal((await crds.readCustomResourceDefinition({ name: CRD_NAME })).metadata?.name, CRD_NAME);
    await waitFor('the operator Deployment deleted', async () =>
      apps.readNamespacedDeployment({ name: OPERATOR_NAME, namespace: releaseNamespace }).then(
        () => false,
        () => true,
      ),
    );
    const afterwards = (await custom.custom.listClusterCustomObject({
      group: 'konsumerator.lwolf.org',
      version: 'v1',
      plural: 'consumers',
    })) as { items: unknown[] };
    assert.equal(afterwards.items.length, before.items.length, 'every Consumer is still there');
  });
});
