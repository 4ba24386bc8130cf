// `npm run soak`: a bounded run of the closed loop at scale, on demand (not in CI). A local plane
// (etcd, kube-apiserver, controller-manager, scheduler, kwok, Kafka) runs one Consumer of 120
// partitions, two per Deployment, in Kafka mode; the load generator produces a skewed load whose
// hot spots move every few minutes and which swings as a sine; the simulated consumer group
// consumes at the speed of the CPU the operator gives each Deployment. The operator runs as its own
// process, as its own ServiceAccount (the shipped RBAC), so that its memory is its own and the API
// server's audit log counts exactly its requests.
//
// Every --sample it records the operator's resident memory (/proc) and heap (its /metrics), the API
// server's request rate (apiserver_request_total, all clients), the operator's own request rate
// (audit log), its reconcile rate (its /metrics) and the group's total lag; at the end it writes
// <out>/soak.json (every sample) and <out>/soak.md (first vs last 5 minutes, slope per hour).
//
//   npm run soak -- [--duration 30m] [--partitions 120] [--partitions-per-instance 2] [--sample 15s] [--out docs/benchmarks]
//   npm run soak -- --from docs/benchmarks/soak.json   (re-renders the report of an earlier run)
import { createReadStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { KafkaAdmin } from '../src/kafka/client.js';
import { GROUP, PLURAL, VERSION } from '../src/api/constants.js';
import type { Consumer } from '../src/api/schema.js';
import { parseDuration } from '../src/util/units.js';
import { applyObjects, installCrd } from '../src/cli/install.js';
import { operatorManifests, OPERATOR_NAME } from '../src/cli/manifests.js';
import { demoConsumerSpec } from '../src/cli/demo-consumer.js';
import { profileRate, runConsumerGroup, runLoad, type LoadProfile } from '../src/loadgen/index.js';
import { REPO_ROOT } from '../src/testplane/binaries.js';
import {
  AUDITED_NAMESPACE,
  ensureBinaries,
  ensureKafkaRuntime,
  startTestPlane,
} from '../src/testplane/index.js';
import { residentKiB } from '../src/testplane/memory.js';
import { freePort } from '../src/testplane/ports.js';
import { onShutdown, startProcess, type ManagedProcess } from '../src/testplane/process.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '30m' },
    partitions: { type: 'string', default: '120' },
    'partitions-per-instance': { type: 'string', default: '2' },
    sample: { type: 'string', default: '15s' },
    out: { type: 'string', default: join(REPO_ROOT, 'docs', 'benchmarks') },
    /** Re-render the report from a soak.json of an earlier run (no plane is started). */
    from: { type: 'string' },
  },
});
const DURATION_MS = parseDuration(args.duration);
const PARTITIONS = Number(args.partitions);
const PER_INSTANCE = Number(args['partitions-per-instance']);
/** kwok's node takes 110 pods: 60 instances leave room for the surge pods of rolling updates. */
const INSTANCES = Math.ceil(PARTITIONS / PER_INSTANCE);
const SAMPLE_MS = parseDuration(args.sample);
const NAMESPACE = 'soak';
const TOPIC = 'soak-orders';
const GROUP_ID = 'soak-orders-consumer';
const RATE_PER_CORE = 50;
/** Hot spots move this often. */
const SHIFT_SECONDS = 240;

interface Sample {
  /** Seconds since the measurement started (the Consumer first Ready). */
  t: number;
  operatorRssMiB: number;
  operatorHeapUsedMiB: number;
  /** All clients' requests per second, from apiserver_request_total. */
  apiRequestsPerSec: number;
  /** The operator's requests per second (audit log), and of those the writes. */
  operatorRequestsPerSec: number;
  operatorWritesPerSec: number;
  reconcilesPerSec: number;
  deployments: number;
  totalLag: number;
}

