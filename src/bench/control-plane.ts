// Control-plane cost of the operator, measured on real test planes: API write requests (from the
// API server's own apiserver_request_total) and wall time to converge a 1,000-instance Consumer,
// writes per idle resync and per changed instance, and the operator's resident memory with
// 10,000 managed Deployments. Baselines are measured in the same run: the same rendered
// Deployments applied directly, and the operator's memory with nothing to manage.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/constants.js';
import type { Consumer, ConsumerSpec } from '../api/schema.js';
import { IMAGE_ENV, OPERATOR_NODE_FLAGS } from '../cli/image.js';
import { installCrd } from '../cli/install.js';
import { KubeWriter } from '../controller/kube.js';
import { KubeClient } from '../kube/client.js';
import { planConsumer } from '../plan/consumer-plan.js';
import { instanceResources } from '../plan/instance-resources.js';
import {
  apiRequestCounts,
  operatorWrites,
  totalWrites,
  type ApiServerAccess,
} from '../testplane/api-metrics.js';
import { REPO_ROOT } from '../testplane/binaries.js';
import { ensureBinaries, startTestPlane, type TestPlane } from '../testplane/index.js';
import { DEFAULT_NODE } from '../testplane/fake-nodes.js';
import { fakeNode } from '../testplane/kwok.js';
import { freePort } from '../testplane/ports.js';
import { startProcess, type ManagedProcess } from '../testplane/process.js';
import { sleep, waitFor } from '../testplane/wait.js';
import { withConcurrency } from '../util/concurrency.js';
import { measureImportCost, type ImportCost } from './import-cost.js';
import { StatusLog } from './status-log.js';

/** The runs of the control-plane part, each on its own test plane. */
export const CONTROL_PLANE_RUNS = ['converge', 'memory'] as const;
export type ControlPlaneRun = (typeof CONTROL_PLANE_RUNS)[number];

export interface ControlPlaneBenchOptions {
  /** Only these runs (default all); the others keep the figures of `previous`. */
  runs?: readonly ControlPlaneRun[];
  /** Results of an earlier run, for the runs not done now. */
  previous?: ControlPlaneResults;
  /** Instances of the Consumer converged from empty (default 1,000). */
  instances?: number;
  /** Deployments managed in the memory run (default 10,000, as 10 Consumers). */
  memoryDeployments?: number;
  progress?: (line: string) => void;
}

export interface WriteCount {
  total: number;
  byResource: Record<string, number>;
  /** What each status change of the Consumer in that time changed, from a watch (absent in older results). */
  statusChanges?: string[];
}

/** How far the rollout of the converged Consumer's pods had come, `seconds` after creating it. */
export interface RolloutSample {
  seconds: number;
  podsRunning: number;
  podsReady: number;
  deploymentsAvailable: number;
}

/**
 * The operator while 1,000 instances roll out: its metrics endpoint asked once a second (what a
 * liveness probe or a scrape would see), with the slowest answer and the event loop's worst delay
 * (prom-client's nodejs_eventloop_lag_max_seconds, the maximum since the previous answer).
 */
export interface OperatorLoad {
  seconds: number;
  slowestAnswerSeconds: number;
  eventLoopLagMaxSeconds: number;
  cpuSeconds: number;
  reconciles: number;
}

export interface ControlPlaneResults {
  instances: number;
  converge: {
    /** The same rendered Deployments server-side applied directly, 8 at a time (paused, so the controller-manager does nothing for them). */
    baselineApplySeconds: number;
    baselineWrites: number;
    /** From creating the Consumer until every Deployment existed. */
    deploymentsWrittenSeconds: number;
    /** Until the Consumer was Ready (every instance rolled out by the controller-manager, scheduler and kwok); undefined: not within the cap. */
    readySeconds: number | undefined;
    readyCapSeconds: number;
    /** When Ready came after the cap (waited for once more as long), if it did. */
    readyLateSeconds?: number;
    /** Pods and Deployments every 15 s while waiting for Ready (absent in older results). */
    rollout?: RolloutSample[];
    /** How the operator answered and what it spent from the Consumer's creation until Ready (absent in older results). */
    operatorLoad?: OperatorLoad;
    /**
     * The same Deployments applied directly, not paused, after the operator's run (the operator
     * stopped): until every one was written, and until every one was available (absent in older
     * results).
     */
    direct?: { writtenSeconds: number; availableSeconds: number | undefined };
    writes: WriteCount;
    eventWrites: number;
    /** Node flags of the operator in this run (absent in older results: none). */
    nodeFlags?: string[];
    /** Environment the operator was given in this run (absent in older results: none). */
    operatorEnv?: Record<string, string>;
    /** kube-controller-manager's --kube-api-qps in this run (absent in older results: its default, 20). */
    controllerManagerQps?: number;
  };
  idle: { resyncs: number; resyncSeconds: number; metricReads: number; writes: WriteCount };
  /** One instance edited by hand; `seconds`: until it was put back (absent in older results). */
  drift: { writes: WriteCount; seconds?: number };
  scaleOne: { writes: WriteCount };
  /** Every partition starts lagging at once (absent in results from before it was measured). */
  wave?: { writes: WriteCount };
  /** `readySeconds`: until Ready again for the new generation (absent: not within its wait, or older results). */
  templateChange: {
    writes: WriteCount;
    perInstance: number;
    readySeconds?: number;
    readyCapSeconds?: number;
  };
  memory: {
    deployments: number;
    consumers: number;
    baselineRssMiB: number;
    createSeconds: number;
    createWrites: WriteCount;
    rssAfterCreateMiB: number;
    peakRssDuringCreateMiB: number;
    rssAfterRestartMiB: number;
    peakRssDuringRestartMiB: number;
    restartWrites: WriteCount;
    /** Node flags of the operator in this run (absent in older results: none). */
    nodeFlags?: string[];
    /** Environment the operator was given in this run (absent in older results: none). */
    operatorEnv?: Record<string, string>;
    /** Where the memory goes (absent in results from before it was measured). */
    split?: MemorySplit;
    /** What each library adds to the idle process (absent in results from before it was measured). */
    importCost?: ImportCost;
  };
}

