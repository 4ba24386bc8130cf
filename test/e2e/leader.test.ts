// High availability: two operator replicas with Lease-based leader election, authenticated as the
// operator's own ServiceAccount with the shipped RBAC. One reconciles; a graceful stop hands over
// at once; a replica that dies without releasing is replaced once its lease expires.
import { after, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { Operator } from '../../src/controller/operator.js';
import { silentLogger } from '../../src/util/log.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient } from '../support/operator.js';
import { baseSpec } from '../support/consumers.js';
import { operatorServiceAccountConfig } from '../support/service-account.js';

const LEASE_NAMESPACE = 'konsumerator-leader-test';
const LEASE = 'konsumerator-leader-test';
const LEASE_MS = 3000;
const RETRY_MS = 500;
/**
 * A released Lease is taken on the other replica's next retry: the retry period, plus a second
 * for the two requests (read, replace) on a loaded machine. Half the lease: a replica that only
 * took over at expiry (the release did not work) needs at least the lease minus one retry.
 */
const GRACEFUL_BOUND_MS = RETRY_MS + 1000;
const operators: Operator[] = [];
after(async () => {
  await deleteTestNamespaces();
  await Promise.all(operators.map((o) => o.stop()));
});

function replica(config: KubeConfig, identity: string, onLost: () => void = () => undefined): Operator {
  const operator = new Operator({
    kubeConfig: config,
    log: silentLogger(),
    version: 'test',
    leaderElection: {
      namespace: LEASE_NAMESPACE,
      name: LEASE,
      identity,
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: 2000,
      retryPeriodMs: RETRY_MS,
      onLost,
    },
  });
  operators.push(operator);
  return operator;
}

const lease = async () =>
  (
    await kubeConfig()
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: LEASE_NAMESPACE, name: LEASE })
  ).spec!;
const holder = async () => (await lease()).holderIdentity;

test('one leader reconciles; graceful stop hands over at once; a dead leader is replaced after its lease', async (t) => {
  await installCrd(kubeConfig());
  const config = await operatorServiceAccountConfig(LEASE_NAMESPACE);
  const a = replica(config, 'replica-a');
  await a.start();
  await waitFor('replica-a leads', async () => a.isLeader);
  const b = replica(config, 'replica-b');
  await b.start();
  await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
  assert.equal(b.isLeader, false, 'only one leader');
  assert.equal(await holder(), 'replica-a');

  const consumers = new ConsumerClient();
  const ns = await newNamespace('leader');
  await consumers.create(
    ns,
    'orders',
    baseSpec({ namespace: ns, numPartitions: 2, numPartitionsPerInstance: 1 }),
  );
  await consumers.waitReady(ns, 'orders');

  // Graceful: the leader releases the Lease (empty holder), the other takes it on its next retry,
  // well before the lease would have expired. Taking a released Lease is not a transition from
  // another holder: leaseTransitions stays as it was.
  const transitions = (await lease()).leaseTransitions ?? 0;
  let started = Date.now();
  await a.stop();
  await waitFor('replica-b leads', async () => b.isLeader, 10_000);
  const graceful = Date.now() - started;
  assert.equal(await holder(), 'replica-b');
  assert.ok(
    graceful <= GRACEFUL_BOUND_MS,
    `replica-b took over ${graceful} ms after the graceful stop began, beyond ${GRACEFUL_BOUND_MS} ms: ` +
      `the Lease was not released, it expired (lease ${LEASE_MS} ms)`,
  );
  assert.equal((await lease()).leaseTransitions ?? 0, transitions, 'replica-b took a released Lease');

  // A replica that dies keeps the Lease until it expires: stand in for SIGKILL by a replica whose
  // renewals stop (its process keeps no timers: stop() after abandoning the lease).
  const c = replica(config, 'replica-c');
  await c.start();
  started = Date.now();
  await b.abandonLeadership();
  await waitFor('replica-c leads', async () => c.isLeader, 3 * LEASE_MS + 5000);
  const takeover = Date.now() - started;
  assert.ok(takeover >= LEASE_MS - 1000, `not before the lease expired (${takeover} ms)`);
  assert.equal(
    (await lease()).leaseTransitions ?? 0,
    transitions + 1,
    'replica-c took the Lease over from replica-b',
  );
  t.diagnostic(
    `hand-over: graceful ${graceful} ms (bound ${GRACEFUL_BOUND_MS} ms); after a dead leader ${takeover} ms (lease ${LEASE_MS} ms, retry ${RETRY_MS} ms)`,
  );

  // The new leader reconciles: a new Consumer converges.
  await consumers.create(
    ns,
    'payments',
    baseSpec({ namespace: ns, name: 'payments', numPartitions: 2, numPartitionsPerInstance: 1 }),
  );
  await consumers.waitReady(ns, 'payments');
});
