// A simulated consumer group. Each instance (one Deployment of the operator, or given directly)
// owns some partitions and "consumes" them at cpuCores × ratePerCore msg/s by committing offsets
// for the group, never past the log end. Committed offsets are all that Kafka, kafka_exporter and
// Prometheus see of a real consumer's progress, so this creates and drains lag exactly as a real
// group would, without fetching a single message.
//
// Commits are made the way a consumer that assigns its partitions by hand makes them, without
// joining the group: the group has no members (Kafka reports it Empty) and its committed offsets
// are what kafka_exporter (offset.show-all) and `mode: kafka` read. A group that has members (a
// real consumer using the same group id) refuses such commits; they are retried every tick.
//
// With `subscribe` (a balanced Consumer's replicas) every ready pod instead joins the group as a
// member subscribed to the topic: Kafka's group assignment gives it its partitions, a pod that
// comes or goes makes the group rebalance, and each member commits what it consumed of its own
// partitions at its own pod's CPU.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { KafkaAdmin, KafkaGroupMember } from '../kafka/client.js';
import { Annotation } from '../api/constants.js';
import { parseQuantity } from '../util/units.js';
import { parsePartitionList } from '../plan/partitions.js';
import { deploymentNameOf } from '../controller/pod-caches.js';

export interface ConsumerInstance {
  /** E.g. the Deployment's name. */
  name: string;
  partitions: readonly number[];
  /** CPU the instance has (its request); it consumes cpuCores × ratePerCore msg/s in total. */
  cpuCores: number;
}

export type InstanceSource = readonly ConsumerInstance[] | (() => Promise<readonly ConsumerInstance[]>);

export interface RunConsumerGroupOptions {
  brokers: string[];
  groupId: string;
  topic: string;
  /** Messages per second one core consumes (the Consumer's ratePerCore). */
  ratePerCore: number;
  /** The instances, or a function polled every refreshSeconds. Either this or `kubernetes`. */
  instances?: InstanceSource;
  /**
   * Read the instances from the Deployments in a namespace: each instance's CPU is what its pods'
   * node reports (`cpuFrom: 'pods'`, the default; see instancesFromPods), or with
   * `cpuFrom: 'template'` the Deployment's pod template (see instancesFromDeployments).
   */
  kubernetes?: {
    kubeConfig: KubeConfig;
    namespace: string;
    labelSelector?: string;
    cpuFrom?: 'template' | 'pods';
  };
  /**
   * The pods subscribe (assignment Balanced): each ready pod of the operator's Deployments joins
   * the group and consumes the partitions Kafka assigns it, at its own CPU. Needs `kubernetes`
   * (`cpuFrom` pods).
   */
  subscribe?: boolean;
  /** How often the instances are re-read, in seconds (default 2). */
  refreshSeconds?: number;
  /** Commit period in ms (default 500). */
  tickMs?: number;
  /** Stop after this many seconds (required: the simulation is always bounded). */
  durationSeconds: number;
  /**
   * Where a partition without a committed offset starts (default 'earliest', the log start). The
   * first tick commits that position for every partition of the topic, so that the group and its
   * lag exist even for partitions no instance owns.
   */
  startAt?: 'earliest' | 'latest';
  signal?: AbortSignal;
  clientId?: string;
  onTick?: (tick: ConsumerGroupTick) => void;
}

export interface ConsumerGroupTick {
  elapsedSeconds: number;
  instances: readonly ConsumerInstance[];
  /** Per partition: the group's committed offset, the log end, and the difference. */
  committed: readonly number[];
  logEnd: readonly number[];
  lag: readonly number[];
  /** Messages consumed (committed) per partition since the start. */
  consumed: readonly number[];
}

export interface ConsumerGroupResult extends ConsumerGroupTick {
  stoppedBy: 'duration' | 'signal';
}

/**
 * Splits `capacity` messages among partitions with the given backlogs, evenly, except that a
 * partition never gets more than its backlog; what it cannot use goes to the others (water-filling).
 */
export function allocate(capacity: number, backlogs: readonly number[]): number[] {
  const out = backlogs.map(() => 0);
  let left = Math.max(0, capacity);
  let open = backlogs.map((b, i) => i).filter((i) => backlogs[i]! > 0);
  while (left > 1e-9 && open.length > 0) {
    const share = left / open.length;
    const next: number[] = [];
    for (const i of open) {
      const take = Math.min(share, backlogs[i]! - out[i]!);
      out[i]! += take;
      left -= take;
      if (backlogs[i]! - out[i]! > 1e-9) next.push(i);
    }
    if (next.length === open.length) break; // everyone took a full share: capacity is used up
    open = next;
  }
  return out;
}

