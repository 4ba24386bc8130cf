// A worker thread of parallel.ts: runs the groups of jobs it is given, one at a time, and sends
// each group's results back (the per-minute lag moved, not copied).
import { parentPort } from 'node:worker_threads';
import { runGroupMessage, type GroupMessage } from './parallel.js';

const port = parentPort!;
port.on('message', (group: GroupMessage) => {
  const answer = runGroupMessage(group);
  const buffers = new Set(
    'results' in answer
      ? answer.results.flatMap((r) =>
          [...r.lagByMinute, ...r.cpuByMinute, ...r.memoryByMinute].map((a) => a.buffer),
        )
      : [],
  );
  port.postMessage(answer, [...buffers] as ArrayBuffer[]);
});