/** Resident memory and V8 heap in use, MiB, or KiB per object. */
export interface Footprint {
  rss: number;
  heap: number;
}

export interface MemorySplit {
  /** The runtime and the loaded modules: the operator with nothing to manage, MiB. */
  idleMiB: Footprint;
  /** Per cached Consumer (refused ones: no Deployment of their own), KiB, from this many. */
  perConsumerKiB: Footprint;
  consumersMeasured: number;
  /** Per cached Deployment after a restart, KiB (the Consumers' share taken out). */
  perDeploymentKiB: Footprint;
  /** Per cached Pod of a Consumer that resizes in place, KiB, from this many. */
  perPodKiB: Footprint;
  podsMeasured: number;
  /** Peak resident memory while creating the Deployments, MiB. */
  peakWhileCreatingMiB: number;
}

const NS_CONVERGE = 'bench-converge';
const NS_MEMORY_CONSUMERS = 'bench-memory-consumers';
const NS_MEMORY_PODS = 'bench-memory-pods';
/** Consumers and Pods added to measure what each costs in the caches. */
const CONSUMERS_MEASURED = 200;
const PODS_MEASURED = 1000;
const NS_BASELINE = 'bench-baseline';
/** The same Deployments applied directly and rolled out, after the operator's run (see directRollout). */
const NS_DIRECT = 'bench-direct';
/**
 * kube-controller-manager's requests per second in the convergence run. At its default (20) it
 * writes a ReplicaSet, a Pod and a few status updates per instance at about 3 instances a second:
 * 1,000 instances took over 3 minutes to become available whatever the operator did.
 */
const CONTROLLER_MANAGER_QPS = 200;
/** How long each change of the convergence run may take to be Ready again. */
const READY_CAP_SECONDS = 180;
const RESYNC_SECONDS = 5;

/** A Consumer with one partition per instance, whose static metrics say every partition keeps up. */
function benchSpec(namespace: string, name: string, partitions: number, memoryRun = false): ConsumerSpec {
  const calm = { production: 50, consumption: 50, behind: 0 };
  return {
    numPartitions: partitions,
    numPartitionsPerInstance: 1,
    name,
    namespace,
    autoscaler: memoryRun
      ? { mode: 'none' }
      : {
          mode: 'static',
          pendingScaleUpDuration: '0s',
          pendingScaleDownDuration: '0s',
          static: {
            partitions: Object.fromEntries(Array.from({ length: partitions }, (_, p) => [String(p), calm])),
            minSyncPeriod: '2s',
            ratePerCore: 100,
            ramPerCore: '100M',
            tolerableLag: '1m',
            criticalLag: '1h',
            recoveryTime: '10m',
          },
        },
    deploymentTemplate: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'consumer', image: 'example.com/consumer:1.0' }] },
      },
    },
    resourcePolicy: {
      containerPolicies: [
        {
          containerName: 'consumer',
          minAllowed: { cpu: '100m', memory: '64M' },
          maxAllowed: { cpu: '4', memory: '1G' },
        },
      ],
    },
  };
}

class Bench {
  readonly admin = new KubeConfig();
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
  readonly access: ApiServerAccess;

  constructor(readonly plane: TestPlane) {
    this.admin.loadFromFile(plane.kubeconfigPath);
    this.core = this.admin.makeApiClient(CoreV1Api);
    this.apps = this.admin.makeApiClient(AppsV1Api);
    this.custom = this.admin.makeApiClient(CustomObjectsApi);
    this.access = plane;
  }

  counts = () => apiRequestCounts(this.access);

  async writesSince(before: Map<string, number>, minus: Record<string, number> = {}): Promise<WriteCount> {
    const byResource = operatorWrites(before, await this.counts(), GROUP);
    for (const [key, n] of Object.entries(minus)) {
      const left = (byResource[key] ?? 0) - n;
      if (left > 0) byResource[key] = left;
      else delete byResource[key];
    }
    return { total: totalWrites(byResource), byResource };
  }

  /** Waits until no operator write has happened for `quietMs`. */
  async settle(quietMs = 3000, timeoutMs = 120_000): Promise<void> {
    let last = totalWrites(operatorWrites(new Map(), await this.counts(), GROUP));
    let since = Date.now();
    const end = Date.now() + timeoutMs;
    while (Date.now() - since < quietMs && Date.now() < end) {
      await sleep(500);
      const now = totalWrites(operatorWrites(new Map(), await this.counts(), GROUP));
      if (now !== last) {
        last = now;
        since = Date.now();
      }
    }
  }