/**
 * One step of the simulation, pure: advances `committed` (in place) by what each instance consumes
 * in `seconds`, never past `logEnd`. `carry` keeps each partition's fraction of a message between
 * steps; a partition that caught up keeps none (an idle consumer does not save capacity up).
 * Returns the partitions whose offset changed.
 */
export function consumeStep(
  instances: readonly ConsumerInstance[],
  ratePerCore: number,
  seconds: number,
  committed: number[],
  logEnd: readonly number[],
  carry: number[],
): number[] {
  const changed = new Set<number>();
  for (const instance of instances) {
    const owned = instance.partitions.filter((p) => p >= 0 && p < committed.length);
    const backlogs = owned.map((p) => Math.max(0, logEnd[p]! - committed[p]!));
    const shares = allocate(instance.cpuCores * ratePerCore * seconds, backlogs);
    owned.forEach((p, i) => {
      const amount = shares[i]! + carry[p]!;
      const take = Math.min(backlogs[i]!, Math.floor(amount + 1e-9));
      carry[p] = take >= backlogs[i]! ? 0 : amount - take;
      if (take > 0) {
        committed[p]! += take;
        changed.add(p);
      }
    });
  }
  return [...changed].sort((a, b) => a - b);
}

/**
 * The operator's instances in `namespace`: Deployments with the `konsumerator.lwolf.org/partition`
 * annotation, each with the CPU request (else limit) of its first container. A Deployment scaled to
 * 0 replicas, or without CPU, consumes nothing.
 */
export async function instancesFromDeployments(
  kubeConfig: KubeConfig,
  namespace: string,
  labelSelector?: string,
): Promise<ConsumerInstance[]> {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const list = await apps.listNamespacedDeployment({
    namespace,
    ...(labelSelector ? { labelSelector } : {}),
  });
  return list.items.flatMap((d) => {
    const instance = instanceOf(d);
    return instance ? [instance] : [];
  });
}

/**
 * As instancesFromDeployments, but each instance's CPU is the CPU request its running, ready pods
 * report in `status.containerStatuses[].resources` (first container; the largest, while a rollout
 * has two pods): what the node applied, so an in-place resize counts once the kubelet (kwok on the
 * test plane) has applied it, and a resize the node defers does not count at all.
 */
export async function instancesFromPods(
  kubeConfig: KubeConfig,
  namespace: string,
  labelSelector?: string,
): Promise<ConsumerInstance[]> {
  const perInstance = await listReadyPodsPerInstance(kubeConfig, namespace, labelSelector);
  return perInstance.map(({ instance, pods }) => ({
    ...instance,
    cpuCores: Math.max(0, ...pods.map((p) => p.cpuCores)),
  }));
}

/**
 * Each ready pod of the operator's Deployments in `namespace` as one would-be group member (named
 * by the pod, at the CPU its node reports); its partitions are what the group assigns it.
 */
export async function membersFromPods(
  kubeConfig: KubeConfig,
  namespace: string,
  labelSelector?: string,
): Promise<ConsumerInstance[]> {
  const perInstance = await listReadyPodsPerInstance(kubeConfig, namespace, labelSelector);
  return perInstance.flatMap(({ pods }) => pods.map((p) => ({ ...p, partitions: [] })));
}

/** A ready pod, named, at the CPU its node reports. */
export interface ReadyPod {
  name: string;
  cpuCores: number;
}

async function listReadyPodsPerInstance(
  kubeConfig: KubeConfig,
  namespace: string,
  labelSelector?: string,
): Promise<Array<{ instance: ConsumerInstance; pods: ReadyPod[] }>> {
  const [instances, pods] = await Promise.all([
    instancesFromDeployments(kubeConfig, namespace, labelSelector),
    kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace }),
  ]);
  return readyPodsPerInstance(instances, pods.items);
}

/**
 * The ready pods of each instance (matched by Deployment name, through the pod's ReplicaSet), in
 * the instances' order; pods that are not ready, are being deleted or belong to no instance are
 * left out.
 */
export function readyPodsPerInstance(
  instances: readonly ConsumerInstance[],
  pods: readonly V1Pod[],
): Array<{ instance: ConsumerInstance; pods: ReadyPod[] }> {
  const byName = new Map(instances.map((instance) => [instance.name, [] as ReadyPod[]]));
  for (const pod of pods) {
    const deployment = deploymentNameOf(pod);
    const own = deployment === undefined ? undefined : byName.get(deployment);
    const cores = readyPodCpu(pod);
    if (!own || cores === undefined) continue;
    own.push({ name: pod.metadata?.name ?? '', cpuCores: cores });
  }
  return instances.map((instance) => ({ instance, pods: byName.get(instance.name)! }));
}

