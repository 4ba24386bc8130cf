// Many simulations at once, on worker threads: one job per (trace, policy) pair. A job is a whole
// closed-loop run on one thread, from the same inputs as in this thread, so its result does not
// depend on which worker ran it or how many there were; results come back in the order of the
// jobs. Traces are copied once into shared memory, which every worker reads without a copy.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ConsumerSpec } from '../api/schema.js';
import type { SimParams } from './params.js';
import { policyFromRef, policyRef } from './policies/index.js';
import type { PolicyRef, PolicySpec } from './policy.js';
import { simulate, type SimResult } from './run.js';
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
  /** Worker threads; 0 runs every job in this thread. Default: `defaultWorkers`. */
  workers?: number;
  /** Called as each job finishes (in the order they finish), with its wall time. */
  onResult?: (index: number, result: SimResult, seconds: number) => void;
}

/** What a worker receives for one job. */
export interface JobMessage {
  index: number;
  trace: Trace;
  spec: ConsumerSpec;
  params: SimParams;
  policy: PolicyRef;
}

export type ResultMessage =
  { index: number; result: SimResult; seconds: number } | { index: number; error: string };

/**
 * Below this much work over all jobs (partitions × steps, a few seconds in one thread), starting
 * workers (about a second each from the TypeScript sources, then a cold JIT) costs more than it
 * saves: the jobs run in this thread.
 */
export const PARALLEL_MIN_PARTITION_STEPS = 20_000_000;

/** One worker per core, at most one per job; none for little work. */
export function defaultWorkers(jobs: readonly { trace: Trace; params: SimParams }[]): number {
  let work = 0;
  for (const { trace, params } of jobs) work += (trace.rates.length * trace.durationMs) / params.tickMs;
  return work < PARALLEL_MIN_PARTITION_STEPS ? 0 : Math.min(jobs.length, availableParallelism());
}

/** Runs one job in the calling thread; what a worker does with a JobMessage. */
export function runJob(job: Omit<JobMessage, 'index'>): SimResult {
  return simulate(job.trace, policyFromRef(job.policy), simSetup(job.spec), job.params);
}

/** Every job's result, in the order of `jobs`. */
export async function simulateAll(
  jobs: readonly SimJob[],
  options: ParallelOptions = {},
): Promise<SimResult[]> {
  const workers = Math.min(jobs.length, options.workers ?? defaultWorkers(jobs));
  const messages = jobs.map((job, index): JobMessage => ({
    index,
    trace: job.trace,
    spec: job.spec,
    params: job.params,
    policy: policyRef(job.policy),
  }));
  const results: SimResult[] = new Array(jobs.length);
  if (workers <= 0) {
    for (const { index, ...job } of messages) {
      const started = performance.now();
      results[index] = runJob(job);
      options.onResult?.(index, results[index], (performance.now() - started) / 1000);
    }
    return results;
  }
  const shared = new Map<Trace, Trace>();
  for (const message of messages) {
    if (!shared.has(message.trace)) shared.set(message.trace, sharedTrace(message.trace));
    message.trace = shared.get(message.trace)!;
  }
  // Longest first (partition-steps), so that a long job does not start last.
  const cost = (m: JobMessage) => m.trace.rates.length * m.trace.durationMs;
  const queue = [...messages].sort((a, b) => cost(b) - cost(a) || a.index - b.index);
  const pool = Array.from({ length: workers }, () => startWorker());
  try {
    await Promise.all(
      pool.map(async (worker) => {
        for (let job = queue.shift(); job; job = queue.shift()) {
          const answer = await worker.run(job);
          if ('error' in answer)
            throw new Error(`simulation of ${jobName(jobs[answer.index]!)}: ${answer.error}`);
          results[answer.index] = answer.result;
          options.onResult?.(answer.index, answer.result, answer.seconds);
        }
      }),
    );
  } finally {
    await Promise.all(pool.map((worker) => worker.stop()));
  }
  return results;
}

const jobName = (job: SimJob) => `${job.trace.name} / ${job.policy.id}`;

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
  run(job: JobMessage): Promise<ResultMessage>;
  stop(): Promise<void>;
}

function startWorker(): SimWorker {
  const worker = spawn();
  let pending: { resolve: (m: ResultMessage) => void; reject: (e: Error) => void } | undefined;
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure = error;
    pending?.reject(error);
    pending = undefined;
  };
  worker.on('message', (message: ResultMessage) => {
    pending?.resolve(message);
    pending = undefined;
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`simulation worker exited (code ${code})`)));
  return {
    run(job) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        worker.postMessage(job);
      });
    },
    async stop() {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}

/**
 * A worker on sim-worker: the compiled .js as it is, or, when this module runs from its
 * TypeScript source (tsx), a worker that registers tsx first (loader hooks do not reach worker
 * threads on every supported Node version).
 */
function spawn(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./sim-worker.js', here));
  const bootstrap = `
    const { workerData } = require('node:worker_threads');
    import(workerData.tsx).then((tsx) => { tsx.register(); return import(workerData.entry); });`;
  return new Worker(bootstrap, {
    eval: true,
    workerData: { tsx: import.meta.resolve('tsx/esm/api'), entry: new URL('./sim-worker.ts', here).href },
  });
}