/** Base rates 2–8 msg/s; every SHIFT_SECONDS a different tenth of the partitions runs 5× hot. */
function loadProfile(partitions: number, seconds: number): LoadProfile {
  const rates = Array.from({ length: partitions }, (_, p) => 2 + ((p * 7) % 7));
  const hot = (k: number) =>
    Array.from({ length: Math.ceil(partitions / 10) }, (_, i) => (k * 13 + i * 10) % partitions);
  const steps: Array<{ atSeconds: number; factor: number; partitions: number[] }> = [];
  for (let k = 0; k * SHIFT_SECONDS < seconds; k++) {
    if (k > 0) steps.push({ atSeconds: k * SHIFT_SECONDS, factor: 1, partitions: hot(k - 1) });
    steps.push({ atSeconds: k * SHIFT_SECONDS, factor: 5, partitions: hot(k) });
  }
  return { rates, sine: { amplitude: 0.4, periodSeconds: 600, phasePerPartition: 1 / partitions }, steps };
}

async function main(): Promise<void> {
  const dir = join(REPO_ROOT, '.testplane', 'soak');
  rmSync(dir, { recursive: true, force: true });
  const binDir = await ensureBinaries();
  const kafkaLibDir = await ensureKafkaRuntime();
  const plane = await startTestPlane({ dir, binDir, withKafka: true, kafkaLibDir, auditLog: true });
  let operator: ManagedProcess | undefined;
  const abort = new AbortController();
  const background: Promise<unknown>[] = [];
  const stop = async () => {
    abort.abort();
    await Promise.allSettled(background);
    await operator?.stop();
    await plane.stop();
  };
  onShutdown(stop);
  try {
    const admin = new KubeConfig();
    admin.loadFromFile(plane.kubeconfigPath);
    await installCrd(admin);
    await applyObjects(admin, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }]);
    await waitForServiceAccount(admin, NAMESPACE);
    const bootstrap = plane.kafkaBootstrap!;
    await createTopic(bootstrap);
    const kubeconfigFile = await operatorKubeconfig(admin, plane, dir);
    const metricsPort = await freePort();
    operator = startProcess({
      name: 'konsumerator run',
      command: process.execPath,
      args: [
        '--import',
        'tsx',
        join(REPO_ROOT, 'src', 'cli', 'main.ts'),
        'run',
        `--kubeconfig=${kubeconfigFile}`,
        `--metrics-bind-address=127.0.0.1:${metricsPort}`,
        '--health-probe-bind-address=',
        '--log-level=warn',
        // The plane's broker is on 127.0.0.1, which the endpoint policy denies unless allowed.
        `--allow-endpoints=${bootstrap}`,
      ],
      cwd: REPO_ROOT,
      logFile: join(dir, 'operator.log'),
    });
    const spec = demoConsumerSpec(NAMESPACE, {
      kafka: { brokers: [bootstrap], topic: TOPIC, groupId: GROUP_ID },
    });
    spec.numPartitions = PARTITIONS;
    spec.numPartitionsPerInstance = PER_INSTANCE;
    spec.name = 'soak-consumer';
    if (spec.autoscaler.mode === 'kafka') spec.autoscaler.kafka!.ratePerCore = RATE_PER_CORE;
    await applyObjects(admin, [
      {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Consumer',
        metadata: { name: 'soak', namespace: NAMESPACE },
        spec,
      } as Consumer as never,
    ]);
    const seconds = (DURATION_MS + 10 * 60_000) / 1000;
    const endAt = Date.now() + seconds * 1000;
    /** Restarts a load component that fails (e.g. a broker hiccup) until the run ends. */
    const keepRunning = async (what: string, run: (secondsLeft: number) => Promise<unknown>) => {
      while (!abort.signal.aborted && Date.now() < endAt) {
        try {
          await run((endAt - Date.now()) / 1000);
        } catch (error) {
          console.error(`${what} failed, restarting: ${error instanceof Error ? error.message : error}`);
          await sleep(2000);
        }
      }
    };
    const rate = profileRate(loadProfile(PARTITIONS, seconds));
    background.push(
      keepRunning('load generator', (secondsLeft) => {
        const offset = seconds - secondsLeft;
        return runLoad({
          brokers: [bootstrap],
          topic: TOPIC,
          // After a restart the profile continues where the run is, not from its start.
          rate: (p, t) => rate(p, t + offset),
          partitions: PARTITIONS,
          durationSeconds: secondsLeft,
          maxMessages: 1e9,
          signal: abort.signal,
        });
      }),
    );
    let totalLag = 0;
    background.push(
      keepRunning('consumer group', (secondsLeft) =>
        runConsumerGroup({
          brokers: [bootstrap],
          groupId: GROUP_ID,
          topic: TOPIC,
          ratePerCore: RATE_PER_CORE,
          kubernetes: { kubeConfig: admin, namespace: NAMESPACE },
          refreshSeconds: 5,
          durationSeconds: secondsLeft,
          signal: abort.signal,
          onTick: (tick) => (totalLag = tick.lag.reduce((a, b) => a + b, 0)),
        }),
      ),
    );
    console.log(`waiting for the Consumer's ${INSTANCES} Deployments…`);
    await waitForReady(admin);
    console.log(`converged; sampling every ${args.sample} for ${args.duration}`);
    const samples = await sampleFor({
      plane,
      operatorPid: operator.pid,
      metricsPort,
      lag: () => totalLag,
      deployments: async () => (await readConsumer(admin)).status?.running ?? 0,
    });
    writeReport(samples);
  } finally {
    // Bounded: a client stuck on a dying broker must not keep the script (and the plane) alive.
    await Promise.race([stop(), sleep(90_000).then(() => plane.stop())]);
  }
}