  async namespace(name: string): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name } } });
  }

  async countDeployments(namespace: string): Promise<number> {
    const page = await this.apps.listNamespacedDeployment({ namespace, limit: 1 });
    return page.items.length + (page.metadata?.remainingItemCount ?? 0);
  }

  async createConsumer(spec: ConsumerSpec, namespace = spec.namespace): Promise<Consumer> {
    return (await this.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Consumer',
        metadata: { name: spec.name, namespace },
        spec,
      },
    })) as Consumer;
  }

  async getConsumer(namespace: string, name: string): Promise<Consumer> {
    return (await this.custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
    })) as Consumer;
  }

  /**
   * Replaces the spec; a 409 (the operator wrote the status meanwhile) reads it again and retries.
   * Returns the PUTs made, which are not the operator's writes.
   */
  async replaceSpec(consumer: Consumer, spec: ConsumerSpec): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.getConsumer(consumer.metadata.namespace, consumer.metadata.name);
      try {
        await this.custom.replaceNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace: consumer.metadata.namespace,
          name: consumer.metadata.name,
          body: { ...current, spec },
        });
        return attempt;
      } catch (error) {
        if ((error as { code?: number }).code !== 409 || attempt >= 5) throw error;
      }
    }
  }

  async rolloutSample(namespace: string, seconds: number): Promise<RolloutSample> {
    const [pods, deployments] = await Promise.all([
      this.core.listNamespacedPod({ namespace }),
      this.apps.listNamespacedDeployment({ namespace }),
    ]);
    return {
      seconds,
      podsRunning: pods.items.filter((p) => p.status?.phase === 'Running').length,
      podsReady: pods.items.filter((p) =>
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length,
      deploymentsAvailable: deployments.items.filter((d) => (d.status?.availableReplicas ?? 0) >= 1).length,
    };
  }

  /**
   * Waits (at most `capSeconds`) until the benchmark's Consumer is Ready for its current
   * generation, so that a change's status writes are counted with it, not with the next change.
   */
  async readyAgain(operator: ManagedProcess, capSeconds = READY_CAP_SECONDS): Promise<boolean> {
    return waitFor(
      'Consumer Ready again',
      async () => {
        const c = await this.getConsumer(NS_CONVERGE, 'orders');
        return c.status?.observedGeneration === c.metadata.generation &&
          c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')
          ? true
          : undefined;
      },
      { timeoutMs: capSeconds * 1000, intervalMs: 500, process: operator },
    ).catch(() => false);
  }

  /** Event writes made by the operator in a namespace (each event object is one create). */
  async operatorEvents(namespace: string): Promise<number> {
    const events = await this.core.listNamespacedEvent({ namespace });
    return events.items.filter((e) => e.source?.component === 'konsumerator').length;
  }
}

/**
 * The node flags the measured operator runs with: OPERATOR_NODE_FLAGS (src/cli/image.ts), or others
 * from KONSUMERATOR_BENCH_NODE_FLAGS; it also gets the image's environment (MALLOC_ARENA_MAX).
 *
 * History (10,000 Deployments; resident memory after a restart, target 150 MB = 143 MiB):
 * `--max-semi-space-size=1 --optimize-for-size` kept them at 149–157 MiB when first tried, but a
 * 1,000-instance Consumer's hand edit was then not put back within 60 s (twice). The cause was the
 * work queue, not the flags: reconciles ran back to back in one turn of the event loop (see
 * src/controller/queue.ts). Once keys were handed out from setImmediate, the same flags passed
 * every check, with 144 MiB after a restart, and 141 and 147 MiB in two runs with
 * MALLOC_ARENA_MAX=2: the image's settings since. Before that the image ran
 * `--max-semi-space-size=4` (221 MiB after a restart).
 * With `--max-semi-space-size=2 --heap-growing-percent=20` creating 2,000 Deployments took 72 s
 * (23–34 s with the image's flags or none, on the same busy machine).
 *
 * Tried and not taken: `MALLOC_ARENA_MAX=2` with the 4-MiB semi-space: 191 MiB after a restart.
 * With `--expose-gc` and one memory-reducing collection
 * (`gc({ flavor: 'last-resort' })`) when the operator fell quiet after its initial lists or a burst
 * of 500 writes, at most once per 5 minutes: idle 79–80 MiB, 183 MiB after a restart (pause
 * 0.15–0.71 s on a busy machine), peak 228 MiB; adding `MALLOC_MMAP_THRESHOLD_=65536`: 190 MiB; a
 * second collection 5 s after the first: 203 MiB, because on a machine at load 18 the quiet check
 * had not passed within 15 s of the restart. Even two collections by the benchmark left the
 * restarted operator at 149–169 MiB: above the idle process, 33 MiB of V8 heap and 37–57 MiB more
 * resident that no collection returned.
 *
 * Adding `--max-opt=2` (no TurboFan): idle 75 MiB instead of 81, 141 MiB after a restart, the
 * converge run's checks all passed. Also measured on the idle imports alone (resident after
 * importing `run`'s modules, about 77 MiB with the image's flags): `--max-opt=1` 66–67 MiB, but a
 * 1,000-instance autoscaling step and plan took 1.45× as long; `--efficiency-mode` 71 MiB, but
 * `konsumerator simulate` took about three times as long; `--jitless` 66 MiB (no JIT at all);
 * `--single-threaded-gc`, `--v8-pool-size=1`, `--max-lazy`: no change beyond the noise.
 */
export function operatorNodeFlags(): string[] {
  return (
    globalThis.process.env.KONSUMERATOR_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [
      ...OPERATOR_NODE_FLAGS,
    ]
  );
}

