// An API server without in-place pod resize (before Kubernetes 1.33) gets rollouts: said once on
// the Consumer (condition and event), never an error loop. The plane's API server has the resize
// subresource, so the operator is told its discovery answer is "no".
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Operator } from '../../src/controller/operator.js';
import { Annotation } from '../../src/api/constants.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient, apiRequestCounts, operatorWrites, startOperator } from '../support/operator.js';
import { busy, calm, instancePods, sized, staticSpec, templateOf, waitPodAt } from '../support/in-place.js';

const consumers = new ConsumerClient();
let operator: Operator | undefined;

before(async () => {
  await installCrd(kubeConfig());
  operator = await startOperator(undefined, 60_000, { resizeSupported: async () => false });
});
after(async () => {
  await deleteTestNamespaces();
  await operator?.stop();
});

test('without the resize subresource decisions roll out, reported once', async () => {
  const ns = await newNamespace('inplace-unsupported');
  const spec = (p: typeof calm) => staticSpec(ns, { partitions: { '0': p } });
  await consumers.create(ns, 'orders', spec(calm));
  const consumer = await consumers.waitCondition(ns, 'orders', 'InPlaceResize', 'Unsupported');
  const condition = consumer.status!.conditions!.find((c) => c.type === 'InPlaceResize')!;
  assert.equal(condition.status, 'False');
  assert.match(condition.message, /before 1\.33\): resource changes roll out/);
  const pod = await waitPodAt(ns, 'orders-0', {
    requests: { cpu: '100m', memory: '100M' },
    limits: { cpu: '1', memory: '100M' },
  });

  await consumers.setSpec(ns, 'orders', spec(busy(3)));
  const rolled = await waitPodAt(ns, 'orders-0', sized('3', '300M'));
  assert.notEqual(rolled.metadata!.uid, pod.metadata!.uid, 'a rollout');
  const deployment = (await instancePods(ns)).get('orders-0')!.deployment;
  assert.deepEqual(templateOf(deployment), sized('3', '300M'));
  assert.equal(deployment.metadata!.annotations![Annotation.resources], undefined);

  // The rollout's read wrote its status once, as things stand after it, and its end (the new pod
  // ready) once more; the quiet window starts after both and spans three 1-second reads, each of
  // which would roll out again if the operator looped.
  await waitFor('the status after the rollout, the rollout done', async () => {
    const status = (await consumers.get(ns, 'orders')).status;
    const entry = status?.instances?.[0];
    const ready = status?.conditions?.find((c) => c.type === 'Ready');
    return entry?.action === 'scale-up' && entry.cpu === '3' && ready?.status === 'True';
  });
  const quiet = await apiRequestCounts();
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(operatorWrites(quiet, await apiRequestCounts()), {}, 'no loop');
  const events = (
    await kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns })
  ).items.filter((e) => e.reason === 'InPlaceResizeUnsupported');
  assert.equal(events.length, 1, 'said once');
});