/**
 * The CPU request (else limit) a ready pod's first container runs with, as its node reports it
 * (a kubelet older than 1.33 reports nothing: then the pod's spec); undefined for a pod that is not
 * ready or is being deleted.
 */
function readyPodCpu(pod: V1Pod): number | undefined {
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready || pod.metadata?.deletionTimestamp) return undefined;
  const first = pod.spec?.containers[0]?.name;
  const reported =
    pod.status?.containerStatuses?.find((c) => c.name === first)?.resources ??
    pod.spec?.containers[0]?.resources;
  const value = reported?.requests?.cpu ?? reported?.limits?.cpu;
  try {
    return value === undefined ? 0 : parseQuantity(value);
  } catch {
    return 0;
  }
}

export function instanceOf(d: V1Deployment): ConsumerInstance | undefined {
  const partitions = parsePartitionList(d.metadata?.annotations?.[Annotation.partition]);
  if (!partitions) return undefined;
  const resources = d.spec?.template.spec?.containers[0]?.resources;
  const cpu = resources?.requests?.cpu ?? resources?.limits?.cpu;
  let cpuCores = 0;
  try {
    cpuCores = cpu === undefined ? 0 : parseQuantity(cpu);
  } catch {
    cpuCores = 0;
  }
  if (d.spec?.replicas === 0) cpuCores = 0;
  return { name: d.metadata?.name ?? '', partitions, cpuCores };
}

export async function runConsumerGroup(options: RunConsumerGroupOptions): Promise<ConsumerGroupResult> {
  const source = instanceSource(options);
  const admin = new KafkaAdmin({
    clientId: options.clientId ?? 'konsumerator-simulated-group',
    brokers: options.brokers,
  });
  const members = options.subscribe ? new GroupMembers(options) : undefined;
  try {
    return await simulate(admin, source, options, members);
  } finally {
    await members?.close();
    await admin.close().catch(() => undefined);
  }
}

/**
 * The members of a subscribed group, one per pod: joined as pods appear, closed (leaving the group)
 * as they go. Joins run in the background: a rebalance can take a while, and the others consume on.
 */
class GroupMembers {
  private readonly members = new Map<string, KafkaGroupMember>();

  constructor(private readonly options: RunConsumerGroupOptions) {}

  /** Joins the pods that are new, and leaves for those that are gone. */
  follow(pods: readonly ConsumerInstance[]): void {
    const names = new Set(pods.map((p) => p.name));
    for (const [name, member] of this.members) {
      if (names.has(name)) continue;
      this.members.delete(name);
      void member.close();
    }
    for (const name of names) {
      if (this.members.has(name)) continue;
      const member = new KafkaGroupMember({
        brokers: this.options.brokers,
        clientId: `${this.options.clientId ?? 'konsumerator-simulated-group'}-${name}`,
        groupId: this.options.groupId,
        topic: this.options.topic,
      });
      this.members.set(name, member);
      // A failed join leaves the pod without partitions; it is tried again once the pod is re-listed.
      member.join().catch(() => {
        if (this.members.get(name) === member) this.members.delete(name);
        void member.close();
      });
    }
  }

  /** The pods with the partitions the group assigns each now. */
  async assign(pods: readonly ConsumerInstance[]): Promise<ConsumerInstance[]> {
    return Promise.all(
      pods.map(async (pod) => ({ ...pod, partitions: (await this.members.get(pod.name)?.assigned()) ?? [] })),
    );
  }

  /**
   * Commits each pending partition's offset through the member it is assigned to; returns those
   * committed (the others, unassigned or refused during a rebalance, are retried next tick).
   */
  async commit(
    assigned: readonly ConsumerInstance[],
    offsets: ReadonlyMap<number, number>,
  ): Promise<number[]> {
    const done: number[] = [];
    await Promise.all(
      assigned.map(async (pod) => {
        const own = new Map(pod.partitions.filter((p) => offsets.has(p)).map((p) => [p, offsets.get(p)!]));
        const member = this.members.get(pod.name);
        if (!member || own.size === 0) return;
        try {
          await member.commit(own);
          done.push(...own.keys());
        } catch {
          // retried on the next tick
        }
      }),
    );
    return done;
  }

  async close(): Promise<void> {
    const all = [...this.members.values()];
    this.members.clear();
    await Promise.all(all.map((m) => m.close()));
  }
}