/** Compiles the operator as the image does (`npm run build` → dist/). */
async function buildOperator(): Promise<void> {
  const tsc = startProcess({
    name: 'tsc',
    command: globalThis.process.execPath,
    args: [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json')],
    cwd: REPO_ROOT,
  });
  const { code } = await tsc.exited;
  if (code !== 0) throw new Error(`npm run build failed (exit ${code})`);
}

/** The operator as the image runs it (`node dist/cli/main.js run`), in its own process. */
async function startOperatorProcess(
  plane: TestPlane,
  logFile: string,
  /** Listen for the inspector protocol on this port (the memory run collects garbage through it). */
  inspectorPort?: number,
): Promise<{ process: ManagedProcess; metricsUrl: string }> {
  const port = await freePort();
  const process = startProcess({
    name: 'konsumerator',
    command: globalThis.process.execPath,
    args: [
      ...operatorNodeFlags(),
      ...(inspectorPort ? [`--inspect=127.0.0.1:${inspectorPort}`] : []),
      join(REPO_ROOT, 'dist/cli/main.js'),
      'run',
      '--kubeconfig',
      plane.kubeconfigPath,
      '--metrics-bind-address',
      `127.0.0.1:${port}`,
      '--health-probe-bind-address',
      '',
      '--resync',
      `${RESYNC_SECONDS}s`,
      '--log-level',
      'warn',
      // The benchmark's Consumer may ask for more instances than the operator's default limit.
      '--max-instances-per-consumer',
      '100000',
    ],
    logFile,
    cwd: REPO_ROOT,
    env: { ...IMAGE_ENV },
  });
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  await waitFor('operator metrics endpoint', async () => ((await fetch(metricsUrl)).ok ? true : undefined), {
    timeoutMs: 60_000,
    process,
  });
  return { process, metricsUrl };
}

/** Resident and peak resident memory of a process, MiB, from /proc. */
export function residentMemory(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/**
 * Sends inspector-protocol commands to a process started with --inspect, one after the other;
 * returns the last one's result.
 */
async function inspect(port: number, methods: readonly string[]): Promise<unknown> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  try {
    let result: unknown;
    for (const [id, method] of methods.entries()) {
      result = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`inspector: no answer to ${method}`)), 60_000);
        socket.onmessage = (event) => {
          const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
          if (message.id !== id) return;
          clearTimeout(timer);
          resolve(message.result);
        };
        socket.send(JSON.stringify({ id, method }));
      });
    }
    return result;
  } finally {
    socket.close();
  }
}

/**
 * Resident memory (/proc) and V8 heap in use, MiB, right after a full garbage collection asked
 * for through the inspector, and a few seconds for the allocator to return what it freed.
 */
async function settledFootprint(pid: number, inspectorPort: number): Promise<Footprint> {
  await inspect(inspectorPort, ['HeapProfiler.collectGarbage']);
  await sleep(3000);
  const usage = (await inspect(inspectorPort, ['HeapProfiler.collectGarbage', 'Runtime.getHeapUsage'])) as {
    usedSize: number;
  };
  return { rss: residentMemory(pid).rssMiB, heap: usage.usedSize / 2 ** 20 };
}

/** (after − before) / count, MiB → KiB. */
const perObjectKiB = (after: Footprint, before: Footprint, count: number): Footprint => ({
  rss: ((after.rss - before.rss) * 1024) / count,
  heap: ((after.heap - before.heap) * 1024) / count,
});

/** Sum of a counter family in the operator's /metrics. */
async function operatorCounter(metricsUrl: string, name: string): Promise<number> {
  return metricSum(await (await fetch(metricsUrl)).text(), name);
}

/** The sum of a metric's samples (every label set) in Prometheus text. */
function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** `count` fake nodes of 400 cores and 110 pods, numbered after the `existing` ones. */
async function addNodes(b: Bench, existing: number, count: number): Promise<void> {
  for (let i = existing + 1; i <= existing + count; i++)
    await b.core.createNode({
      body: fakeNode({
        ...DEFAULT_NODE,
        name: `kwok-node-${i}`,
        allocatable: { cpu: '400', memory: '100Gi', pods: '110' },
      }),
    });
}

/**
 * The Deployments the operator would create for the benchmark's Consumer in `namespace`, owned by
 * nobody; `paused` ones the controller-manager leaves alone.
 */
function renderedDeployments(
  namespace: string,
  instances: number,
  { paused }: { paused: boolean },
): V1Deployment[] {
  const consumer: Consumer = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Consumer',
    metadata: { name: 'orders', namespace, uid: namespace, generation: 1 },
    spec: benchSpec(namespace, 'orders', instances),
  };
  return planConsumer({ consumer, deployments: [], now: new Date() }).actions.flatMap((a): V1Deployment[] =>
    a.type === 'create'
      ? [
          {
            ...a.deployment,
            metadata: { ...a.deployment.metadata, ownerReferences: [] },
            spec: { ...a.deployment.spec!, ...(paused ? { paused: true } : {}) },
          },
        ]
      : [],
  );
}

/** Server-side applies `deployments` as the admin, 8 at a time (as the operator writes). */
async function applyDirectly(b: Bench, deployments: readonly V1Deployment[]): Promise<void> {
  const writer = new KubeWriter(KubeClient.of(b.admin));
  await withConcurrency(deployments, 8, async (d) => {
    await writer.applyDeployment(d);
  });
}

/**
 * The Deployments of `instances` applied directly (8 at a time, as the operator writes) into a
 * namespace of their own and rolled out by the controller-manager: until all were written and
 * until all were available (polled every second, at most `capSeconds`).
 */
async function directRollout(
  b: Bench,
  instances: number,
  capSeconds: number,
): Promise<{ writtenSeconds: number; availableSeconds: number | undefined }> {
  await b.namespace(NS_DIRECT);
  // Nodes for its pods beside the ones the operator's instances fill.
  await addNodes(b, Math.ceil(instances / 100), Math.ceil(instances / 100));
  const rendered = renderedDeployments(NS_DIRECT, instances, { paused: false });
  const t0 = performance.now();
  await applyDirectly(b, rendered);
  const writtenSeconds = elapsed(t0);
  const availableSeconds = await waitFor(
    'the directly applied Deployments available',
    async () =>
      (await b.apps.listNamespacedDeployment({ namespace: NS_DIRECT })).items.filter(
        (d) => (d.status?.availableReplicas ?? 0) >= 1,
      ).length >= instances
        ? elapsed(t0)
        : undefined,
    { timeoutMs: capSeconds * 1000, intervalMs: 1000 },
  ).catch(() => undefined);
  return { writtenSeconds, availableSeconds };
}