async function waitForServiceAccount(admin: KubeConfig, namespace: string): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  for (let i = 0; i < 120; i++) {
    if (
      await core.readNamespacedServiceAccount({ name: 'default', namespace }).then(
        () => true,
        () => false,
      )
    )
      return;
    await sleep(500);
  }
  throw new Error(`no default ServiceAccount in ${namespace}`);
}

async function createTopic(bootstrap: string): Promise<void> {
  const kafkaAdmin = new KafkaAdmin({ clientId: 'soak', brokers: [bootstrap] });
  try {
    // Returns once every partition's leader answers.
    await kafkaAdmin.createTopic(TOPIC, PARTITIONS);
  } finally {
    await kafkaAdmin.close();
  }
}

/** The shipped RBAC in the audited namespace, and a kubeconfig with a token of its ServiceAccount. */
async function operatorKubeconfig(
  admin: KubeConfig,
  plane: { apiServerUrl: string; caFile: string },
  dir: string,
): Promise<string> {
  const rbac = operatorManifests({ namespace: AUDITED_NAMESPACE, image: 'unused' }).filter(
    (o) => o.kind !== 'Deployment',
  );
  await applyObjects(admin, rbac, 'konsumerator-soak');
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: OPERATOR_NAME,
    namespace: AUDITED_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: Math.ceil(DURATION_MS / 1000) + 7200 } },
  });
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'plane', server: plane.apiServerUrl, caFile: plane.caFile }],
    users: [{ name: 'operator', token: token.status!.token }],
    contexts: [{ name: 'operator', cluster: 'plane', user: 'operator' }],
    currentContext: 'operator',
  });
  const file = join(dir, 'operator.kubeconfig');
  writeFileSync(file, config.exportConfig(), { mode: 0o600 });
  return file;
}

const readConsumer = async (admin: KubeConfig) =>
  (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace: NAMESPACE,
    name: 'soak',
  })) as Consumer;

async function waitForReady(admin: KubeConfig): Promise<void> {
  const deadline = Date.now() + 15 * 60_000;
  while (Date.now() < deadline) {
    const consumer = await readConsumer(admin).catch(() => undefined);
    const ready = consumer?.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True' && (consumer?.status?.running ?? 0) >= INSTANCES) return;
    await sleep(2000);
  }
  throw new Error('the Consumer did not become Ready within 15 minutes');
}

