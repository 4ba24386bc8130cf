// How long a resource decision takes to reach the pods, on a real test plane (kwok playing the
// kubelet): from the moment the instance's Deployment carries a new decision (for in-place
// actuation the `resources` annotation, for rollout its pod template) to the moment every ready
// pod of the instance reports those resources in status.containerStatuses[].resources. Both
// moments are when this benchmark's watches receive the change, so they share a clock. The same
// decisions go through actuation Rollout in the same run, as the baseline; the pods each way
// replaced are counted too.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type V1Deployment,
  type V1Pod,
  type V1ResourceRequirements,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/constants.js';
import type { ConsumerSpec } from '../api/schema.js';
import { installCrd } from '../cli/install.js';
import { Operator } from '../controller/operator.js';
import { deploymentNameOf } from '../controller/pod-caches.js';
import { instanceResources, sameCpuMemory } from '../plan/instance-resources.js';
import { REPO_ROOT } from '../testplane/binaries.js';
import { ensureBinaries, startTestPlane } from '../testplane/index.js';
import { fakeNode } from '../testplane/kwok.js';
import { sleep, waitFor } from '../testplane/wait.js';
import { silentLogger } from '../util/log.js';

export interface InPlaceBenchOptions {
  /** Instances of each Consumer (default 10). */
  instances?: number;
  /** Decisions per instance (default 8: up and down in turn). */
  rounds?: number;
  progress?: (line: string) => void;
}

export interface Distribution {
  n: number;
  medianSeconds: number;
  p90Seconds: number;
  maxSeconds: number;
  minSeconds: number;
}

export interface PathResult {
  actuation: 'InPlaceOrRollout' | 'Rollout';
  /** Decision → every ready pod of the instance reports it. */
  decisionToStatus: Distribution;
  /** Pods created during the rounds (a rollout replaces the pod; an in-place resize does not). */
  podsCreated: number;
  /** Container restarts during the rounds. */
  restarts: number;
  /** Decisions that did not reach the pods within the round's cap. */
  missed: number;
}

export interface InPlaceBenchResults {
  instances: number;
  rounds: number;
  /** The sizes the rounds went through, in cores (the naive predictor, no pending periods). */
  sizes: number[];
  inPlace: PathResult;
  rollout: PathResult;
}

const ROUND_CAP_MS = 60_000;
/** The cores each round asks of every instance; from the 100m the instances start at. */
const SIZES = [2, 0, 3, 0, 1, 0, 4, 0];

const partition = (cores: number) =>
  cores === 0
    ? { production: 10, consumption: 10, behind: 0 }
    : // The naive predictor grows only a lagging instance: 10 minutes of backlog doubles the rate.
      { production: cores * 50, consumption: cores * 50, behind: cores * 50 * 600 };

function spec(
  namespace: string,
  instances: number,
  cores: number,
  actuation: PathResult['actuation'],
): ConsumerSpec {
  return {
    numPartitions: instances,
    numPartitionsPerInstance: 1,
    name: 'orders',
    namespace,
    autoscaler: {
      mode: 'static',
      predictor: 'naive',
      actuation,
      pendingScaleUpDuration: '0s',
      pendingScaleDownDuration: '0s',
      scaleDownAfterLagFreeSyncs: 1,
      static: {
        partitions: Object.fromEntries(
          Array.from({ length: instances }, (_, p) => [String(p), partition(cores)]),
        ),
        minSyncPeriod: '1s',
        ratePerCore: 100,
        ramPerCore: '100M',
        tolerableLag: '1m',
        criticalLag: '1h',
        recoveryTime: '10m',
      },
    },
    deploymentTemplate: {
      replicas: 1,
      selector: { matchLabels: { app: 'orders' } },
      template: {
        metadata: { labels: { app: 'orders' } },
        spec: {
          containers: [
            { name: 'consumer', image: 'example.com/consumer:1.0' },
            {
              name: 'side',
              image: 'example.com/sidecar:1.0',
              resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '32Mi' } },
            },
          ],
        },
      },
    },
    resourcePolicy: {
      containerPolicies: [
        {
          containerName: 'consumer',
          minAllowed: { cpu: '100m', memory: '64M' },
          maxAllowed: { cpu: '8', memory: '1G' },
        },
      ],
    },
  };
}

