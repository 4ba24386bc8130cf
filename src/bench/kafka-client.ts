// The Kafka client, decided on evidence: kafkajs (what konsumerator used) against
// @platformatic/kafka (through src/kafka/client.ts), on one real Kafka broker of the test plane's
// kind, with a PLAINTEXT, a mutual-TLS and a SASL_SSL listener.
//
//   correctness  the log-start, log-end and committed offsets of a 1,000-partition topic, read by
//                each client, against the values the setup wrote (and against each other)
//   time         a read of those offsets (what `mode: kafka` does every cycle), first on a new
//                connection and then repeated on the open one; ratio against kafkajs in this run
//   memory       resident and V8 heap of a fresh Node process before and after importing the client
//                and after its reads, compiled as the image runs (no tsx)
//   idle CPU     of the process with 1 and with 10 open connections (one per kafka-mode Consumer)
//   features     TLS with a CA, mutual TLS, SASL PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512, a wrong
//                password, an unknown topic, group listing, producing to chosen partitions,
//                commits for a group without members, consuming partitions chosen by hand
//
// Each measured process runs one client alone (kafka-client-worker.ts); the clients alternate.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Admin, Consumer as PlatformaticConsumer } from '@platformatic/kafka';
import { Kafka, logLevel, type SASLOptions as KafkajsSasl } from 'kafkajs';
import {
  KafkaAdmin,
  KafkaProducer,
  UnknownTopicError,
  kafkaErrorMessage,
  type KafkaConnectionOptions,
} from '../kafka/client.js';
import { REPO_ROOT, ensureKafkaRuntime } from '../testplane/binaries.js';
import { startKafka } from '../testplane/kafka.js';
import { makeKafkaCertificates, type KafkaSecurity } from '../testplane/kafka-security.js';
import { startProcess } from '../testplane/process.js';
import type { ClientName, Offsets, WorkerInput, WorkerResult } from './kafka-client-worker.js';

export interface KafkaClientBenchOptions {
  /** Partitions of the measured topic (default 1,000). */
  partitions?: number;
  /** Measured processes per client (default 5). */
  repetitions?: number;
  /** Timed reads per process after the first (default 30). */
  reads?: number;
  progress?: (line: string) => void;
}

export interface ClientFigures {
  client: ClientName;
  version: string;
  /** Every process read exactly the offsets the setup wrote. */
  correct: boolean;
  mismatches: number;
  /** Medians over the processes (each process: the median of its timed reads). */
  firstReadMs: number;
  readMs: number;
  readMsMin: number;
  readMsMax: number;
  importRssMiB: number;
  importHeapMiB: number;
  rssAfterReadsMiB: number;
  heapAfterReadsMiB: number;
  idleCpuMsPerSecond: number;
  idleCpuMsPerSecond10: number;
}

export interface FeatureCheck {
  feature: string;
  /** Per client: 'ok', 'fails' (with the reason), or 'no' (the client cannot do it). */
  results: Partial<Record<ClientName, { outcome: 'ok' | 'fails' | 'no'; detail?: string }>>;
}

export interface KafkaClientResults {
  node: string;
  kafkaVersion: string;
  partitions: number;
  repetitions: number;
  reads: number;
  /** A process that imports nothing: what every figure includes. */
  baseline: { rssMiB: number; heapUsedMiB: number; idleCpuMsPerSecond: number };
  clients: ClientFigures[];
  /** Same offsets from both clients in every process. */
  clientsAgree: boolean;
  features: FeatureCheck[];
}

const CLIENTS: readonly ClientName[] = ['kafkajs', '@platformatic/kafka'];
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** What the setup wrote: messages per partition, records deleted from the front, commits. */
function expectedOffsets(partitions: number): Offsets {
  const out: Offsets = { low: [], high: [], committed: [] };
  for (let p = 0; p < partitions; p++) {
    const high = 1 + ((p * 37) % 50);
    const low = p % 10 === 0 ? 1 : 0;
    out.high.push(high);
    out.low.push(low);
    out.committed.push(p % 4 === 0 ? -1 : Math.min(high, low + (p % 7)));
  }
  return out;
}