/** Samples the operator's metrics endpoint once a second until stopped; see OperatorLoad. */
function watchOperatorLoad(metricsUrl: string): { stop: () => Promise<OperatorLoad> } {
  const started = performance.now();
  const read = async () => {
    const from = performance.now();
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(600_000) })).text();
    return {
      seconds: (performance.now() - from) / 1000,
      lag: metricSum(text, 'nodejs_eventloop_lag_max_seconds'),
      cpu: metricSum(text, 'process_cpu_seconds_total'),
      reconciles: metricSum(text, 'konsumerator_consumer_reconcile_duration_seconds_count'),
    };
  };
  const first = read();
  let slowest = 0;
  let lagMax = 0;
  let stopped = false;
  const loop = (async () => {
    await first;
    while (!stopped) {
      const sample = await read();
      slowest = Math.max(slowest, sample.seconds);
      lagMax = Math.max(lagMax, sample.lag);
      await sleep(1000);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      const [begin, end] = [await first, await read()];
      return {
        seconds: (performance.now() - started) / 1000,
        slowestAnswerSeconds: Math.max(slowest, end.seconds),
        eventLoopLagMaxSeconds: Math.max(lagMax, end.lag),
        cpuSeconds: end.cpu - begin.cpu,
        reconciles: end.reconciles - begin.reconciles,
      };
    },
  };
}

/** The write count with what each status change since `mark` changed. */
const withChanges = (w: WriteCount, log: StatusLog, mark: number): WriteCount => ({
  ...w,
  statusChanges: log.since(mark),
});

const elapsed = (t0: number) => (performance.now() - t0) / 1000;

