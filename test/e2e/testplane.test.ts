// Proves the test plane is a real cluster: controllers turn a Deployment into a Running pod on
// the kwok node, the garbage collector removes dependents, and RBAC refuses what it should.
import assert from 'node:assert/strict';
import { describe, it } from '../support/timed.js';
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { kubeConfig, newNamespace, testEnv, waitFor } from '../support/env.js';

const kc = kubeConfig();
const apps = kc.makeApiClient(AppsV1Api);
const core = kc.makeApiClient(CoreV1Api);

function oneReplicaDeployment(name: string): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'main', image: 'example.invalid/never-pulled:1' }] },
      },
    },
  };
}

async function podsOf(namespace: string, app: string) {
  return (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
}

describe('test plane', () => {
  it('runs a Deployment as a Running, Ready pod on the kwok node', async () => {
    const namespace = await newNamespace('tp-deploy');
    await apps.createNamespacedDeployment({ namespace, body: oneReplicaDeployment('web') });

    const pod = await waitFor('a Running, Ready pod of web', async () => {
      const [p] = await podsOf(namespace, 'web');
      const ready = p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      return p?.status?.phase === 'Running' && ready ? p : undefined;
    });
    assert.equal(pod.spec?.nodeName, testEnv().nodeName);
    assert.equal(pod.metadata?.ownerReferences?.[0]?.kind, 'ReplicaSet');

    const deployment = await waitFor('deployment web available', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace });
      return d.status?.availableReplicas === 1 ? d : undefined;
    });
    assert.equal(deployment.status?.readyReplicas, 1);
  });

  it('garbage-collects the ReplicaSet and pods of a deleted Deployment', async () => {
    const namespace = await newNamespace('tp-gc');
    await apps.createNamespacedDeployment({ namespace, body: oneReplicaDeployment('doomed') });
    await waitFor('a pod of doomed', async () => (await podsOf(namespace, 'doomed')).length === 1);
    const replicaSets = await apps.listNamespacedReplicaSet({ namespace });
    assert.equal(replicaSets.items.length, 1);

    // Background: the Deployment goes at once; its dependents are left to the garbage collector.
    await apps.deleteNamespacedDeployment({ name: 'doomed', namespace, propagationPolicy: 'Background' });

    await waitFor('ReplicaSets and pods of doomed gone', async () => {
      const rs = await apps.listNamespacedReplicaSet({ namespace });
      const pods = await podsOf(namespace, 'doomed');
      return rs.items.length === 0 && pods.length === 0;
    });
  });

  it('enforces RBAC: a ServiceAccount token may not list Secrets cluster-wide', async () => {
    const namespace = await newNamespace('tp-rbac');
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'nobody' } } });
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      name: 'nobody',
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tokenRequest.status?.token;
    assert.ok(token, 'TokenRequest returned a token');

    const asNobody = kubeConfigWithToken(token).makeApiClient(CoreV1Api);
    const refusal = await asNobody.listSecretForAllNamespaces().then(
      () => assert.fail('listing Secrets cluster-wide was allowed'),
      (err: unknown) => err,
    );
    assert.ok(refusal instanceof ApiException, `expected an ApiException, got ${String(refusal)}`);
    // 403, not 401: the token is authenticated as the ServiceAccount, then refused by RBAC.
    assert.equal(refusal.code, 403);
    assert.match(bodyText(refusal.body), new RegExp(`system:serviceaccount:${namespace}:nobody`));

    // The admin (system:masters) may.
    await core.listSecretForAllNamespaces();
  });
});

function kubeConfigWithToken(token: string): KubeConfig {
  const env = testEnv();
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'testplane', server: env.apiServerUrl, caFile: env.caFile }],
    users: [{ name: 'sa', token }],
    contexts: [{ name: 'sa', cluster: 'testplane', user: 'sa' }],
    currentContext: 'sa',
  });
  return config;
}

function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : JSON.stringify(body);
}
