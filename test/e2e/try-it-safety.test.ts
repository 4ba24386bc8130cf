// The try-it tools refuse what would harm a real cluster or a real Kafka, against the test plane's
// API server and broker: loadgen an existing topic, simulate-group a group with committed
// offsets, the demo on a cluster anything outside a namespace of its own (no CRD written, no other
// Consumer reconciled, no namespace it did not create).
import { after, describe, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { KafkaAdmin, KafkaProducer } from '../../src/kafka/client.js';
import { runLoadgen, runSimulatedGroup } from '../../src/cli/loadgen.js';
import { runDemo } from '../../src/cli/demo.js';
import { DEMO_NAMESPACE_LABEL, DEMO_NAMESPACE_LABEL_VALUE } from '../../src/cli/try-it-guards.js';
import { CRD_NAME, GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import { GuestAnnotation } from '../../src/api/guest.js';
import { deleteTestNamespaces, kubeConfig, metricsPlane, newNamespace, testEnv } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { baseSpec } from '../support/consumers.js';

const env = metricsPlane();
const suffix = randomBytes(3).toString('hex');
const connection = { clientId: 'try-it-safety-test', brokers: [env.kafkaBootstrap] };

async function logEnds(admin: KafkaAdmin, topic: string): Promise<number[]> {
  return (await admin.topicOffsets(topic)).map((o) => o.high);
}

describe('loadgen', () => {
  const admin = new KafkaAdmin(connection);
  after(() => admin.close());

  test('refuses an existing topic and writes nothing to it; --force writes', async () => {
    const topic = `try-it-existing-${suffix}`;
    await admin.createTopic(topic, 2);
    await assert.rejects(
      runLoadgen({ brokers: env.kafkaBootstrap, topic, rates: '50,50', duration: '2s' }),
      /topic try-it-existing-\w+ already exists: .*--force/,
    );
    assert.deepEqual(await logEnds(admin, topic), [0, 0], 'nothing was written');
    await runLoadgen({ brokers: env.kafkaBootstrap, topic, rates: '50,50', duration: '1s', force: true });
    const ends = await logEnds(admin, topic);
    assert.ok(
      ends.every((end) => end > 0),
      `--force wrote to every partition: ${ends.join(', ')}`,
    );
  });

  test('creates a new topic (one partition per rate) and writes to it', async () => {
    const topic = `try-it-new-${suffix}`;
    await runLoadgen({ brokers: env.kafkaBootstrap, topic, rates: '40,40,40', duration: '1s' });
    const ends = await logEnds(admin, topic);
    assert.equal(ends.length, 3);
    assert.ok(
      ends.every((end) => end > 0),
      `wrote to every partition: ${ends.join(', ')}`,
    );
  });
});

describe('simulate-group', () => {
  const admin = new KafkaAdmin(connection);
  const producer = new KafkaProducer(connection);
  after(async () => {
    await producer.close();
    await admin.close();
  });

  test('refuses a group with committed offsets and leaves them; a new group is moved forward', async () => {
    const namespace = await newNamespace('try-it-group');
    const topic = `try-it-group-${suffix}`;
    await admin.createTopic(topic, 2);
    await producer.send(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, value: Buffer.from(`m${i}`) })),
    );
    const realGroup = `real-consumers-${suffix}`;
    await admin.commitOffsets(realGroup, topic, new Map([[0, 3]]));
    const options = {
      brokers: env.kafkaBootstrap,
      topic,
      namespace,
      ratePerCore: '100',
      duration: '1s',
      kubeconfig: testEnv().kubeconfigPath,
    };
    await assert.rejects(
      runSimulatedGroup({ ...options, group: realGroup }),
      /group real-consumers-\w+ already has committed offsets for topic .* \(partitions 0\).*skip.*--force/s,
    );
    assert.deepEqual(
      [...(await admin.committedOffsets(realGroup, topic))],
      [[0, 3]],
      'the real group is untouched',
    );
    // A group of its own: the simulation commits the start of the log for every partition (no
    // instance owns any, the namespace has no Deployments, so it consumes nothing).
    const testGroup = `test-group-${suffix}`;
    await runSimulatedGroup({ ...options, group: testGroup });
    assert.deepEqual(
      [...(await admin.committedOffsets(testGroup, topic))].sort(([a], [b]) => a - b),
      [
        [0, 0],
        [1, 0],
      ],
    );
    // --force takes the real group over: its offset stays where it was (nothing consumes).
    await runSimulatedGroup({ ...options, group: realGroup, force: true });
    assert.equal((await admin.committedOffsets(realGroup, topic)).get(0), 3);
  });
});

describe('demo --cluster', () => {
  after(deleteTestNamespaces);

  test('works in a namespace of its own, in guest mode: no CRD write, no other Consumer touched', async () => {
    const kc = kubeConfig();
    await installCrd(kc);
    const crds = kc.makeApiClient(ApiextensionsV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const crdBefore = await crds.readCustomResourceDefinition({ name: CRD_NAME });
    // Somebody else's Consumer in the same cluster: a cluster-wide operator would create its Deployments.
    const otherNamespace = await newNamespace('try-it-other');
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: otherNamespace,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Consumer',
        metadata: { name: 'theirs', namespace: otherNamespace },
        spec: baseSpec({ namespace: otherNamespace, name: 'theirs-consumer' }),
      },
    });

    const namespace = `try-it-demo-${suffix}`;
    await runDemo({
      cluster: true,
      kubeconfig: testEnv().kubeconfigPath,
      kafka: false,
      namespace,
      duration: '12s',
      logLevel: 'error',
    });
    try {
      const created = await core.readNamespace({ name: namespace });
      assert.equal(created.metadata?.labels?.[DEMO_NAMESPACE_LABEL], DEMO_NAMESPACE_LABEL_VALUE);
      const configMap = await core.readNamespacedConfigMap({ name: 'orders', namespace });
      assert.ok(configMap.metadata?.annotations?.[GuestAnnotation.managed] !== undefined);
      const instances = (await apps.listNamespacedDeployment({ namespace })).items.map(
        (d) => d.metadata!.name,
      );
      assert.deepEqual(instances.sort(), ['orders-consumer-0', 'orders-consumer-1', 'orders-consumer-2']);
      assert.ok(
        configMap.metadata?.annotations?.[GuestAnnotation.conditions],
        'the guest operator wrote its status',
      );
      const crdAfter = await crds.readCustomResourceDefinition({ name: CRD_NAME });
      assert.equal(
        crdAfter.metadata?.resourceVersion,
        crdBefore.metadata?.resourceVersion,
        'CRD not written',
      );
      assert.deepEqual(
        (await apps.listNamespacedDeployment({ namespace: otherNamespace })).items,
        [],
        'the other Consumer was not reconciled',
      );

      // A namespace the demo did not create is refused, and nothing is written into it.
      const foreign = await newNamespace('try-it-foreign');
      await assert.rejects(
        runDemo({
          cluster: true,
          kubeconfig: testEnv().kubeconfigPath,
          kafka: false,
          namespace: foreign,
          duration: '2s',
          logLevel: 'error',
        }),
        /namespace try-it-foreign-\w+ exists and was not created by the demo/,
      );
      assert.deepEqual(
        (await core.listNamespacedConfigMap({ namespace: foreign })).items.filter(
          (c) => c.metadata?.name === 'orders',
        ),
        [],
      );
      assert.deepEqual((await apps.listNamespacedDeployment({ namespace: foreign })).items, []);
    } finally {
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    }
  });
});
