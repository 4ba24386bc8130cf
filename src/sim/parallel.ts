// Many simulations at once: jobs (a trace, a Consumer, a policy) are run in groups, each group on
// one thread: the calling one or a worker thread. The jobs of a group share their trace and params
// and are stepped together, so what they all see is computed once (`simulateTogether`). Each job's
// result is what `simulate` gives for it alone, whichever group and thread ran it: results come
// back in the order of the jobs and do not depend on the number of threads. Traces are copied once
// into shared memory, which every worker reads without a copy.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ConsumerSpec } from '../api/schema.js';
import type { SimParams } from './params.js';
import { policyFromRef, policyRef } from './policies/index.js';
import type { PolicyRef, PolicySpec } from './policy.js';
import { simulateTogether, type SimResult } from './run.js';
import { simSetup } from './setup.js';
import type { Trace } from './trace.js';

export interface SimJob {
  trace: Trace;
  /** The Consumer whose settings the policy uses (`simSetup`). */
  spec: ConsumerSpec;
  params: SimParams;
  policy: PolicySpec;
}

export interface ParallelOptions {
  /**
   * Threads that compute: this one and `threads - 1` workers (1 or 0: only this one). Default:
   * `defaultThreads`.
   */
  threads?: number;
  /** Called as each job finishes, with the wall time of the group it ran in. */
  onResult?: (index: number, result: SimResult, seconds: number) => void;
}

/** What a worker receives: one group of jobs on the same trace with the same params. */
export interface GroupMessage {
  indices: number[];
  trace: Trace;
  params: SimParams;
  runs: { spec: ConsumerSpec; policy: PolicyRef }[];
}

export type ResultMessage =
  { indices: number[]; results: SimResult[]; seconds: number } | { indices: number[]; error: string };

/**
 * Below this much work over all jobs (partitions × steps, a few seconds in one thread), starting
 * workers (about a second each from the TypeScript sources, then a cold JIT) costs more than it
 * saves: the jobs run in this thread.
 */
export const PARALLEL_MIN_PARTITION_STEPS = 20_000_000;

const steps = (job: { trace: Trace; params: SimParams }) =>
  (job.trace.rates.length * job.trace.durationMs) / job.params.tickMs;

/** One thread per core, at most one per job; only this one for little work. */
export function defaultThreads(jobs: readonly { trace: Trace; params: SimParams }[]): number {
  const work = jobs.reduce((sum, job) => sum + steps(job), 0);
  return work < PARALLEL_MIN_PARTITION_STEPS ? 1 : Math.min(jobs.length, availableParallelism());
}

/** The results of one group, in the order of its runs. */
export function runGroup(group: Omit<GroupMessage, 'indices'>): SimResult[] {
  const runs = group.runs.map(({ spec, policy }) => ({
    policy: policyFromRef(policy),
    setup: simSetup(spec),
  }));
  return simulateTogether(group.trace, runs, group.params);
}

/** Every job's result, in the order of `jobs`. */
export async function simulateAll(
  jobs: readonly SimJob[],
  options: ParallelOptions = {},
): Promise<SimResult[]> {
  const threads = Math.max(1, Math.min(jobs.length, options.threads ?? defaultThreads(jobs)));
  const groups = groupJobs(jobs, threads);
  const results: SimResult[] = new Array(jobs.length);
  const done = (answer: ResultMessage) => {
    if ('error' in answer)
      throw new Error(
        `simulation of ${answer.indices.map((i) => jobName(jobs[i]!)).join(', ')}: ${answer.error}`,
      );
    answer.indices.forEach((index, k) => {
      results[index] = answer.results[k]!;
      options.onResult?.(index, results[index], answer.seconds);
    });
  };
  const [here = [], ...elsewhere] = assign(groups, threads, (group) =>
    group.reduce((sum, i) => sum + jobCost(jobs[i]!), 0),
  );
  const shared = new Map<Trace, Trace>();
  const trace = (group: number[]) => {
    const original = jobs[group[0]!]!.trace;
    if (!shared.has(original)) shared.set(original, sharedTrace(original));
    return shared.get(original)!;
  };
  // Workers get all their groups at once and start at once; this thread runs its own meanwhile.
  const pool = elsewhere.filter((own) => own.length > 0).map((own) => ({ worker: startWorker(), own }));
  try {
    const answers = Promise.all(
      pool.flatMap(({ worker, own }) =>
        own.map((group) => worker.run({ ...message(jobs, group), trace: trace(group) }).then(done)),
      ),
    );
    // Handled here if this thread's groups fail first (the error is theirs, not a worker's).
    answers.catch(() => {});
    for (const group of here) done(runGroupMessage(message(jobs, group)));
    await answers;
  } finally {
    await Promise.all(pool.map(({ worker }) => worker.stop()));
  }
  return results;
}

/**
 * The groups of each thread (this one first): largest first onto the least loaded, this thread
 * first among equals (it has no worker to start).
 */