/** GET over HTTPS with a bearer token (the API server's /metrics) or plain HTTP. */
function get(url: string, options: https.RequestOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    (url.startsWith('https:') ? https : http)
      .get(url, options, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** Sum of a metric's samples whose name matches exactly (all label sets). */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Counts the audit log's events (requests of the operator) appended since the last call. */
class AuditCounter {
  private offset = 0;
  private partial = '';
  constructor(private readonly path: string) {}

  async read(): Promise<{ requests: number; writes: number }> {
    const size = statSync(this.path).size;
    if (size <= this.offset) return { requests: 0, writes: 0 };
    let requests = 0;
    let writes = 0;
    const stream = createReadStream(this.path, { start: this.offset, end: size - 1, encoding: 'utf8' });
    for await (const chunk of stream as AsyncIterable<string>) {
      const lines = (this.partial + chunk).split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) {
        const event = JSON.parse(line) as { verb: string; stage: string };
        // Watches log ResponseStarted and ResponseComplete; count each request once.
        if (event.stage !== 'ResponseComplete') continue;
        requests++;
        if (['create', 'update', 'patch', 'delete', 'deletecollection'].includes(event.verb)) writes++;
      }
    }
    this.offset = size;
    return { requests, writes };
  }
}

async function sampleFor(source: {
  plane: { apiServerUrl: string; caFile: string; adminToken: string; auditLogPath?: string };
  operatorPid: number;
  metricsPort: number;
  lag: () => number;
  deployments: () => Promise<number>;
}): Promise<Sample[]> {
  const { plane } = source;
  const apiOptions = {
    ca: readFileSync(plane.caFile),
    headers: { Authorization: `Bearer ${plane.adminToken}` },
  };
  const audit = new AuditCounter(plane.auditLogPath!);
  const counters = async () => {
    const api = await get(`${plane.apiServerUrl}/metrics`, apiOptions);
    const own = await get(`http://127.0.0.1:${source.metricsPort}/metrics`);
    return {
      at: performance.now(),
      api: metricSum(api, 'apiserver_request_total'),
      reconciles: metricSum(own, 'konsumerator_consumer_reconcile_duration_seconds_count'),
      heap: metricSum(own, 'nodejs_heap_size_used_bytes'),
    };
  };
  const samples: Sample[] = [];
  const t0 = performance.now();
  await audit.read();
  let previous = await counters();
  while (performance.now() - t0 < DURATION_MS) {
    await sleep(SAMPLE_MS);
    const now = await counters();
    const { requests, writes } = await audit.read();
    const dt = (now.at - previous.at) / 1000;
    const sample: Sample = {
      t: Math.round((now.at - t0) / 1000),
      operatorRssMiB: round((residentKiB(source.operatorPid) ?? NaN) / 1024),
      operatorHeapUsedMiB: round(now.heap / 2 ** 20),
      apiRequestsPerSec: round((now.api - previous.api) / dt),
      operatorRequestsPerSec: round(requests / dt),
      operatorWritesPerSec: round(writes / dt),
      reconcilesPerSec: round((now.reconciles - previous.reconciles) / dt),
      deployments: await source.deployments(),
      totalLag: source.lag(),
    };
    samples.push(sample);
    console.log(JSON.stringify(sample));
    previous = now;
  }
  return samples;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Least-squares slope of y over t (seconds), per hour. */
function slopePerHour(points: Array<[number, number]>): number {
  const mt = mean(points.map(([t]) => t));
  const my = mean(points.map(([, y]) => y));
  let num = 0;
  let den = 0;
  for (const [t, y] of points) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3600;
}

const FIGURES: Array<[keyof Sample, string]> = [
  ['operatorRssMiB', 'operator resident memory (MiB)'],
  ['operatorHeapUsedMiB', 'operator V8 heap used (MiB)'],
  ['apiRequestsPerSec', 'API server requests/s, all clients (apiserver_request_total)'],
  ['operatorRequestsPerSec', "operator's API requests/s (audit log)"],
  ['operatorWritesPerSec', "operator's API writes/s (audit log)"],
  ['reconcilesPerSec', 'reconciles/s (konsumerator_consumer_reconcile_duration_seconds_count)'],
  ['totalLag', 'total lag of the group (messages)'],
];

interface Settings {
  duration: string;
  partitions: number;
  instances: number;
  sample: string;
  ratePerCore: number;
  hotSpotShiftSeconds: number;
  finishedAt: string;
}

const currentSettings = (): Settings => ({
  duration: args.duration,
  partitions: PARTITIONS,
  instances: INSTANCES,
  sample: args.sample,
  ratePerCore: RATE_PER_CORE,
  hotSpotShiftSeconds: SHIFT_SECONDS,
  finishedAt: new Date().toISOString(),
});

/** The sample nearest to every 5-minute mark, and the last one. */
function everyFiveMinutes(samples: readonly Sample[]): Sample[] {
  const last = samples.at(-1)?.t ?? 0;
  const picked = new Set<Sample>();
  for (let mark = 0; mark <= last; mark += 300) {
    const nearest = samples.reduce((a, b) => (Math.abs(b.t - mark) < Math.abs(a.t - mark) ? b : a));
    picked.add(nearest);
  }
  if (samples.length) picked.add(samples.at(-1)!);
  return [...picked];
}

function writeReport(samples: Sample[], settings: Settings = currentSettings()): void {
  const out = args.out;
  mkdirSync(out, { recursive: true });
  const last = samples.at(-1)?.t ?? 0;
  const windowS = Math.min(300, parseDuration(settings.duration) / 3000);
  const summary = FIGURES.map(([key, label]) => {
    const series = samples.map((s) => [s.t, s[key]] as [number, number]);
    const first = series.filter(([t]) => t <= windowS).map(([, y]) => y);
    const end = series.filter(([t]) => t > last - windowS).map(([, y]) => y);
    return {
      key,
      label,
      first5min: round(mean(first)),
      last5min: round(mean(end)),
      change: round(mean(first) === 0 ? 0 : (mean(end) / mean(first) - 1) * 100, 1),
      slopePerHour: round(slopePerHour(series), 3),
      min: round(Math.min(...series.map(([, y]) => y))),
      max: round(Math.max(...series.map(([, y]) => y))),
    };
  });
  writeFileSync(join(out, 'soak.json'), `${JSON.stringify({ settings, summary, samples }, null, 2)}\n`);
  const rows = summary.map(
    (s) =>
      `| ${s.label} | ${s.first5min} | ${s.last5min} | ${s.change} % | ${s.slopePerHour} | ${s.min} – ${s.max} |`,
  );
  const { partitions, instances, ratePerCore, hotSpotShiftSeconds } = settings;
  const md = [
    '# Soak run',
    '',
    `Generated by \`npm run soak -- --duration ${settings.duration} --partitions ${partitions}\` (finished ${settings.finishedAt}).`,
    '',
    `One Consumer in Kafka mode with ${partitions} partitions, ${partitions / instances} per Deployment (${instances} Deployments, kwok pods), on a local plane`,
    `with a real Kafka broker. The load generator produces 2–8 msg/s per partition, swinging ±40 % over 10`,
    `minutes; every ${hotSpotShiftSeconds / 60} minutes a different tenth of the partitions runs 5× hot. The simulated`,
    `consumer group consumes ${ratePerCore} msg/s per core of each Deployment's CPU request, so the operator`,
    'keeps resizing. The operator is a separate process (`node --import tsx src/cli/main.ts run`, so its',
    'memory includes the TypeScript loader), authenticated as its own ServiceAccount with the shipped RBAC;',
    "the API server's audit log counts its requests. Time 0 is when the Consumer was first Ready with all",
    `${instances} Deployments; samples every ${settings.sample}. "First"/"last" are the means over the first and the`,
    `last ${windowS / 60} minutes; the slope is a least-squares fit over the whole run.`,
    '',
    '| figure | first | last | change | slope per hour | range |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    'The operator reads through its watch caches, so nearly all of its requests are writes (status',
    'patches, Deployment applies, events); its watches complete only when they are renewed. The API',
    "server's total includes the controller-manager, the scheduler, kwok and the simulated group.",
    '',
    '## Samples (about every 5 minutes)',
    '',
    '| t (s) | RSS MiB | heap MiB | API req/s | operator req/s | operator writes/s | reconciles/s | lag |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...everyFiveMinutes(samples).map(
      (s) =>
        `| ${s.t} | ${s.operatorRssMiB} | ${s.operatorHeapUsedMiB} | ${s.apiRequestsPerSec} | ${s.operatorRequestsPerSec} | ${s.operatorWritesPerSec} | ${s.reconcilesPerSec} | ${s.totalLag} |`,
    ),
    '',
    `All samples: [soak.json](soak.json).`,
    '',
  ].join('\n');
  writeFileSync(join(out, 'soak.md'), md);
  console.log(`report: ${relative(REPO_ROOT, join(out, 'soak.md'))}`);
  console.log(md);
}

async function rerender(path: string): Promise<void> {
  const saved = JSON.parse(readFileSync(path, 'utf8')) as { settings: Settings; samples: Sample[] };
  writeReport(saved.samples, saved.settings);
}

(args.from ? rerender(args.from) : main()).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
