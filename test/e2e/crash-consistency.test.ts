// Crash consistency: the operator process (`konsumerator run --leader-elect`) is killed with
// SIGKILL at a seeded random moment while it carries out a large change of a 200-instance
// Consumer, and restarted. Changes alternate between a repartition (1 ↔ 2 partitions per
// instance: 200 ↔ 100 Deployments) and a roll of every instance (a template change). After each
// restart the operator must converge to exactly the desired set of Deployments (no duplicate,
// orphaned or missing one, each with the right partitions and template), and every Deployment
// must have rolled out exactly as often as the change needs: once if its pod template changed,
// never otherwise (counted with the Deployment controller's revision annotation, which grows on
// every new pod template, rollbacks included). Two more rounds stop the operator with SIGTERM
// instead: it exits 0, releases the Lease, and its successor finishes the change.
//
// The instances run 0 replicas: the check is on the Deployments and their rollouts, and 200 pods
// per round would measure kwok and the scheduler rather than the operator. CRASH_ROUNDS (default 20)
// and CRASH_SEED (default 1) choose the rounds.
import { test, after } from '../support/timed.js';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Deployment } from '@kubernetes/client-node';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { Annotation } from '../../src/api/constants.js';
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
} from '../support/operator-process.js';

const PARTITIONS = 200;
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 20);
const BASE_SEED = Number(process.env.CRASH_SEED ?? 1);
const LEASE = 'konsumerator-crash-test';
const IDENTITY = 'crash-test';
const REVISION = 'deployment.kubernetes.io/revision';

let operator: ManagedProcess | undefined;
after(async () => {
  await operator?.stop(5000);
  await deleteTestNamespaces();
});

/** mulberry32: a small seeded PRNG, so every round's kill moment can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Desired {
  perInstance: 1 | 2;
  /** The value of the ROUND env var in the template; changing it rolls every instance. */
  round: number;
}

function specOf(namespace: string, desired: Desired): ConsumerSpec {
  const spec = baseSpec({
    namespace,
    name: 'bulk',
    numPartitions: PARTITIONS,
    numPartitionsPerInstance: desired.perInstance,
  });
  spec.deploymentTemplate.replicas = 0;
  spec.deploymentTemplate.template.spec!.containers[0]!.env = [
    { name: 'ROUND', value: String(desired.round) },
  ];
  return spec;
}

const envOf = (d: V1Deployment, name: string) =>
  d.spec?.template?.spec?.containers?.[0]?.env?.find((e) => e.name === name)?.value;

/** Deployment name → (uid, revision, pod template as JSON). */
type Snapshot = Map<string, { uid: string; revision: number; template: string }>;

function snapshot(deployments: readonly V1Deployment[]): Snapshot {
  return new Map(
    deployments.map((d) => [
      d.metadata!.name!,
      {
        uid: d.metadata!.uid!,
        revision: Number(d.metadata?.annotations?.[REVISION] ?? 0),
        template: JSON.stringify(d.spec?.template),
      },
    ]),
  );
}

/**
 * Exactly the desired Deployments, each owned by the Consumer, with its partitions and template,
 * rolled out (the controller has observed the latest generation). Returns the list, or a
 * description of what is not (yet) right.
 */
function checkDesired(
  deployments: readonly V1Deployment[],
  consumerUid: string,
  desired: Desired,
): { ok: true } | { ok: false; why: string } {
  const count = PARTITIONS / desired.perInstance;
  const wanted = new Set(Array.from({ length: count }, (_, i) => `bulk-${i}`));
  const names = deployments.map((d) => d.metadata!.name!);
  const extra = names.filter((n) => !wanted.has(n));
  const missing = [...wanted].filter((n) => !names.includes(n));
  if (extra.length || missing.length)
    return {
      ok: false,
      why: `extra ${extra.slice(0, 5).join(',')}… missing ${missing.slice(0, 5).join(',')}…`,
    };
  const covered = new Map<number, string>();
  for (const d of deployments) {
    const name = d.metadata!.name!;
    const id = Number(name.slice('bulk-'.length));
    if (!d.metadata?.ownerReferences?.some((r) => r.controller && r.uid === consumerUid))
      return { ok: false, why: `${name} is not controlled by the Consumer` };
    const partitions = d.metadata?.annotations?.[Annotation.partition] ?? '';
    const expected = Array.from({ length: desired.perInstance }, (_, k) => id * desired.perInstance + k).join(
      ',',
    );
    if (partitions !== expected)
      return { ok: false, why: `${name} has partitions ${partitions}, not ${expected}` };
    if (envOf(d, 'KONSUMERATOR_PARTITION') !== expected) return { ok: false, why: `${name}: partition env` };
    if (envOf(d, 'ROUND') !== String(desired.round))
      return { ok: false, why: `${name}: template of another round` };
    for (const p of partitions.split(',').map(Number)) {
      if (covered.has(p)) return { ok: false, why: `partition ${p} in ${covered.get(p)} and ${name}` };
      covered.set(p, name);
    }
    if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0))
      return { ok: false, why: `${name} not observed yet` };
  }
  return { ok: true };
}

/**
 * The initial convergence, two calibrations, ROUNDS kills and two SIGTERMs: ROUNDS + 5 changes.
 * Measured: 22 rounds and the calibrations in 20.4 min at a load average of 12–20, the slowest
 * round converged 99 s after its change (restart included): 4 minutes a change is over twice the
 * slowest, and about 4 times the mean.
 */
const TIMEOUT_MS = (ROUNDS + 5) * 4 * 60_000;
const TITLE = `${ROUNDS} SIGKILLs at random moments of 200-instance changes; then graceful SIGTERMs`;