async function setUp(bootstrap: string, topic: string, groupId: string, expected: Offsets): Promise<void> {
  const admin = new KafkaAdmin({ brokers: [bootstrap] });
  const producer = new KafkaProducer({ brokers: [bootstrap] });
  try {
    await admin.createTopic(topic, expected.high.length);
    const value = Buffer.from('konsumerator');
    await producer.send(
      topic,
      expected.high.flatMap((n, partition) => Array.from({ length: n }, () => ({ partition, value }))),
    );
    // Records deleted from the front give partitions a log start above 0 (no adapter method: only
    // this setup needs it).
    const raw = new Admin({ clientId: 'bench-setup', bootstrapBrokers: [bootstrap] });
    try {
      await raw.deleteRecords({
        topics: [
          {
            name: topic,
            partitions: expected.low.flatMap((low, partition) =>
              low > 0 ? [{ partition, offset: BigInt(low) }] : [],
            ),
          },
        ],
      });
    } finally {
      await raw.close();
    }
    await admin.commitOffsets(
      groupId,
      topic,
      new Map(expected.committed.flatMap((c, p) => (c >= 0 ? [[p, c] as [number, number]] : []))),
    );
  } finally {
    await producer.close();
    await admin.close();
  }
}

/** Compiles the worker and what it imports, so that it runs as the image runs code (no tsx). */
async function compileWorker(outDir: string): Promise<string> {
  const tsc = startProcess({
    name: 'tsc (kafka client bench)',
    command: process.execPath,
    args: [
      join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
      '--outDir',
      outDir,
      '--rootDir',
      join(REPO_ROOT, 'src'),
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      '--strict',
      '--skipLibCheck',
      join(REPO_ROOT, 'src/bench/kafka-client-worker.ts'),
    ],
    cwd: REPO_ROOT,
  });
  const { code } = await tsc.exited;
  if (code !== 0) throw new Error(`compiling the Kafka client bench worker failed (exit ${code})`);
  return join(outDir, 'bench', 'kafka-client-worker.js');
}

async function runWorker(script: string, input: WorkerInput): Promise<WorkerResult> {
  const child = startProcess({
    name: `kafka client bench (${input.client})`,
    command: process.execPath,
    args: ['--expose-gc', script, JSON.stringify(input)],
    cwd: REPO_ROOT,
    pipeStdout: true,
  });
  let stdout = '';
  for await (const chunk of child.stdout!.setEncoding('utf8')) stdout += chunk as string;
  const { code } = await child.exited;
  const line = stdout.trim().split('\n').at(-1);
  if (code !== 0 || !line) throw new Error(`the ${input.client} worker failed (exit ${code})`);
  return JSON.parse(line) as WorkerResult;
}

function mismatches(a: Offsets, b: Offsets): number {
  let n = 0;
  for (const key of ['low', 'high', 'committed'] as const) {
    const length = Math.max(a[key].length, b[key].length);
    for (let i = 0; i < length; i++) if (a[key][i] !== b[key][i]) n++;
  }
  return n;
}

// ---- feature checks ------------------------------------------------------------------------

interface Endpoints {
  plaintext: string;
  ssl: string;
  saslSsl: string;
}

type Outcome = { outcome: 'ok' | 'fails' | 'no'; detail?: string };

async function outcome(run: () => Promise<string | void>): Promise<Outcome> {
  try {
    const detail = await run();
    return detail ? { outcome: 'ok', detail } : { outcome: 'ok' };
  } catch (err) {
    return { outcome: 'fails', detail: kafkaErrorMessage(err).slice(0, 300) };
  }
}

/** An expected failure is a success of the check; its message is kept for the report. */
async function expectFailure(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (err) {
    return `refused: ${kafkaErrorMessage(err).slice(0, 200)}`;
  }
  throw new Error('was accepted');
}