async function convergeRun(
  dir: string,
  instances: number,
  progress: (line: string) => void,
): Promise<Omit<ControlPlaneResults, 'memory' | 'instances'>> {
  const plane = await startTestPlane({
    dir,
    withControllers: true,
    binDir: await ensureBinaries(),
    controllerManagerQps: CONTROLLER_MANAGER_QPS,
  });
  let operator: ManagedProcess | undefined;
  let statusLog: StatusLog | undefined;
  try {
    const b = new Bench(plane);
    await installCrd(b.admin, 'konsumerator-bench');
    // The plane's fake nodes take 110 pods and 32 cores each; add nodes for every instance's pod
    // at the policy's largest size (4 cores, 1G), so that every pod is scheduled and every
    // in-place resize fits, during the wave too (32-core nodes held only 704 of 1,000 pods).
    await addNodes(b, 0, Math.ceil(instances / 100));
    await b.namespace(NS_CONVERGE);
    await b.namespace(NS_BASELINE);

    // Baseline: the Deployments the operator would write, applied directly.
    const rendered = renderedDeployments(NS_BASELINE, instances, { paused: true });
    let before = await b.counts();
    let t0 = performance.now();
    await applyDirectly(b, rendered);
    const baselineApplySeconds = elapsed(t0);
    const baselineWrites = (await b.writesSince(before)).total;
    progress(
      `baseline: ${rendered.length} Deployments applied directly in ${baselineApplySeconds.toFixed(1)} s`,
    );

    // The controller-manager takes in the baseline's Deployments before the operator starts, so
    // that the operator's rollout does not queue behind them.
    await waitFor(
      'baseline Deployments observed',
      async () =>
        (await b.apps.listNamespacedDeployment({ namespace: NS_BASELINE })).items.every(
          (d) => (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1),
        )
          ? true
          : undefined,
      { timeoutMs: 300_000, intervalMs: 1000 },
    );
    const started = await startOperatorProcess(plane, join(dir, 'operator-converge.log'));
    operator = started.process;
    await b.settle(2000);
    before = await b.counts();
    statusLog = await StatusLog.start(b.admin, NS_CONVERGE, 'orders');
    let mark = statusLog.mark();
    let markedAt = Date.now();
    const timed = () => JSON.stringify(statusLog!.timedSince(mark, markedAt));
    const load = watchOperatorLoad(started.metricsUrl);
    t0 = performance.now();
    const consumer = await b.createConsumer(benchSpec(NS_CONVERGE, 'orders', instances));
    await waitFor(
      `${instances} Deployments`,
      async () => ((await b.countDeployments(NS_CONVERGE)) >= instances ? true : undefined),
      { timeoutMs: 300_000, intervalMs: 250, process: operator },
    );
    const deploymentsWrittenSeconds = elapsed(t0);
    progress(
      `operator: ${instances} Deployments written in ${deploymentsWrittenSeconds.toFixed(1)} s (${(deploymentsWrittenSeconds / baselineApplySeconds).toFixed(2)}× the baseline)`,
    );
    const readyCapSeconds = READY_CAP_SECONDS;
    const rollout: RolloutSample[] = [];
    const sampler = setInterval(() => {
      void b
        .rolloutSample(NS_CONVERGE, elapsed(t0))
        .then((sample) => {
          rollout.push(sample);
          progress(
            `rollout: ${sample.seconds.toFixed(0)} s: ${sample.podsRunning} pods running, ${sample.podsReady} ready, ${sample.deploymentsAvailable} Deployments available`,
          );
        })
        .catch(() => undefined);
    }, 15_000);
    const readySeconds = await waitFor(
      'Consumer Ready',
      async () => {
        const c = await b.getConsumer(NS_CONVERGE, 'orders');
        return c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')
          ? elapsed(t0)
          : undefined;
      },
      { timeoutMs: readyCapSeconds * 1000, intervalMs: 500, process: operator },
    )
      .catch(() => undefined)
      .finally(() => clearInterval(sampler));
    const operatorLoad = await load.stop();
    progress(
      `operator: Consumer Ready ${readySeconds === undefined ? `not within ${readyCapSeconds} s` : `after ${readySeconds.toFixed(1)} s`}; ${JSON.stringify(operatorLoad)}`,
    );
    // Past the cap, the status write of Ready still belongs to this change, not to the idle time.
    const readyLateSeconds =
      readySeconds === undefined && (await b.readyAgain(operator)) ? elapsed(t0) : undefined;
    await b.settle();
    const convergeWrites = withChanges(
      await b.writesSince(before, { [`POST ${GROUP}/${PLURAL}`]: 1 }),
      statusLog,
      mark,
    );
    const eventWrites = await b.operatorEvents(NS_CONVERGE);
    progress(`converge: status changes ${timed()}`);

    // Idle: nothing changes; resyncs and metric reads go on.
    before = await b.counts();
    mark = statusLog.mark();
    markedAt = Date.now();
    const readsBefore = await operatorCounter(
      started.metricsUrl,
      'konsumerator_prometheus_mp_requests_total',
    ).catch(() => 0);
    const resyncs = 3;
    await sleep(resyncs * RESYNC_SECONDS * 1000 + 500);
    const idleWrites = withChanges(await b.writesSince(before), statusLog, mark);
    const metricReads = Math.max(
      0,
      (await operatorCounter(started.metricsUrl, 'konsumerator_prometheus_mp_requests_total').catch(
        () => 0,
      )) - readsBefore,
    );
    progress(`idle: ${idleWrites.total} writes over ${resyncs} resyncs`);

    let puts = 0;
    // Drift: one Deployment edited by hand (that PATCH is not the operator's) is put back.
    before = await b.counts();
    mark = statusLog.mark();
    markedAt = Date.now();
    const edited = await b.apps.readNamespacedDeployment({ namespace: NS_CONVERGE, name: 'orders-7' });
    edited.spec!.template.spec!.containers[0]!.image = 'example.com/hand-edit:1';
    await b.apps.replaceNamespacedDeployment({ namespace: NS_CONVERGE, name: 'orders-7', body: edited });
    const driftStart = performance.now();
    await waitFor(
      'drift put back',
      async () => {
        const d = await b.apps.readNamespacedDeployment({ namespace: NS_CONVERGE, name: 'orders-7' });
        return d.spec?.template.spec?.containers[0]?.image === 'example.com/consumer:1.0' ? true : undefined;
      },
      { timeoutMs: 60_000, process: operator },
    );
    const driftSeconds = elapsed(driftStart);
    await b.readyAgain(operator);
    await b.settle();
    const driftWrites = withChanges(
      await b.writesSince(before, { 'PUT apps/deployments': 1 }),
      statusLog,
      mark,
    );
    progress(
      `drift of one instance: put back in ${driftSeconds.toFixed(1)} s, ${driftWrites.total} operator writes ${JSON.stringify(driftWrites.byResource)}; status changes: ${timed()}`,
    );

    // One instance's partition starts lagging: it alone is scaled up.
    const spec = benchSpec(NS_CONVERGE, 'orders', instances);
    const lagging = structuredClone(spec);
    lagging.autoscaler.static!.partitions!['3'] = { production: 150, consumption: 100, behind: 150 * 600 };
    before = await b.counts();
    mark = statusLog.mark();
    markedAt = Date.now();
    puts = await b.replaceSpec(consumer, lagging);
    await waitFor(
      'instance 3 scaled up',
      async () => {
        const d = await b.apps.readNamespacedDeployment({ namespace: NS_CONVERGE, name: 'orders-3' });
        // In place (the size in the annotation) or rolled out (the size in the template).
        const cpu = instanceResources(d, 'consumer')?.requests?.cpu;
        return cpu !== undefined && cpu !== '500m' ? true : undefined;
      },
      { timeoutMs: 120_000, process: operator },
    );
    await b.readyAgain(operator);
    await b.settle();
    const scaleWrites = withChanges(
      await b.writesSince(before, { [`PUT ${GROUP}/${PLURAL}`]: puts }),
      statusLog,
      mark,
    );
    progress(
      `one instance scaled: ${scaleWrites.total} operator writes ${JSON.stringify(scaleWrites.byResource)}; status changes: ${timed()}`,
    );

    // An autoscaling wave: every partition starts lagging at once, every instance is scaled up.
    const wave = structuredClone(lagging);
    for (const p of Object.keys(wave.autoscaler.static!.partitions!))
      wave.autoscaler.static!.partitions![p] = { production: 150, consumption: 100, behind: 150 * 600 };
    before = await b.counts();
    mark = statusLog.mark();
    markedAt = Date.now();
    puts = await b.replaceSpec(consumer, wave);
    await waitFor(
      'every instance scaled',
      async () => {
        const w = (await b.writesSince(before)).byResource;
        // Instance 3 already runs at the size the wave gives it.
        return (w['APPLY apps/deployments'] ?? 0) + (w['PATCH /pods/resize'] ?? 0) >= instances - 1
          ? true
          : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1000, process: operator },
    );
    await b.readyAgain(operator);
    await b.settle();
    const waveWrites = withChanges(
      await b.writesSince(before, { [`PUT ${GROUP}/${PLURAL}`]: puts }),
      statusLog,
      mark,
    );
    progress(
      `autoscaling wave: ${waveWrites.total} operator writes for ${instances} instances ${JSON.stringify(waveWrites.byResource)}; status changes: ${timed()}`,
    );

    // A template change touches every instance.
    const changed = structuredClone(wave);
    changed.deploymentTemplate.template!.spec!.containers[0]!.image = 'example.com/consumer:1.1';
    before = await b.counts();
    mark = statusLog.mark();
    markedAt = Date.now();
    puts = await b.replaceSpec(consumer, changed);
    const templateStart = performance.now();
    await waitFor(
      'every instance updated',
      async () => {
        const list = await b.apps.listNamespacedDeployment({ namespace: NS_CONVERGE });
        return list.items.every(
          (d) => d.spec?.template.spec?.containers[0]?.image === 'example.com/consumer:1.1',
        )
          ? true
          : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1000, process: operator },
    );
    // Every pod is replaced: like the convergence, the rollout may take longer than one cap; the
    // status write that ends it belongs to this change.
    const templateReadyCap = 2 * READY_CAP_SECONDS;
    const templateReadySeconds = (await b.readyAgain(operator, templateReadyCap))
      ? elapsed(templateStart)
      : undefined;
    await b.settle();
    const templateWrites = withChanges(
      await b.writesSince(before, { [`PUT ${GROUP}/${PLURAL}`]: puts }),
      statusLog,
      mark,
    );
    progress(
      `template change: ${templateWrites.total} operator writes for ${instances} instances ${JSON.stringify(templateWrites.byResource)}; status changes: ${timed()}`,
    );

    // The operator's convergence against the same Deployments applied by hand and rolled out by
    // the controller-manager: with the operator stopped, on the same plane, nodes added for them.
    statusLog.stop();
    await operator.stop();
    operator = undefined;
    const direct = await directRollout(b, instances, readyCapSeconds);
    progress(
      `direct rollout: ${instances} Deployments applied in ${direct.writtenSeconds.toFixed(1)} s, all available ${direct.availableSeconds === undefined ? `not within ${readyCapSeconds} s` : `after ${direct.availableSeconds.toFixed(1)} s`}`,
    );

    return {
      converge: {
        baselineApplySeconds,
        baselineWrites,
        deploymentsWrittenSeconds,
        readySeconds,
        readyCapSeconds,
        ...(readyLateSeconds !== undefined ? { readyLateSeconds } : {}),
        rollout,
        operatorLoad,
        direct,
        writes: convergeWrites,
        eventWrites,
        nodeFlags: operatorNodeFlags(),
        operatorEnv: { ...IMAGE_ENV },
        controllerManagerQps: CONTROLLER_MANAGER_QPS,
      },
      idle: { resyncs, resyncSeconds: RESYNC_SECONDS, metricReads, writes: idleWrites },
      drift: { writes: driftWrites, seconds: driftSeconds },
      scaleOne: { writes: scaleWrites },
      wave: { writes: waveWrites },
      templateChange: {
        writes: templateWrites,
        perInstance: templateWrites.total / instances,
        ...(templateReadySeconds !== undefined ? { readySeconds: templateReadySeconds } : {}),
        readyCapSeconds: templateReadyCap,
      },
    };
  } finally {
    statusLog?.stop();
    await operator?.stop();
    await plane.stop();
  }
}