test(TITLE, { timeout: TIMEOUT_MS }, async (t) => {
  await installCrd(kubeConfig());
  const kubeconfigFile = await auditedOperatorIdentity(IDENTITY);
  const consumers = new ConsumerClient();
  const ns = await newNamespace('crash');
  const start = () =>
    (operator = startOperatorProcess({ name: `crash-${Date.now()}`, kubeconfigFile, leaseName: LEASE }));

  let desired: Desired = { perInstance: 1, round: 0 };
  const created = await consumers.create(ns, 'bulk', specOf(ns, desired));
  const consumerUid = created.metadata.uid!;
  start();

  /** Waits for Ready at the current generation and exactly the desired Deployments. */
  const converge = async (what: string): Promise<V1Deployment[]> => {
    let last = '';
    try {
      return await waitFor(
        what,
        async () => {
          const c = await consumers.get(ns, 'bulk');
          const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
          if (ready?.status !== 'True' || c.status?.observedGeneration !== c.metadata.generation) {
            last = `Ready ${ready?.status} ${ready?.reason}`;
            return undefined;
          }
          const deployments = await consumers.deployments(ns);
          const check = checkDesired(deployments, consumerUid, desired);
          if (!check.ok) last = check.why;
          return check.ok ? deployments : undefined;
        },
        300_000,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; last: ${last}`);
    }
  };

  let before = snapshot(await converge('initial 200 Deployments'));
  /** The next change: alternately a repartition and a roll of every instance. */
  const nextChange = (round: number): Desired =>
    round % 2 === 0
      ? { ...desired, perInstance: desired.perInstance === 1 ? 2 : 1 }
      : { ...desired, round: desired.round + 1 };

  /** Applies a change; checks the outcome: the desired set, each Deployment rolled out as often as needed. */
  const verifyRound = (label: string, after: V1Deployment[]) => {
    let rolled = 0;
    let created = 0;
    for (const d of after) {
      const name = d.metadata!.name!;
      const revision = Number(d.metadata?.annotations?.[REVISION] ?? 0);
      const previous = before.get(name);
      if (!previous || previous.uid !== d.metadata!.uid) {
        assert.equal(revision, 1, `${label}: new Deployment ${name} rolled out ${revision} times`);
        created++;
        continue;
      }
      const needed = previous.template === JSON.stringify(d.spec?.template) ? 0 : 1;
      assert.equal(
        revision - previous.revision,
        needed,
        `${label}: ${name} rolled out ${revision - previous.revision} times; the change needs ${needed}`,
      );
      rolled += needed;
    }
    before = snapshot(after);
    return { rolled, created };
  };

  const outcomes: string[] = [];
  // Calibration: one change of each kind without a kill gives the expected convergence time.
  const expectedMs: number[] = [];
  for (const round of [0, 1]) {
    desired = nextChange(round);
    const t0 = Date.now();
    await consumers.setSpec(ns, 'bulk', specOf(ns, desired));
    const { rolled, created } = verifyRound(`calibration ${round}`, await converge(`calibration ${round}`));
    expectedMs[round] = Date.now() - t0;
    outcomes.push(
      `calibration ${round % 2 ? 'roll' : 'repartition'}: ${expectedMs[round]} ms, ${rolled} rolled, ${created} created`,
    );
  }

  const writesOf = () => successfulWrites(auditEvents([auditedUser(IDENTITY)])).length;
  for (let round = 0; round < ROUNDS + 2; round++) {
    const graceful = round >= ROUNDS;
    const seed = BASE_SEED + round;
    const kind = round % 2 === 0 ? 'repartition' : 'roll';
    const delay = Math.round(random(seed)() * expectedMs[round % 2]!);
    desired = nextChange(round);
    const victim = operator!;
    const writesBefore = writesOf();
    const t0 = Date.now();
    await consumers.setSpec(ns, 'bulk', specOf(ns, desired));
    await sleep(delay);
    const writesAtKill = writesOf() - writesBefore;
    let exit;
    if (graceful) {
      victim.stop(60_000).catch(() => undefined);
      exit = await victim.exited;
      assert.deepEqual(
        exit,
        { code: 0, signal: null },
        `round ${round}: SIGTERM ends the process with code 0`,
      );
      assert.equal(await leaseHolder(LEASE), undefined, `round ${round}: the Lease is released`);
    } else if (victim.exitInfo()) {
      // On a loaded machine the operator can lose its Lease (no answer from the API server within
      // its deadline) and exit on its own, code 1: as abrupt a stop as the kill, so the round goes on.
      exit = victim.exitInfo()!;
      assert.equal(exit.code, 1, `round ${round}: an operator that stopped by itself exits with code 1`);
      t.diagnostic(
        `round ${round}: the operator had exited by itself before the kill (${JSON.stringify(exit)})`,
      );
    } else {
      process.kill(victim.pid, 'SIGKILL');
      exit = await victim.exited;
      assert.equal(exit.signal, 'SIGKILL');
    }
    const stoppedAfterMs = Date.now() - t0;
    start();
    const { rolled, created } = verifyRound(`round ${round}`, await converge(`round ${round} converged`));
    const line =
      `round ${round} seed ${seed} ${kind}: ${graceful ? 'SIGTERM' : 'SIGKILL'} at ${delay} ms ` +
      `(stopped ${stoppedAfterMs} ms after the change, ${writesAtKill} writes done by then); ` +
      `converged ${Date.now() - t0} ms after the change: ${rolled} rolled once, ${created} created, ` +
      `${(await consumers.deployments(ns)).length} Deployments`;
    outcomes.push(line);
    t.diagnostic(line);
    if (process.env.KONSUMERATOR_TEST_LOGS) process.stderr.write(`${line}\n`);
  }
  for (const line of outcomes.slice(0, 2)) t.diagnostic(line);
});