export function distribution(samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return {
    n: sorted.length,
    minSeconds: sorted[0] ?? Number.NaN,
    medianSeconds: at(0.5),
    p90Seconds: at(0.9),
    maxSeconds: sorted.at(-1) ?? Number.NaN,
  };
}

/** What the watches saw: when each instance's Deployment first carried a decision, and its pods. */
class Observer {
  private readonly decisions = new Map<
    string,
    { decision: V1ResourceRequirements; at: number; reached: boolean }
  >();
  private readonly pods = new Map<string, V1Pod>();
  readonly samples: number[] = [];
  /** Pods first seen since mark(). */
  readonly newPods = new Set<string>();
  restarts = 0;
  private counting = false;
  private readonly aborts: AbortController[] = [];

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
  ) {}

  async start(): Promise<void> {
    const watch = new Watch(this.kc);
    this.aborts.push(
      await watch.watch(
        `/apis/apps/v1/namespaces/${this.namespace}/deployments`,
        {},
        (phase: string, d: V1Deployment) => this.onDeployment(phase, d),
        () => undefined,
      ),
      await watch.watch(
        `/api/v1/namespaces/${this.namespace}/pods`,
        {},
        (phase: string, p: V1Pod) => this.onPod(phase, p),
        () => undefined,
      ),
    );
  }

  stop(): void {
    for (const a of this.aborts) a.abort();
  }

  /** From now on, samples, new pods and restarts count. */
  mark(): void {
    this.samples.length = 0;
    this.newPods.clear();
    this.restarts = 0;
    this.counting = true;
  }

  private onDeployment(phase: string, d: V1Deployment): void {
    if (phase === 'DELETED') return;
    const name = d.metadata!.name!;
    const decision = instanceResources(d, 'consumer');
    if (!decision) return;
    const known = this.decisions.get(name);
    if (known && sameCpuMemory(known.decision, decision)) return;
    this.decisions.set(name, { decision, at: performance.now(), reached: false });
    this.check(name);
  }

  private onPod(phase: string, p: V1Pod): void {
    const uid = p.metadata!.uid!;
    const before = this.pods.get(uid);
    if (this.counting && !before && phase !== 'DELETED') this.newPods.add(uid);
    if (this.counting && before) this.restarts += Math.max(0, restartsOf(p) - restartsOf(before));
    if (phase === 'DELETED') this.pods.delete(uid);
    else this.pods.set(uid, p);
    const name = deploymentNameOf(p);
    if (name) this.check(name);
  }

  /** Records a sample when every ready pod of the instance reports its pending decision. */
  private check(name: string): void {
    const pending = this.decisions.get(name);
    if (!pending || pending.reached) return;
    const pods = [...this.pods.values()].filter(
      (p) =>
        deploymentNameOf(p) === name &&
        !p.metadata?.deletionTimestamp &&
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (pods.length === 0) return;
    const reported = (p: V1Pod) => p.status?.containerStatuses?.find((c) => c.name === 'consumer')?.resources;
    // A pod resized in place may keep a little more memory than decided (its GOMEMLIMIT): the CPU
    // request is what the decision is about.
    if (!pods.every((p) => cpuEqual(reported(p), pending.decision))) return;
    this.samples.push((performance.now() - pending.at) / 1000);
    pending.reached = true;
  }

  /** Instances whose latest decision has reached their pods. */
  reached(): number {
    return [...this.decisions.values()].filter((d) => d.reached).length;
  }
}

const restartsOf = (p: V1Pod) =>
  (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);