function assign(groups: number[][], threads: number, cost: (group: number[]) => number): number[][][] {
  const slots: number[][][] = Array.from({ length: threads }, () => []);
  const loads = new Array<number>(threads).fill(0);
  const largestFirst = [...groups].sort((a, b) => cost(b) - cost(a) || a[0]! - b[0]!);
  for (const group of largestFirst) {
    const lightest = loads.indexOf(Math.min(...loads));
    slots[lightest]!.push(group);
    loads[lightest]! += cost(group);
  }
  return slots;
}

const jobName = (job: SimJob) => `${job.trace.name} / ${job.policy.id}`;
const jobCost = (job: SimJob) => steps(job) * (job.policy.cost ?? 1);

function message(jobs: readonly SimJob[], indices: number[]): GroupMessage {
  const first = jobs[indices[0]!]!;
  return {
    indices,
    trace: first.trace,
    params: first.params,
    runs: indices.map((i) => ({ spec: jobs[i]!.spec, policy: policyRef(jobs[i]!.policy) })),
  };
}

/** Runs a group in the calling thread (a worker's job), a failure as its message. */
export function runGroupMessage({ indices, ...group }: GroupMessage): ResultMessage {
  const started = performance.now();
  try {
    return { indices, results: runGroup(group), seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    return { indices, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Groups of job indices, each run together on one thread. Jobs on the same trace with the same
 * params may share a group. With enough such sets for every thread, a set is one group; with
 * fewer, a set is split into about as many groups as its share of the work in threads, its jobs
 * balanced by cost (largest first onto the lightest group).
 */
export function groupJobs(jobs: readonly SimJob[], threads: number): number[][] {
  const sets = new Map<Trace, Map<string, number[]>>();
  jobs.forEach((job, i) => {
    const byParams = sets.get(job.trace) ?? new Map<string, number[]>();
    sets.set(job.trace, byParams);
    const key = JSON.stringify(job.params);
    byParams.set(key, [...(byParams.get(key) ?? []), i]);
  });
  const together = [...sets.values()].flatMap((byParams) => [...byParams.values()]);
  if (threads <= 1 || together.length >= threads) return together;
  const total = jobs.reduce((sum, job) => sum + jobCost(job), 0);
  return together.flatMap((set) => {
    const work = set.reduce((sum, i) => sum + jobCost(jobs[i]!), 0);
    const count = Math.max(1, Math.min(set.length, Math.round((threads * work) / total)));
    const groups: number[][] = Array.from({ length: count }, () => []);
    const loads = new Array<number>(count).fill(0);
    const largestFirst = [...set].sort((a, b) => jobCost(jobs[b]!) - jobCost(jobs[a]!) || a - b);
    for (const i of largestFirst) {
      const lightest = loads.indexOf(Math.min(...loads));
      groups[lightest]!.push(i);
      loads[lightest]! += jobCost(jobs[i]!);
    }
    return groups.map((g) => g.sort((a, b) => a - b));
  });
}

/** The trace with its rates in one SharedArrayBuffer (workers read it without a copy). */
export function sharedTrace(trace: Trace): Trace {
  const lengths = trace.rates.map((r) => r.length);
  const buffer = new SharedArrayBuffer(8 * lengths.reduce((a, b) => a + b, 0));
  let offset = 0;
  const rates = trace.rates.map((series) => {
    const copy = new Float64Array(buffer, offset * 8, series.length);
    copy.set(series);
    offset += series.length;
    return copy;
  });
  return { ...trace, rates };
}

interface SimWorker {
  run(group: GroupMessage): Promise<ResultMessage>;
  stop(): Promise<void>;
}

function startWorker(): SimWorker {
  const worker = spawn();
  // A worker answers its groups one after the other, in the order they were sent.
  const pending: { resolve: (m: ResultMessage) => void; reject: (e: Error) => void }[] = [];
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure = error;
    for (const p of pending.splice(0)) p.reject(error);
  };
  worker.on('message', (message: ResultMessage) => pending.shift()?.resolve(message));
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`simulation worker exited (code ${code})`)));
  return {
    run(group) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        pending.push({ resolve, reject });
        worker.postMessage(group);
      });
    },
    async stop() {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}

/** The workers' module, named so that a build that follows imports from the CLI emits it too. */
export type SimWorkerModule = typeof import('./sim-worker.js');

/**
 * A worker on sim-worker: the compiled .js as it is, or, when this module runs from its
 * TypeScript source (tsx), a worker that registers tsx first (loader hooks do not reach worker
 * threads on every supported Node version).
 */
function spawn(): Worker {
  const here = import.meta.url;
  // A run allocates a few GB of short-lived objects (readings, decisions) per 1,000 partition-days:
  // 64 MB semi-spaces scavenge a quarter as often as the default (7 % less CPU on 1,000 partitions).
  const resourceLimits = { maxYoungGenerationSizeMb: 3 * 64 };
  if (!here.endsWith('.ts')) return new Worker(new URL('./sim-worker.js', here), { resourceLimits });
  const bootstrap = `
    const { workerData } = require('node:worker_threads');
    import(workerData.tsx).then((tsx) => { tsx.register(); return import(workerData.entry); });`;
  return new Worker(bootstrap, {
    eval: true,
    resourceLimits,
    workerData: { tsx: import.meta.resolve('tsx/esm/api'), entry: new URL('./sim-worker.ts', here).href },
  });
}
