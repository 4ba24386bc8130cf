// High availability with real operator processes: three `konsumerator run --leader-elect`
// processes, each as its own ServiceAccount. The leader is killed with SIGKILL twice; each time
// another process takes over within the lease time and finishes the change made meanwhile. The
// API server's audit log shows who wrote what when: the write periods of the processes never
// overlap. At the end a SIGTERM stops the last leader cleanly and releases the Lease.
import { after, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ManagedProcess } from '../../src/testplane/process.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, waitFor } from '../support/env.js';
import { installCrd } from '../support/crd.js';
import { ConsumerClient } from '../support/operator.js';
import { baseSpec } from '../support/consumers.js';
import {
  auditEvents,
  auditedOperatorIdentity,
  auditedUser,
  leaseHolder,
  startOperatorProcess,
  successfulWrites,
  TEST_LEASE,
} from '../support/operator-process.js';

const LEASE = 'konsumerator-ha-processes';
const NAMES = ['ha-a', 'ha-b', 'ha-c'] as const;
const running: ManagedProcess[] = [];
after(async () => {
  await Promise.all(running.map((p) => p.stop(5000)));
  await deleteTestNamespaces();
});

const TITLE = 'SIGKILL of the leader process: another takes over within the lease; writes never overlap';
/** Measured 19–25 s; starting three operator processes took up to 35 s each at a load average of 20. */
const TIMEOUT_MS = 300_000;

test(TITLE, { timeout: TIMEOUT_MS }, async (t) => {
  await installCrd(kubeConfig());
  const configs = await Promise.all(NAMES.map((n) => auditedOperatorIdentity(n)));
  const consumers = new ConsumerClient();
  const ns = await newNamespace('ha-processes');
  const spec = baseSpec({ namespace: ns, numPartitions: 6, numPartitionsPerInstance: 1 });
  await consumers.create(ns, 'orders', spec);

  const processes = new Map<string, ManagedProcess>();
  NAMES.forEach((name, i) => {
    const p = startOperatorProcess({ name, kubeconfigFile: configs[i]!, leaseName: LEASE });
    running.push(p);
    processes.set(auditedUser(name), p);
  });
  const users = [...processes.keys()];
  // All three up (a slow machine takes a while to start Node with tsx), one of them leading.
  const readsLease = (user: string) =>
    auditEvents([user]).some((e) => e.verb === 'get' && e.resource === 'leases' && e.name === LEASE);
  await waitFor('all processes watching the Lease', async () => users.every(readsLease), 240_000);
  await consumers.waitReady(ns, 'orders', 120_000);
  await sleep(3 * TEST_LEASE.retryMs);

  const leaseWrites = () =>
    successfulWrites(auditEvents(users)).filter((e) => e.resource === 'leases' && e.name === LEASE);
  /** The leader, from the API server's view: the last to write the Lease. */
  const leader = () => leaseWrites().at(-1)!.user;
  const leaders = [leader()];
  const handOvers: number[] = [];
  for (const round of [1, 2]) {
    const victim = processes.get(leaders.at(-1)!)!;
    const killedAt = Date.now();
    process.kill(victim.pid, 'SIGKILL');
    await victim.exited;
    // A change for the next leader to carry out.
    await consumers.setSpec(ns, 'orders', { ...spec, numPartitionsPerInstance: round === 1 ? 2 : 3 });
    const takeover = await waitFor(
      'a new leader',
      async () => leaseWrites().find((w) => w.received > killedAt && w.user !== leaders.at(-1)),
      10 * TEST_LEASE.leaseMs,
    );
    // From the kill until the new leader's first accepted write of the Lease (the API server's clock).
    handOvers.push(Math.round(takeover.received - killedAt));
    leaders.push(takeover.user);
    await consumers.waitReady(ns, 'orders', 120_000);
    const deployments = await consumers.deployments(ns);
    assert.equal(deployments.length, round === 1 ? 3 : 2, 'the new leader carried out the change');
    await sleep(3 * TEST_LEASE.retryMs);
  }

  // Graceful stop of the last leader: exit code 0 and the Lease is released at once.
  const last = processes.get(leaders.at(-1)!)!;
  last.stop(15_000).catch(() => undefined);
  const exit = await last.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM ends the process cleanly');
  assert.equal(await leaseHolder(LEASE), undefined, 'the Lease is released on SIGTERM');

  // The API server's view: per process, the span from its first to its last accepted write.
  const writes = successfulWrites(auditEvents(users));
  const spans = leaders.map((user) => {
    const mine = writes.filter((w) => w.user === user);
    return {
      user,
      writes: mine.length,
      first: Math.min(...mine.map((w) => w.received)),
      last: Math.max(...mine.map((w) => w.completed)),
      kinds: [...new Set(mine.map((w) => `${w.verb} ${w.resource}`))].sort(),
    };
  });
  assert.equal(new Set(leaders).size, 3, `three different leaders in turn: ${leaders.join(', ')}`);
  for (let i = 1; i < spans.length; i++) {
    const gap = spans[i]!.first - spans[i - 1]!.last;
    t.diagnostic(
      `gap between the writes of ${spans[i - 1]!.user} and ${spans[i]!.user}: ${gap.toFixed(0)} ms`,
    );
    assert.ok(
      gap > 0,
      `${spans[i]!.user} wrote ${(-gap).toFixed(1)} ms before ${spans[i - 1]!.user}'s last write completed`,
    );
  }
  for (const s of spans)
    t.diagnostic(
      `${s.user}: ${s.writes} writes over ${(s.last - s.first).toFixed(0)} ms (${s.kinds.join(', ')})`,
    );
  // Each new leader waited for the lease to expire, and not much longer.
  const { leaseMs, retryMs } = TEST_LEASE;
  t.diagnostic(
    `hand-over after SIGKILL: ${handOvers.join(' ms, ')} ms (lease ${leaseMs} ms, renew ${TEST_LEASE.renewMs} ms, retry ${retryMs} ms)`,
  );
  for (const ms of handOvers) {
    assert.ok(ms >= leaseMs - retryMs - 500, `took over ${ms} ms after the kill: before the lease expired`);
    assert.ok(ms <= leaseMs + 2 * retryMs + 3000, `took over ${ms} ms after the kill (lease ${leaseMs} ms)`);
  }
});
