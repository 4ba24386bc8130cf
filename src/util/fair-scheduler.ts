// Runs tasks with bounded concurrency, shared fairly among groups (the operator's metrics reads,
// grouped by namespace): a group never holds more than `perGroup` of the slots, and a free slot
// goes to the waiting group with the fewest tasks running, ties to the one served longest ago. So
// one tenant's slow or hanging endpoints cannot keep another tenant's reads waiting for more than
// one of its own reads' time. Written by hand: the maintained pools (p-limit, p-queue) have no
// per-group fairness.

interface Waiting {
  start: () => void;
}

export class FairScheduler {
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly running = new Map<string, number>();
  private readonly lastServed = new Map<string, number>();
  private total = 0;
  private served = 0;
  readonly perGroup: number;

  constructor(
    readonly concurrency: number,
    perGroup?: number,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
    this.perGroup = Math.min(concurrency, perGroup ?? Math.max(1, Math.ceil(concurrency / 2)));
  }

  /** Runs `task` when a slot is free for `group`; resolves or rejects as the task does. */
  run<T>(group: string, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.total++;
        this.running.set(group, (this.running.get(group) ?? 0) + 1);
        this.lastServed.set(group, ++this.served);
        let result: Promise<T>;
        try {
          result = task();
        } catch (error) {
          result = Promise.reject(error as Error);
        }
        result.then(resolve, reject).finally(() => {
          this.total--;
          const left = (this.running.get(group) ?? 1) - 1;
          if (left > 0) this.running.set(group, left);
          else this.running.delete(group);
          this.pump();
        });
      };
      const queue = this.waiting.get(group) ?? [];
      queue.push({ start });
      this.waiting.set(group, queue);
      this.pump();
    });
  }

  /** Tasks running now, and waiting. */
  stats(): { running: number; waiting: number } {
    let waiting = 0;
    for (const q of this.waiting.values()) waiting += q.length;
    return { running: this.total, waiting };
  }

  private pump(): void {
    while (this.total < this.concurrency) {
      let best: string | undefined;
      for (const group of this.waiting.keys()) {
        const running = this.running.get(group) ?? 0;
        if (running >= this.perGroup) continue;
        if (best === undefined) {
          best = group;
          continue;
        }
        const bestRunning = this.running.get(best) ?? 0;
        const older = (this.lastServed.get(group) ?? 0) < (this.lastServed.get(best) ?? 0);
        if (running < bestRunning || (running === bestRunning && older)) best = group;
      }
      if (best === undefined) return;
      const queue = this.waiting.get(best)!;
      const next = queue.shift()!;
      if (queue.length === 0) this.waiting.delete(best);
      next.start();
    }
  }
}