export async function memoryRun(
  dir: string,
  deployments: number,
  progress: (line: string) => void,
): Promise<ControlPlaneResults['memory']> {
  const importCost = await measureImportCost(operatorNodeFlags());
  progress(
    `memory: imports ${importCost.steps.map((x) => `${x.label} +${x.addedMiB.rss.toFixed(1)}`).join(', ')} MiB (runtime ${importCost.runtimeMiB.rss.toFixed(1)} MiB)`,
  );
  const plane = await startTestPlane({ dir, withControllers: false, binDir: await ensureBinaries() });
  let operator: ManagedProcess | undefined;
  try {
    const b = new Bench(plane);
    await installCrd(b.admin, 'konsumerator-bench');
    const consumers = Math.max(1, Math.round(deployments / 1000));
    const perConsumer = Math.ceil(deployments / consumers);
    // The operator listens for the inspector protocol so that garbage is collected before each
    // reading of its memory (what is measured is what it holds, not what it has not yet freed).
    const inspectorPort = await freePort();
    let started = await startOperatorProcess(plane, join(dir, 'operator-memory-1.log'), inspectorPort);
    operator = started.process;
    await sleep(5000);
    const baselineRssMiB = residentMemory(operator.pid).rssMiB;
    const idle = await settledFootprint(operator.pid, inspectorPort);
    progress(
      `memory: operator with nothing to manage: ${baselineRssMiB.toFixed(0)} MiB (settled ${idle.rss.toFixed(0)} MiB, heap ${idle.heap.toFixed(1)} MiB)`,
    );

    // Per cached Consumer: Consumers the controller refuses (their spec names another namespace),
    // so that none has Deployments; each gets its status written once.
    await b.namespace(NS_MEMORY_CONSUMERS);
    await withConcurrency(
      Array.from({ length: CONSUMERS_MEASURED }, (_, i) => i),
      8,
      async (i) => {
        await b.createConsumer(benchSpec('elsewhere', `refused-${i}`, 1, true), NS_MEMORY_CONSUMERS);
      },
    );
    await waitFor(
      `${CONSUMERS_MEASURED} Consumers reported`,
      async () => {
        const list = (await b.custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace: NS_MEMORY_CONSUMERS,
        })) as { items: Consumer[] };
        return list.items.filter((c) => c.status?.conditions?.length).length >= CONSUMERS_MEASURED
          ? true
          : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1000, process: operator },
    );
    await b.settle();
    const withConsumers = await settledFootprint(operator.pid, inspectorPort);
    const perConsumerKiB = perObjectKiB(withConsumers, idle, CONSUMERS_MEASURED);
    progress(
      `memory: per cached Consumer ${perConsumerKiB.rss.toFixed(1)} KiB resident, ${perConsumerKiB.heap.toFixed(1)} KiB heap`,
    );

    let before = await b.counts();
    const t0 = performance.now();
    for (let i = 0; i < consumers; i++) {
      const ns = `bench-memory-${i}`;
      await b.namespace(ns);
      await b.createConsumer(benchSpec(ns, 'orders', perConsumer, true));
    }
    let peak = 0;
    await waitFor(
      `${deployments} Deployments`,
      async () => {
        peak = Math.max(peak, residentMemory(operator!.pid).rssMiB);
        const counts = await Promise.all(
          Array.from({ length: consumers }, (_, i) => b.countDeployments(`bench-memory-${i}`)),
        );
        return counts.reduce((a, c) => a + c, 0) >= consumers * perConsumer ? true : undefined;
      },
      { timeoutMs: 600_000, intervalMs: 1000, process: operator },
    );
    const createSeconds = elapsed(t0);
    await b.settle(5000);
    const createWrites = await b.writesSince(before, { [`POST ${GROUP}/${PLURAL}`]: consumers });
    await sleep(5000);
    const afterCreate = residentMemory(operator.pid);
    progress(
      `memory: ${consumers * perConsumer} Deployments written in ${createSeconds.toFixed(1)} s; operator ${afterCreate.rssMiB.toFixed(0)} MiB`,
    );

    await operator.stop();
    before = await b.counts();
    started = await startOperatorProcess(plane, join(dir, 'operator-memory-2.log'), inspectorPort);
    operator = started.process;
    await b.settle(5000);
    await sleep(10_000);
    const afterRestart = residentMemory(operator.pid);
    const restartWrites = await b.writesSince(before);
    progress(
      `memory: after a restart with ${consumers * perConsumer} Deployments: ${afterRestart.rssMiB.toFixed(0)} MiB, ${restartWrites.total} writes`,
    );
    const restarted = await settledFootprint(operator.pid, inspectorPort);
    const consumersShare: Footprint = {
      rss:
        idle.rss + ((withConsumers.rss - idle.rss) * (CONSUMERS_MEASURED + consumers)) / CONSUMERS_MEASURED,
      heap:
        idle.heap +
        ((withConsumers.heap - idle.heap) * (CONSUMERS_MEASURED + consumers)) / CONSUMERS_MEASURED,
    };
    const perDeploymentKiB = perObjectKiB(restarted, consumersShare, consumers * perConsumer);

    // Per cached Pod: pods (never scheduled: this plane has no scheduler) carrying the template
    // labels of a Consumer that resizes in place, which watches them.
    await b.namespace(NS_MEMORY_PODS);
    await b.core.createNamespacedServiceAccount({
      namespace: NS_MEMORY_PODS,
      body: { metadata: { name: 'default' } },
    });
    const podConsumer = benchSpec(NS_MEMORY_PODS, 'pods', 1);
    await b.createConsumer(podConsumer);
    await waitFor('the pod Consumer instance', async () =>
      (await b.countDeployments(NS_MEMORY_PODS)) >= 1 ? true : undefined,
    );
    await b.settle();
    const beforePods = await settledFootprint(operator.pid, inspectorPort);
    const labels = podConsumer.deploymentTemplate.template!.metadata!.labels!;
    await withConcurrency(
      Array.from({ length: PODS_MEASURED }, (_, i) => i),
      8,
      async (i) => {
        await b.core.createNamespacedPod({
          namespace: NS_MEMORY_PODS,
          body: {
            metadata: { name: `pod-${i}`, labels },
            spec: {
              automountServiceAccountToken: false,
              containers: [
                {
                  name: 'consumer',
                  image: 'example.com/consumer:1.0',
                  resources: { requests: { cpu: '100m', memory: '64M' } },
                },
              ],
            },
          },
        });
      },
    );
    await sleep(5000);
    const withPods = await settledFootprint(operator.pid, inspectorPort);
    const split: MemorySplit = {
      idleMiB: idle,
      perConsumerKiB,
      consumersMeasured: CONSUMERS_MEASURED,
      perDeploymentKiB,
      perPodKiB: perObjectKiB(withPods, beforePods, PODS_MEASURED),
      podsMeasured: PODS_MEASURED,
      peakWhileCreatingMiB: 0,
    };
    progress(
      `memory: per Deployment ${split.perDeploymentKiB.rss.toFixed(1)}/${split.perDeploymentKiB.heap.toFixed(1)} KiB, per Pod ${split.perPodKiB.rss.toFixed(1)}/${split.perPodKiB.heap.toFixed(1)} KiB (resident/heap)`,
    );
    return {
      deployments: consumers * perConsumer,
      consumers,
      baselineRssMiB,
      createSeconds,
      createWrites,
      rssAfterCreateMiB: afterCreate.rssMiB,
      peakRssDuringCreateMiB: Math.max(peak, afterCreate.peakMiB),
      rssAfterRestartMiB: afterRestart.rssMiB,
      peakRssDuringRestartMiB: afterRestart.peakMiB,
      restartWrites,
      nodeFlags: operatorNodeFlags(),
      operatorEnv: { ...IMAGE_ENV },
      importCost,
      split: { ...split, peakWhileCreatingMiB: Math.max(peak, afterCreate.peakMiB) },
    };
  } finally {
    await operator?.stop();
    await plane.stop();
  }
}

export async function runControlPlaneBench(
  options: ControlPlaneBenchOptions = {},
): Promise<ControlPlaneResults> {
  const instances = options.instances ?? 1000;
  const progress = options.progress ?? (() => undefined);
  const root = join(REPO_ROOT, '.testplane', `bench-${process.pid}`);
  mkdirSync(root, { recursive: true });
  const runs = options.runs ?? CONTROL_PLANE_RUNS;
  const previous = options.previous;
  if (runs.length < CONTROL_PLANE_RUNS.length && !previous)
    throw new Error('control-plane: running only some runs needs the previous control-plane.json');
  await buildOperator();
  const converge = runs.includes('converge')
    ? { instances, ...(await convergeRun(join(root, 'converge'), instances, progress)) }
    : previous!;
  const memory = runs.includes('memory')
    ? await memoryRun(join(root, 'memory'), options.memoryDeployments ?? 10_000, progress)
    : previous!.memory;
  rmSync(root, { recursive: true, force: true });
  const { memory: _unused, ...convergeFigures } = converge as ControlPlaneResults;
  return { ...convergeFigures, memory };
}
