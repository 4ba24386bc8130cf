// A worker thread of parallel.ts: runs the jobs it is given, one at a time, and sends each result
// back (the per-minute lag moved, not copied).
import { parentPort } from 'node:worker_threads';
import { runJob, type JobMessage, type ResultMessage } from './parallel.js';

const port = parentPort!;
port.on('message', ({ index, ...job }: JobMessage) => {
  let answer: ResultMessage;
  const started = performance.now();
  try {
    answer = { index, result: runJob(job), seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    answer = { index, error: error instanceof Error ? error.message : String(error) };
  }
  const buffers = 'result' in answer ? new Set(answer.result.lagByMinute.map((a) => a.buffer)) : [];
  port.postMessage(answer, [...buffers] as ArrayBuffer[]);
});