function cpuEqual(a: V1ResourceRequirements | undefined, b: V1ResourceRequirements): boolean {
  if (a?.requests?.cpu === undefined || b.requests?.cpu === undefined) return false;
  return sameCpuMemory(
    { requests: { cpu: String(a.requests.cpu) } },
    { requests: { cpu: String(b.requests.cpu) } },
  );
}

async function runPath(
  kc: KubeConfig,
  actuation: PathResult['actuation'],
  instances: number,
  rounds: number,
  progress: (line: string) => void,
): Promise<PathResult> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = actuation === 'Rollout' ? 'bench-rollout' : 'bench-inplace';
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await waitFor('the default ServiceAccount', () =>
    core.readNamespacedServiceAccount({ name: 'default', namespace }).catch(() => undefined),
  );
  const observer = new Observer(kc, namespace);
  await observer.start();
  const ref = { group: GROUP, version: VERSION, plural: PLURAL, namespace };
  await custom.createNamespacedCustomObject({
    ...ref,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Consumer',
      metadata: { name: 'orders', namespace },
      spec: spec(namespace, instances, 0, actuation),
    },
  });
  await waitFor(
    `${instances} instances running`,
    async () => (observer.reached() >= instances ? true : undefined),
    { timeoutMs: 120_000 },
  );
  await sleep(3000);
  observer.mark();
  let missed = 0;
  for (let round = 0; round < rounds; round++) {
    const cores = SIZES[round % SIZES.length]!;
    const before = observer.samples.length;
    // A merge patch: the operator writes the Consumer's status meanwhile, and a replace of what was
    // read would lose that race with a Conflict.
    await custom.patchNamespacedCustomObject(
      { ...ref, name: 'orders', body: { spec: spec(namespace, instances, cores, actuation) } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const reached = () => observer.samples.length - before;
    const done = await waitFor(
      `round ${round + 1}`,
      async () => (reached() >= instances ? true : undefined),
      {
        timeoutMs: ROUND_CAP_MS,
      },
    ).then(
      () => true,
      () => false,
    );
    if (!done) missed += instances - reached();
    progress(
      `${actuation}: round ${round + 1}/${rounds} (${cores || 0.1} cores): ${reached()} of ${instances} decisions reached the pods`,
    );
    // The next metrics read finds nothing to change before the next round starts.
    await sleep(2500);
  }
  observer.stop();
  return {
    actuation,
    decisionToStatus: distribution(observer.samples),
    podsCreated: observer.newPods.size,
    restarts: observer.restarts,
    missed,
  };
}

export async function runInPlaceBench(options: InPlaceBenchOptions = {}): Promise<InPlaceBenchResults> {
  const instances = options.instances ?? 10;
  const rounds = options.rounds ?? SIZES.length;
  const progress = options.progress ?? (() => undefined);
  const dir = join(REPO_ROOT, '.testplane', `bench-inplace-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const plane = await startTestPlane({ dir, withControllers: true, binDir: await ensureBinaries() });
  let operator: Operator | undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    await installCrd(kc, 'konsumerator-bench');
    // Room for every pod at the largest size, and for a rollout's second pod beside it: the
    // scheduler counts both (kwok, deciding a resize, sees one pod at a time).
    const core = kc.makeApiClient(CoreV1Api);
    for (let i = 1; i <= Math.ceil((instances * 2 * Math.max(...SIZES)) / 32); i++)
      await core.createNode({ body: fakeNode(`kwok-node-${i}`) });
    operator = new Operator({ kubeConfig: kc, log: silentLogger(), version: 'bench', workers: 4 });
    await operator.start();
    progress(`plane up; ${instances} instances, ${rounds} decisions each, in place then by rollout`);
    const inPlace = await runPath(kc, 'InPlaceOrRollout', instances, rounds, progress);
    const rollout = await runPath(kc, 'Rollout', instances, rounds, progress);
    return { instances, rounds, sizes: SIZES.slice(0, rounds), inPlace, rollout };
  } finally {
    await operator?.stop();
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
