// One measured process of the Kafka client benchmark (kafka-client.ts runs it once per client and
// repetition): the memory of the process before and after importing the client, the first read
// (connect + offsets), repeated reads on the open connection, memory after them, and the CPU the
// idle open connection costs. A read is what the operator's `mode: kafka` does every cycle: the
// log-start and log-end offsets of every partition of the topic and the group's committed
// offsets, in parallel, on one reused connection. Prints one JSON line (WorkerResult).
//
//   node --expose-gc --import tsx src/bench/kafka-client-worker.ts '<WorkerInput as JSON>'
import { setTimeout as sleep } from 'node:timers/promises';

export type ClientName = 'kafkajs' | '@platformatic/kafka';

export interface WorkerInput {
  /** `none`: a process that imports no client (the baseline of memory and idle CPU). */
  client: ClientName | 'none';
  brokers: string[];
  topic: string;
  groupId: string;
  /** Reads after the first, timed one by one. */
  reads: number;
  /** How long the open connections are left idle while their CPU is measured. */
  idleMs: number;
  /** Idle CPU is measured again with this many connections open (one per kafka-mode Consumer). */
  idleConnections: number;
}

export interface Offsets {
  /** Indexed by partition; committed is -1 where the group has no commit. */
  low: number[];
  high: number[];
  committed: number[];
}

export interface Memory {
  rssMiB: number;
  heapUsedMiB: number;
}

export interface WorkerResult {
  client: ClientName | 'none';
  node: string;
  memory: { beforeImport: Memory; afterImport: Memory; afterFirstRead: Memory; afterReads: Memory };
  firstReadMs: number;
  readMs: number[];
  /** CPU time (user + system) used while the connection sat idle, in ms per second. */
  idleCpuMsPerSecond: number;
  /** The same with `idleConnections` connections open. */
  idleCpuMsPerSecondMany: number;
  offsets: Offsets;
}

interface Reader {
  read(): Promise<Offsets>;
  close(): Promise<void>;
}

function memory(): Memory {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rssMiB: m.rss / 2 ** 20, heapUsedMiB: m.heapUsed / 2 ** 20 };
}

function toOffsets(
  topic: Array<{ partition: number; low: number; high: number }>,
  committed: Map<number, number>,
): Offsets {
  const out: Offsets = { low: [], high: [], committed: [] };
  for (const o of topic) {
    out.low[o.partition] = o.low;
    out.high[o.partition] = o.high;
    out.committed[o.partition] = committed.get(o.partition) ?? -1;
  }
  return out;
}

/** kafkajs as the operator used it before the switch (same options, same two admin calls). */
async function kafkajsReader(input: WorkerInput): Promise<Reader> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({
    clientId: 'konsumerator',
    brokers: input.brokers,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.NOTHING,
  }).admin({ retry: { retries: 2 } });
  let connected = false;
  return {
    async read() {
      if (!connected) await admin.connect();
      connected = true;
      const [topic, group] = await Promise.all([
        admin.fetchTopicOffsets(input.topic),
        admin.fetchOffsets({ groupId: input.groupId, topics: [input.topic] }),
      ]);
      const committed = new Map(
        (group.find((t) => t.topic === input.topic)?.partitions ?? [])
          .filter((p) => Number(p.offset) >= 0)
          .map((p) => [p.partition, Number(p.offset)]),
      );
      return toOffsets(
        topic.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) })),
        committed,
      );
    },
    close: () => admin.disconnect(),
  };
}

/** @platformatic/kafka through konsumerator's adapter (src/kafka/client.ts), as the operator reads. */
async function platformaticReader(input: WorkerInput): Promise<Reader> {
  const { KafkaAdmin } = await import('../kafka/client.js');
  // The adapter loads the library on first use; here it counts as part of the import.
  await import('@platformatic/kafka');
  const admin = new KafkaAdmin({ brokers: input.brokers });
  return {
    async read() {
      const [topic, committed] = await Promise.all([
        admin.topicOffsets(input.topic),
        admin.committedOffsets(input.groupId, input.topic),
      ]);
      return toOffsets(topic, committed);
    },
    close: () => admin.close(),
  };
}

/** CPU time used per second of wall time while nothing is asked of the process. */
async function idleCpu(ms: number): Promise<number> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1000 / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '') as WorkerInput;
  const empty: Offsets = { low: [], high: [], committed: [] };
  const beforeImport = memory();
  if (input.client === 'none') {
    const idle = await idleCpu(input.idleMs);
    const result: WorkerResult = {
      client: 'none',
      node: process.version,
      memory: {
        beforeImport,
        afterImport: beforeImport,
        afterFirstRead: beforeImport,
        afterReads: beforeImport,
      },
      firstReadMs: 0,
      readMs: [],
      idleCpuMsPerSecond: idle,
      idleCpuMsPerSecondMany: idle,
      offsets: empty,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const open = input.client === 'kafkajs' ? kafkajsReader : platformaticReader;
  const reader = await open(input);
  const afterImport = memory();
  let t0 = performance.now();
  const offsets = await reader.read();
  const firstReadMs = performance.now() - t0;
  const afterFirstRead = memory();
  const readMs: number[] = [];
  for (let i = 0; i < input.reads; i++) {
    t0 = performance.now();
    await reader.read();
    readMs.push(performance.now() - t0);
  }
  const afterReads = memory();
  const idleCpuMsPerSecond = await idleCpu(input.idleMs);
  const others: Reader[] = [];
  for (let i = 1; i < input.idleConnections; i++) {
    const other = await open(input);
    await other.read();
    others.push(other);
  }
  const idleCpuMsPerSecondMany = await idleCpu(input.idleMs);
  await Promise.all([reader, ...others].map((r) => r.close()));
  const result: WorkerResult = {
    client: input.client,
    node: process.version,
    memory: { beforeImport, afterImport, afterFirstRead, afterReads },
    firstReadMs,
    readMs,
    idleCpuMsPerSecond,
    idleCpuMsPerSecondMany,
    offsets,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
// A client's leftover timers must not keep the measured process alive.
process.exit(0);