function instanceSource(options: RunConsumerGroupOptions): () => Promise<readonly ConsumerInstance[]> {
  const { instances, kubernetes } = options;
  if (instances && kubernetes) throw new Error('runConsumerGroup: give instances or kubernetes, not both');
  if (options.subscribe && !kubernetes) throw new Error('runConsumerGroup: subscribe needs kubernetes');
  if (kubernetes) {
    // By default the pods' CPU: with in-place resize (the operator's default) the Deployment's
    // template does not change when an instance is resized. Subscribed: one member per pod.
    const read = options.subscribe
      ? membersFromPods
      : kubernetes.cpuFrom === 'template'
        ? instancesFromDeployments
        : instancesFromPods;
    return () => read(kubernetes.kubeConfig, kubernetes.namespace, kubernetes.labelSelector);
  }
  if (!instances) throw new Error('runConsumerGroup: give instances or kubernetes');
  return typeof instances === 'function' ? instances : async () => instances;
}

async function simulate(
  admin: KafkaAdmin,
  source: () => Promise<readonly ConsumerInstance[]>,
  options: RunConsumerGroupOptions,
  members: GroupMembers | undefined,
): Promise<ConsumerGroupResult> {
  const { topic, groupId } = options;
  const tickMs = options.tickMs ?? 500;
  const refreshMs = (options.refreshSeconds ?? 2) * 1000;
  const ends = await logOffsets(admin, topic);
  const partitions = ends.length;
  const storedOffsets = await admin.committedOffsets(groupId, topic, partitions);
  const committed = ends.map(
    (end, p) => storedOffsets.get(p) ?? (options.startAt === 'latest' ? end.high : end.low),
  );
  // Commits are absolute offsets: a failed one (e.g. during a rebalance) is simply retried next tick.
  const pending = new Set<number>(committed.keys());
  const commitPending = async () => {
    if (pending.size === 0) return;
    const batch = [...pending].sort((a, b) => a - b);
    try {
      await admin.commitOffsets(groupId, topic, new Map(batch.map((p) => [p, committed[p]!])));
      for (const p of batch) pending.delete(p);
    } catch {
      // retried on the next tick
    }
  };
  // The start positions, committed while the group has no members yet.
  await commitPending();
  const start0 = [...committed];
  const carry = new Array<number>(partitions).fill(0);
  let instances = await source();
  members?.follow(instances);
  /** The instances as they consumed in the last tick (subscribed: with the partitions assigned then). */
  let consuming: readonly ConsumerInstance[] = instances;
  let refreshedAt = performance.now();
  let logEnd = ends.map((e) => e.high);
  const start = performance.now();
  let last = start;
  const tickInfo = (): ConsumerGroupTick => ({
    elapsedSeconds: (performance.now() - start) / 1000,
    instances: consuming,
    committed: [...committed],
    logEnd: [...logEnd],
    lag: committed.map((c, p) => Math.max(0, logEnd[p]! - c)),
    consumed: committed.map((c, p) => c - start0[p]!),
  });
  for (let tick = 1; ; tick++) {
    const wait = start + tick * tickMs - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal: options.signal }).catch(() => undefined);
    if (options.signal?.aborted) return { ...tickInfo(), stoppedBy: 'signal' };
    const now = performance.now();
    const seconds = (Math.min(now, start + options.durationSeconds * 1000) - last) / 1000;
    last = now;
    if (now - refreshedAt >= refreshMs) {
      instances = await source().catch(() => instances); // keep the last known set on API errors
      refreshedAt = now;
      members?.follow(instances);
    }
    logEnd = (await logOffsets(admin, topic)).map((e) => e.high);
    consuming = members ? await members.assign(instances) : instances;
    for (const p of consumeStep(consuming, options.ratePerCore, seconds, committed, logEnd, carry))
      pending.add(p);
    if (members) {
      const offsets = new Map([...pending].map((p) => [p, committed[p]!]));
      for (const p of await members.commit(consuming, offsets)) pending.delete(p);
    } else await commitPending();
    options.onTick?.(tickInfo());
    if (now - start >= options.durationSeconds * 1000) return { ...tickInfo(), stoppedBy: 'duration' };
  }
}

async function logOffsets(admin: KafkaAdmin, topic: string): Promise<Array<{ low: number; high: number }>> {
  const offsets = await admin.topicOffsets(topic);
  const out: Array<{ low: number; high: number }> = [];
  for (const o of offsets) out[o.partition] = { low: o.low, high: o.high };
  return Array.from(out, (o) => o ?? { low: 0, high: 0 });
}
