// `konsumerator status`: one row per instance of a Consumer, built from what the API server holds
// (the Consumer's status, its Deployments, their pods, its events). Pure: the same objects and
// time give the same rows. Lag in seconds comes from the same rule the autoscaler uses.
import type { CoreV1Event, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { Annotation } from '../api/constants.js';
import type { Consumer } from '../api/schema.js';
import { isBalanced, podsPerInstance, scaledContainer } from '../api/resolve.js';
import { partitionSignal } from '../autoscale/signals.js';
import { fromLastSyncState } from '../metrics/warm-start.js';
import { observeInstances } from '../plan/consumer-plan.js';
import { partitionsLabel } from '../plan/partitions.js';
import { instanceResources } from '../plan/instance-resources.js';
import { deploymentNameOf } from '../controller/pod-caches.js';
import { humanCpu, humanDuration, humanMemory } from '../util/human.js';
import { table } from './table.js';

export interface PartitionLag {
  partition: number;
  /** Messages behind; undefined when not known. */
  messages: number | undefined;
  /** Lag in seconds (behind / production, as the autoscaler reckons it); undefined when not known. */
  seconds: number | undefined;
}

export interface InstanceRow {
  instance: number;
  deployment: string;
  partitions: string;
  /** The scaled container's CPU and memory requests now (after in-place resizes), as quantities. */
  cpu: string | undefined;
  memory: string | undefined;
  lag: PartitionLag[];
  /** Sum over the instance's partitions, messages per second; undefined when none is known. */
  productionRate: number | undefined;
  consumptionRate: number | undefined;
  /** The scaling state (RUNNING, PENDING_SCALE_UP, ...); `MISSING` when there is no Deployment. */
  state: string;
  /** The Deployment carries the disable-autoscaler annotation. */
  paused: boolean;
  /** When the scaling state last changed, RFC 3339. */
  lastChange: string | undefined;
  /** The latest resize event of this instance (reason: message), if the API server still has it. */
  lastChangeReason: string | undefined;
  podsReady: number;
  podsDesired: number;
  /** Time since the youngest running pod started, ms. */
  uptimeMs: number | undefined;
  restarts: number;
}

export interface ConsumerReport {
  namespace: string;
  name: string;
  /** Pods per instance (0: stopped). */
  replicas: number;
  /** assignment Balanced: one instance whose replicas share every partition. */
  balanced: boolean;
  stopped: boolean;
  /** The Consumer carries the disable-autoscaler annotation. */
  paused: boolean;
  lastSyncTime: string | undefined;
  conditions: { type: string; status: string; reason: string; message: string }[];
  instances: InstanceRow[];
}

const RESIZE_REASONS = new Set(['ScaledUp', 'ScaledDown']);

const eventTime = (e: CoreV1Event) =>
  new Date(
    e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? 0,
  ).getTime();

/** The newest resize event naming this Deployment. */
function lastResizeEvent(events: readonly CoreV1Event[], deployment: string): CoreV1Event | undefined {
  return events
    .filter((e) => RESIZE_REASONS.has(e.reason ?? '') && (e.message ?? '').startsWith(`${deployment}: `))
    .sort((a, b) => eventTime(b) - eventTime(a))[0];
}

function sum(values: (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length ? known.reduce((a, b) => a + b, 0) : undefined;
}

const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

export function consumerReport(
  consumer: Consumer,
  deployments: readonly V1Deployment[],
  pods: readonly V1Pod[],
  events: readonly CoreV1Event[],
  now: Date,
): ConsumerReport {
  const { spec, status } = consumer;
  const reading = fromLastSyncState(status?.lastSyncState, status?.lastSyncTime, spec.numPartitions);
  const samples = reading?.partitions ?? new Map();
  const { buckets, byId } = observeInstances(consumer, deployments);
  const container = scaledContainer(spec) ?? spec.deploymentTemplate.template.spec?.containers[0]?.name;
  const podsOf = new Map<string, V1Pod[]>();
  for (const pod of pods) {
    const name = deploymentNameOf(pod);
    if (name) podsOf.set(name, [...(podsOf.get(name) ?? []), pod]);
  }
  const instances = buckets.map((partitions, id): InstanceRow => {
    const deployment = byId.get(id);
    const name = deployment?.metadata?.name ?? `${spec.name}-${id}`;
    const annotations = deployment?.metadata?.annotations ?? {};
    const resources = deployment && container ? instanceResources(deployment, container) : undefined;
    const lag = partitions.map((partition): PartitionLag => {
      const signal = partitionSignal(partition, samples.get(partition));
      return {
        partition,
        messages: signal.sample.behind,
        seconds: signal.lagMs === undefined ? undefined : signal.lagMs / 1000,
      };
    });
    const own = (podsOf.get(name) ?? []).filter((p) => !p.metadata?.deletionTimestamp);
    const started = own
      .filter((p) => p.status?.phase === 'Running' && p.status.startTime)
      .map((p) => new Date(p.status!.startTime!).getTime());
    const event = lastResizeEvent(events, name);
    return {
      instance: id,
      deployment: name,
      partitions: partitionsLabel(partitions),
      cpu: resources?.requests?.cpu === undefined ? undefined : String(resources.requests.cpu),
      memory: resources?.requests?.memory === undefined ? undefined : String(resources.requests.memory),
      lag,
      productionRate: sum(partitions.map((p) => samples.get(p)?.production)),
      consumptionRate: sum(partitions.map((p) => samples.get(p)?.consumption)),
      state: deployment ? (annotations[Annotation.scalingStatus] ?? '-') : 'MISSING',
      paused: annotations[Annotation.disableAutoscaler] !== undefined,
      lastChange: annotations[Annotation.scalingStatusChange],
      lastChangeReason: event ? `${event.reason}: ${event.message!.slice(name.length + 2)}` : undefined,
      podsReady: own.filter(isReady).length,
      podsDesired: deployment?.spec?.replicas ?? 0,
      uptimeMs: started.length ? now.getTime() - Math.max(...started) : undefined,
      restarts: own.reduce(
        (total, p) =>
          total + (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
        0,
      ),
    };
  });
  const replicas = podsPerInstance(spec);
  return {
    namespace: consumer.metadata.namespace,
    name: consumer.metadata.name,
    replicas,
    balanced: isBalanced(spec),
    stopped: replicas === 0,
    paused: consumer.metadata.annotations?.[Annotation.disableAutoscaler] !== undefined,
    lastSyncTime: status?.lastSyncTime,
    conditions: (status?.conditions ?? []).map(({ type, status: s, reason, message }) => ({
      type,
      status: s,
      reason,
      message,
    })),
    instances,
  };
}

const rate = (v: number | undefined) => (v === undefined ? '-' : `${Math.round(v)}/s`);

function lagText(lag: readonly PartitionLag[]): string {
  return lag
    .map(
      (l) =>
        `${l.partition}:${l.seconds === undefined ? '?' : humanDuration(l.seconds * 1000)}/${l.messages ?? '?'}`,
    )
    .join(' ');
}

function stateText(row: InstanceRow, report: ConsumerReport): string {
  if (report.stopped) return 'STOPPED';
  const flags = [row.paused || report.paused ? 'paused' : ''].filter(Boolean);
  return flags.length ? `${row.state} (${flags.join(', ')})` : row.state;
}

function ago(time: string | undefined, now: Date): string {
  if (!time) return '-';
  const at = Date.parse(time);
  return Number.isNaN(at) ? time : `${humanDuration(now.getTime() - at)} ago`;
}

/** The report as text: a line about the Consumer, one row per instance, the reasons of the last changes. */
export function renderReport(report: ConsumerReport, now: Date): string {
  const header = [
    `Consumer ${report.namespace}/${report.name}: ${report.stopped ? 'stopped (0 pods per instance)' : report.balanced ? `balanced, ${report.replicas} replica(s) sharing every partition by group assignment` : `${report.replicas} pod(s) per instance`}` +
      `${report.paused ? ', autoscaling paused' : ''}; metrics read ${ago(report.lastSyncTime, now)}`,
    ...report.conditions
      .filter((c) =>
        c.type === 'Ready' ? c.status !== 'True' : c.type !== 'Progressing' && c.status !== 'False',
      )
      .map((c) => `  ${c.type}=${c.status} (${c.reason}): ${c.message}`),
  ];
  const rows = report.instances.map((r) => [
    String(r.instance),
    r.partitions,
    humanCpu(r.cpu),
    humanMemory(r.memory),
    lagText(r.lag),
    rate(r.productionRate),
    rate(r.consumptionRate),
    stateText(r, report),
    ago(r.lastChange, now),
    `${r.podsReady}/${r.podsDesired}`,
    r.uptimeMs === undefined ? '-' : humanDuration(r.uptimeMs),
    String(r.restarts),
  ]);
  const body = table(
    [
      'INSTANCE',
      'PARTITIONS',
      'CPU',
      'MEMORY',
      'LAG (PARTITION:TIME/MSGS)',
      'IN',
      'OUT',
      'STATE',
      'CHANGED',
      'PODS',
      'UPTIME',
      'RESTARTS',
    ],
    rows,
  );
  const reasons = report.instances
    .filter((r) => r.lastChangeReason)
    .map((r) => `  ${r.deployment}: ${r.lastChangeReason}`);
  return [...header, body, ...(reasons.length ? ['Last changes:', ...reasons] : [])].join('\n');
}
