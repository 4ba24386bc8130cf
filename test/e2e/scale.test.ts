// Control-plane cost of one Consumer with 100 instances, counted from the API server's own
// request metrics: every instance needs exactly one Deployment write, and a converged Consumer
// needs none.
import { test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { newNamespace, waitFor } from '../support/env.js';
import {
  ConsumerClient,
  apiRequestCounts,
  operatorWrites,
  operatorForThisFile,
  totalWrites,
} from '../support/operator.js';
import { ClusterView } from '../support/cluster.js';
import { baseSpec } from '../support/consumers.js';

const consumers = new ConsumerClient();
const cluster = new ClusterView();
operatorForThisFile();

const TITLE = 'a 100-instance Consumer converges with one write per instance and then writes nothing';
/** Measured 27 s; its own waits allow 120 s for the Deployments and 180 s more for Ready. */
const TIMEOUT_MS = 330_000;

test(TITLE, { timeout: TIMEOUT_MS }, async (t) => {
  const ns = await newNamespace('scale');
  const startCounts = await apiRequestCounts();
  const started = performance.now();
  await consumers.create(
    ns,
    'wide',
    baseSpec({ namespace: ns, name: 'wide', numPartitions: 100, numPartitionsPerInstance: 1 }),
  );
  await waitFor('100 Deployments', async () => (await cluster.deploymentNames(ns)).length === 100, 120_000);
  const deploymentsAt = performance.now();
  await consumers.waitReady(ns, 'wide', 180_000);
  const readyAt = performance.now();
  const writes = operatorWrites(startCounts, await apiRequestCounts());
  delete writes['POST konsumerator.lwolf.org/consumers']; // the test's own create
  t.diagnostic(
    `100 instances: Deployments created in ${((deploymentsAt - started) / 1000).toFixed(1)} s, Ready (all pods running) in ${((readyAt - started) / 1000).toFixed(1)} s; operator writes ${JSON.stringify(writes)} (total ${totalWrites(writes)})`,
  );
  assert.equal(writes['APPLY apps/deployments'], 100, 'one server-side apply per instance');
  assert.ok(
    (writes['PATCH konsumerator.lwolf.org/consumers/status'] ?? 0) <= 10,
    `status writes: ${JSON.stringify(writes)}`,
  );

  const idleStart = await apiRequestCounts();
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(operatorWrites(idleStart, await apiRequestCounts()), {}, 'idle: no writes');
});