/** The feature checks through the adapter (what konsumerator runs). */
async function platformaticFeatures(
  e: Endpoints,
  security: KafkaSecurity,
  topic: string,
  groupId: string,
): Promise<Record<string, Outcome>> {
  const files = security.files;
  const user = security.users[0]!;
  const withAdmin = async <T>(
    options: Omit<KafkaConnectionOptions, 'brokers'> & { brokers: string[] },
    f: (a: KafkaAdmin) => Promise<T>,
  ) => {
    const admin = new KafkaAdmin({ retries: 0, ...options });
    try {
      return await f(admin);
    } finally {
      await admin.close().catch(() => undefined);
    }
  };
  const read = (a: KafkaAdmin) => a.topicOffsets(topic).then((o) => `${o.length} partitions`);
  const mtls = { ca: files.caPem, cert: files.clientCertPem, key: files.clientKeyPem };
  const sasl = (mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', password = user.password) =>
    withAdmin(
      {
        brokers: [e.saslSsl],
        tls: { ca: files.caPem },
        sasl: { mechanism, username: user.username, password },
      },
      read,
    );
  const out: Record<string, Outcome> = {};
  out['mutual TLS (CA, client certificate)'] = await outcome(() =>
    withAdmin({ brokers: [e.ssl], tls: mtls }, read),
  );
  out['TLS without the client certificate the broker requires'] = await outcome(() =>
    expectFailure(() => withAdmin({ brokers: [e.ssl], tls: { ca: files.caPem } }, read)),
  );
  out['TLS with an untrusted broker certificate'] = await outcome(() =>
    expectFailure(() =>
      withAdmin({ brokers: [e.ssl], tls: { cert: files.clientCertPem, key: files.clientKeyPem } }, read),
    ),
  );
  out['SASL PLAIN over TLS'] = await outcome(() => sasl('plain'));
  out['SASL SCRAM-SHA-256 over TLS'] = await outcome(() => sasl('scram-sha-256'));
  out['SASL SCRAM-SHA-512 over TLS'] = await outcome(() => sasl('scram-sha-512'));
  out['SASL with a wrong password'] = await outcome(() =>
    expectFailure(() => sasl('scram-sha-512', 'wrong')),
  );
  out['unknown topic recognised as such'] = await outcome(() =>
    withAdmin({ brokers: [e.plaintext] }, async (a) => {
      try {
        await a.topicOffsets(`${topic}-missing`);
      } catch (err) {
        if (err instanceof UnknownTopicError) return err.message;
        throw err;
      }
      throw new Error('no error');
    }),
  );
  out['list consumer groups'] = await outcome(() =>
    withAdmin({ brokers: [e.plaintext] }, async (a) => {
      const groups = await a.listGroups();
      if (!groups.some((g) => g.groupId === groupId)) throw new Error(`${groupId} not listed`);
      return `${groups.length} group(s)`;
    }),
  );
  out['produce to chosen partitions (each message written once)'] = await outcome(() =>
    withAdmin({ brokers: [e.plaintext] }, async (a) => {
      const before = await a.topicOffsets(topic);
      const producer = new KafkaProducer({ brokers: [e.plaintext] });
      try {
        await producer.send(
          topic,
          [0, 1, 2, 3, 4].map((partition) => ({ partition, value: Buffer.from('x') })),
        );
      } finally {
        await producer.close();
      }
      const after = await a.topicOffsets(topic);
      const grown = after.slice(0, 5).map((o, p) => o.high - before[p]!.high);
      if (grown.some((g) => g !== 1)) throw new Error(`log ends grew by ${grown.join(',')}`);
      return 'log end +1 on each of 5 partitions';
    }),
  );
  out['commit offsets for a group without members'] = await outcome(() =>
    withAdmin({ brokers: [e.plaintext] }, async (a) => {
      const group = `${groupId}-manual`;
      await a.commitOffsets(
        group,
        topic,
        new Map([
          [1, 1],
          [2, 2],
        ]),
      );
      const read = await a.committedOffsets(group, topic);
      if (read.get(1) !== 1 || read.get(2) !== 2 || read.size !== 2)
        throw new Error(JSON.stringify([...read]));
      return 'read back';
    }),
  );
  out['consume partitions chosen by hand'] = await outcome(() =>
    consumeChosenPartitions(e.plaintext, topic, [3, 7]),
  );
  return out;
}

/**
 * Reads the chosen partitions without joining a group (as an instance of konsumerator could with
 * its KONSUMERATOR_PARTITION): a fetch from each partition's leader, from the log start.
 */
async function consumeChosenPartitions(bootstrap: string, topic: string, chosen: number[]): Promise<string> {
  const consumer = new PlatformaticConsumer({
    clientId: 'bench-chosen',
    groupId: 'bench-chosen-unused',
    bootstrapBrokers: [bootstrap],
  });
  try {
    const metadata = await consumer.metadata({ topics: [topic] });
    const topicMetadata = metadata.topics.get(topic)!;
    const records = new Map<number, number>();
    for (const partition of chosen) {
      const p = topicMetadata.partitions[partition]!;
      const response = await consumer.fetch({
        node: p.leader,
        topics: [
          {
            topicId: topicMetadata.id,
            partitions: [
              {
                partition,
                currentLeaderEpoch: p.leaderEpoch,
                fetchOffset: 0n,
                lastFetchedEpoch: -1,
                partitionMaxBytes: 1 << 20,
              },
            ],
          },
        ],
        maxWaitTime: 500,
        minBytes: 1,
        maxBytes: 1 << 22,
      });
      for (const t of response.responses)
        for (const r of t.partitions)
          for (const batch of r.records ?? [])
            records.set(r.partitionIndex, (records.get(r.partitionIndex) ?? 0) + batch.records.length);
    }
    const got = [...records.keys()].sort((a, b) => a - b);
    if (got.join(',') !== chosen.join(',')) throw new Error(`got records of partitions ${got.join(',')}`);
    return `records of partitions ${got.map((p) => `${p} (${records.get(p)})`).join(', ')} only`;
  } finally {
    await consumer.close(true);
  }
}

/** The same checks with kafkajs, configured as konsumerator configured it. */
async function kafkajsFeatures(
  e: Endpoints,
  security: KafkaSecurity,
  topic: string,
  groupId: string,
): Promise<Record<string, Outcome>> {
  const files = security.files;
  const user = security.users[0]!;
  const withAdmin = async <T>(
    brokers: string[],
    extra: { ssl?: object | boolean; sasl?: KafkajsSasl },
    f: (a: ReturnType<Kafka['admin']>) => Promise<T>,
  ) => {
    const admin = new Kafka({
      clientId: 'konsumerator',
      brokers,
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
      ...extra,
    }).admin();
    try {
      await admin.connect();
      return await f(admin);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };
  const read = (a: ReturnType<Kafka['admin']>) =>
    a.fetchTopicOffsets(topic).then((o) => `${o.length} partitions`);
  const mtls = {
    ca: files.caPem,
    cert: files.clientCertPem,
    key: files.clientKeyPem,
    rejectUnauthorized: true,
  };
  const sasl = (mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', password = user.password) =>
    withAdmin(
      [e.saslSsl],
      {
        ssl: { ca: files.caPem, rejectUnauthorized: true },
        sasl: { mechanism, username: user.username, password } as KafkajsSasl,
      },
      read,
    );
  const out: Record<string, Outcome> = {};
  out['mutual TLS (CA, client certificate)'] = await outcome(() => withAdmin([e.ssl], { ssl: mtls }, read));
  out['TLS without the client certificate the broker requires'] = await outcome(() =>
    expectFailure(() => withAdmin([e.ssl], { ssl: { ca: files.caPem, rejectUnauthorized: true } }, read)),
  );
  out['TLS with an untrusted broker certificate'] = await outcome(() =>
    expectFailure(() =>
      withAdmin(
        [e.ssl],
        { ssl: { cert: files.clientCertPem, key: files.clientKeyPem, rejectUnauthorized: true } },
        read,
      ),
    ),
  );
  out['SASL PLAIN over TLS'] = await outcome(() => sasl('plain'));
  out['SASL SCRAM-SHA-256 over TLS'] = await outcome(() => sasl('scram-sha-256'));
  out['SASL SCRAM-SHA-512 over TLS'] = await outcome(() => sasl('scram-sha-512'));
  out['SASL with a wrong password'] = await outcome(() =>
    expectFailure(() => sasl('scram-sha-512', 'wrong')),
  );
  out['unknown topic recognised as such'] = await outcome(() =>
    withAdmin([e.plaintext], {}, async (a) => {
      try {
        await a.fetchTopicOffsets(`${topic}-missing`);
      } catch (err) {
        // As konsumerator recognised it with kafkajs: the error type, or the broker's message.
        const message = kafkaErrorMessage(err);
        if (
          (err as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION' ||
          /does not host this topic-partition/.test(message)
        )
          return message;
        throw err;
      }
      throw new Error('no error');
    }),
  );
  out['list consumer groups'] = await outcome(() =>
    withAdmin([e.plaintext], {}, async (a) => {
      const { groups } = await a.listGroups();
      if (!groups.some((g) => g.groupId === groupId)) throw new Error(`${groupId} not listed`);
      return `${groups.length} group(s)`;
    }),
  );
  out['produce to chosen partitions (each message written once)'] = await outcome(() =>
    withAdmin([e.plaintext], {}, async (a) => {
      const before = await a.fetchTopicOffsets(topic);
      const kafka = new Kafka({ brokers: [e.plaintext], logLevel: logLevel.NOTHING });
      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      try {
        await producer.send({
          topic,
          messages: [5, 6, 7, 8, 9].map((partition) => ({ partition, value: 'x' })),
        });
      } finally {
        await producer.disconnect();
      }
      const after = await a.fetchTopicOffsets(topic);
      const high = (list: typeof before, p: number) => Number(list.find((o) => o.partition === p)!.high);
      const grown = [5, 6, 7, 8, 9].map((p) => high(after, p) - high(before, p));
      if (grown.some((g) => g !== 1)) throw new Error(`log ends grew by ${grown.join(',')}`);
      return 'log end +1 on each of 5 partitions';
    }),
  );
  out['commit offsets for a group without members'] = await outcome(() =>
    withAdmin([e.plaintext], {}, async (a) => {
      const group = `${groupId}-manual-kafkajs`;
      await a.setOffsets({
        groupId: group,
        topic,
        partitions: [
          { partition: 1, offset: '1' },
          { partition: 2, offset: '2' },
        ],
      });
      const [read] = await a.fetchOffsets({ groupId: group, topics: [topic] });
      const committed = (p: number) => read?.partitions.find((o) => o.partition === p)?.offset;
      if (committed(1) !== '1' || committed(2) !== '2') throw new Error('not read back');
      return 'read back';
    }),
  );
  out['consume partitions chosen by hand'] = {
    outcome: 'no',
    detail: 'kafkajs has no assign(); only subscribe() with a group assigner',
  };
  return out;
}

async function features(
  e: Endpoints,
  security: KafkaSecurity,
  topic: string,
  groupId: string,
): Promise<FeatureCheck[]> {
  const byClient: Record<ClientName, Record<string, Outcome>> = {
    kafkajs: await kafkajsFeatures(e, security, topic, groupId),
    '@platformatic/kafka': await platformaticFeatures(e, security, topic, groupId),
  };
  return Object.keys(byClient['@platformatic/kafka']).map((feature) => ({
    feature,
    results: Object.fromEntries(CLIENTS.map((c) => [c, byClient[c][feature]])),
  }));
}

// ---- the run ---------------------------------------------------------------------------------

function packageVersion(name: string): string {
  const json = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
    version: string;
  };
  return json.version;
}

export async function runKafkaClientBench(
  options: KafkaClientBenchOptions = {},
): Promise<KafkaClientResults> {
  const partitions = options.partitions ?? 1000;
  const repetitions = options.repetitions ?? 5;
  const reads = options.reads ?? 30;
  const progress = options.progress ?? (() => undefined);
  const root = join(REPO_ROOT, '.testplane', `bench-kafka-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const libDir = await ensureKafkaRuntime();
  const security: KafkaSecurity = {
    files: makeKafkaCertificates(join(root, 'certs')),
    users: [{ username: 'bench', password: randomBytes(12).toString('hex') }],
  };
  const script = await compileWorker(join(root, 'js'));
  progress('starting a Kafka broker with PLAINTEXT, SSL (mutual TLS) and SASL_SSL listeners');
  const broker = await startKafka({ libDir, dir: root, security });
  try {
    const endpoints: Endpoints = { plaintext: broker.bootstrap, ...broker.secure! };
    const topic = 'bench-offsets';
    const groupId = 'bench-group';
    const expected = expectedOffsets(partitions);
    progress(`setting up a ${partitions}-partition topic, its messages and the group's commits`);
    await setUp(broker.bootstrap, topic, groupId, expected);

    const idle = { reads, idleMs: 5000, idleConnections: 10 };
    const base = await runWorker(script, { client: 'none', brokers: [], topic, groupId, ...idle });
    const results = new Map<ClientName, WorkerResult[]>(CLIENTS.map((c) => [c, []]));
    let clientsAgree = true;
    for (let rep = 0; rep < repetitions; rep++) {
      const order = rep % 2 === 0 ? CLIENTS : [...CLIENTS].reverse();
      const round: WorkerResult[] = [];
      for (const client of order) {
        const result = await runWorker(script, {
          client,
          brokers: [broker.bootstrap],
          topic,
          groupId,
          ...idle,
        });
        results.get(client)!.push(result);
        round.push(result);
        progress(
          `${client} #${rep + 1}: first read ${result.firstReadMs.toFixed(0)} ms, then median ${median(result.readMs).toFixed(1)} ms; ` +
            `${mismatches(result.offsets, expected)} offsets differ from the setup`,
        );
      }
      if (mismatches(round[0]!.offsets, round[1]!.offsets) !== 0) clientsAgree = false;
    }
    progress('feature checks');
    const checks = await features(endpoints, security, topic, groupId);

    const clients = CLIENTS.map((client): ClientFigures => {
      const runs = results.get(client)!;
      const m = (f: (r: WorkerResult) => number) => median(runs.map(f));
      const readMedians = runs.map((r) => median(r.readMs));
      const bad = runs.reduce((n, r) => n + mismatches(r.offsets, expected), 0);
      return {
        client,
        version: packageVersion(client),
        correct: bad === 0,
        mismatches: bad,
        firstReadMs: m((r) => r.firstReadMs),
        readMs: median(readMedians),
        readMsMin: Math.min(...readMedians),
        readMsMax: Math.max(...readMedians),
        importRssMiB: m((r) => r.memory.afterImport.rssMiB - r.memory.beforeImport.rssMiB),
        importHeapMiB: m((r) => r.memory.afterImport.heapUsedMiB - r.memory.beforeImport.heapUsedMiB),
        rssAfterReadsMiB: m((r) => r.memory.afterReads.rssMiB),
        heapAfterReadsMiB: m((r) => r.memory.afterReads.heapUsedMiB),
        idleCpuMsPerSecond: m((r) => r.idleCpuMsPerSecond),
        idleCpuMsPerSecond10: m((r) => r.idleCpuMsPerSecondMany),
      };
    });
    return {
      node: process.version,
      kafkaVersion: basename(dirname(libDir)).match(/^kafka-([^-]+)-/)?.[1] ?? 'unknown',
      partitions,
      repetitions,
      reads,
      baseline: {
        rssMiB: base.memory.beforeImport.rssMiB,
        heapUsedMiB: base.memory.beforeImport.heapUsedMiB,
        idleCpuMsPerSecond: base.idleCpuMsPerSecond,
      },
      clients,
      clientsAgree,
      features: checks,
    };
  } finally {
    await broker.process.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
