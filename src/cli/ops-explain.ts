// `konsumerator explain`: why an instance is the size it is. The metrics of the Consumer's last
// read (status.lastSyncState) and each instance's size and scaling state (its Deployment) go
// through autoscale(), the one function the operator decides with, at the current time: the
// outcome is the decision the operator makes on those metrics, with every step of it shown.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Consumer } from '../api/schema.js';
import { policyFor } from '../api/resolve.js';
import type { InstanceOutcome } from '../autoscale/autoscale.js';
import { autoscaleConfig, autoscaleWith } from '../autoscale/config.js';
import { capacityFromStatus, type CapacityView } from '../autoscale/capacity.js';
import type { Sizing } from '../autoscale/sizing.js';
import { existingInstanceInput } from '../controller/autoscaling.js';
import { fromLastSyncState } from '../metrics/warm-start.js';
import { observeInstances } from '../plan/consumer-plan.js';
import { instanceName } from '../plan/render.js';
import { humanBytes, humanDuration, humanMillicores } from '../util/human.js';

export interface Explanation {
  consumer: string;
  /** Why nothing can be explained (autoscaling off, no read yet, stopped, paused); else undefined. */
  none?: string;
  mode?: string;
  predictor?: string;
  readAt?: string;
  /** With capacity learning: the configured and learned rate per core and what the sizing used. */
  capacity?: CapacityView;
  decidedAt: string;
  /**
   * Balanced: each instance's replicas field is the pods sharing its partitions. `pods`: the pods
   * the instance runs when more than one (each at the size shown; the global budget counts each).
   */
  instances: (InstanceOutcome & { deployment: string; replicas?: number; pods?: number })[];
}

export function explain(consumer: Consumer, deployments: readonly V1Deployment[], now: Date): Explanation {
  const base = {
    consumer: `${consumer.metadata.namespace}/${consumer.metadata.name}`,
    decidedAt: now.toISOString(),
    instances: [],
  };
  const config = autoscaleConfig(consumer.spec);
  if (!config || !config.container)
    return {
      ...base,
      none: 'the Consumer does not autoscale (mode none, or no container with an Auto policy): its resources come from the resource policy',
    };
  const status = consumer.status;
  const reading = fromLastSyncState(status?.lastSyncState, status?.lastSyncTime, consumer.spec.numPartitions);
  if (!reading) return { ...base, none: 'no metrics read yet (status.lastSyncState is empty)' };
  const { buckets, byId } = observeInstances(consumer, deployments);
  const policy = policyFor(consumer.spec.resourcePolicy?.containerPolicies ?? [], config.container);
  const inputs = buckets.flatMap((partitions, id) => {
    const deployment = byId.get(id);
    // The lag-free read count lives in the operator's memory only: none is assumed, so a
    // scale-down shows what it still waits for.
    return deployment
      ? [existingInstanceInput(consumer.spec, id, partitions, policy, deployment, config.container!, 0)]
      : [];
  });
  // The operator learned from this read already: its capacity in status is used as it stands.
  const learned = capacityFromStatus(status?.capacity, config.settings.ratePerCore);
  const result = autoscaleWith(config, now, reading.partitions, inputs, learned, false);
  return {
    ...base,
    mode: config.mode,
    predictor: config.settings.proactive ? 'proactive' : 'naive',
    ...(result.capacity ? { capacity: result.capacity.view } : {}),
    ...(status?.lastSyncTime ? { readAt: status.lastSyncTime } : {}),
    instances: result.instances.map((o) => {
      const input = inputs.find((i) => i.id === o.id);
      const replicas = input?.replicas;
      const pods = input?.pods;
      return {
        ...o,
        deployment: instanceName(consumer.spec.name, o.id),
        ...(replicas !== undefined ? { replicas } : {}),
        ...(pods !== undefined && pods > 1 ? { pods } : {}),
      };
    }),
  };
}

const cpu = (m: number | undefined) => (m === undefined ? '-' : humanMillicores(m));
const mem = (b: number | undefined) => (b === undefined ? '-' : humanBytes(b));
const size = (s: Sizing | undefined) =>
  s === undefined
    ? 'none'
    : `cpu ${cpu(s.cpuRequest)} (limit ${cpu(s.cpuLimit)}), memory ${mem(s.memoryRequest)} (limit ${mem(s.memoryLimit)})`;
const rate = (v: number | undefined) => (v === undefined ? '?' : `${Math.round(v)}/s`);

function waitingText(o: InstanceOutcome, now: Date): string {
  const w = o.decision.waiting;
  if (!w) return o.decision.apply ? 'applied now' : 'on the next read, if the need changes';
  switch (w.for) {
    case 'pending-period':
      return `after the pending period: ${new Date(now.getTime() + w.remainingMs).toISOString()} (in ${humanDuration(w.remainingMs)}), if the need lasts`;
    case 'lag-free-reads':
      return `after ${w.remaining} more read(s) without lag (the operator counts them in memory; explain assumes none so far)`;
    case 'metrics':
      return 'when metrics are back for its partitions';
    case 'consumption':
      return 'when its partitions consume again (more CPU would not help)';
    case 'unpause':
      return 'when the disable-autoscaler annotation is removed (konsumerator resume)';
  }
}

function capacityLine(c: CapacityView): string {
  const learned =
    c.learned === undefined
      ? 'nothing learned yet'
      : `learned ${Math.round(c.learned)}/s (confidence ${c.confidence.toFixed(2)})`;
  const bound = c.lowerBound === undefined ? '' : `, kept up with ${Math.round(c.lowerBound)}/s`;
  const why =
    c.source === 'learned'
      ? 'the learned value'
      : c.source === 'probing'
        ? 'a step above what instances kept up with (probing)'
        : 'the configured value';
  return `capacity per core: configured ${Math.round(c.configured)}/s, ${learned}${bound}; sized with ${Math.round(c.ratePerCore)}/s, ${why}`;
}

export function renderExplanation(e: Explanation, now: Date, only?: number): string {
  if (e.none) return `Consumer ${e.consumer}: ${e.none}\n`;
  const lines = [
    `Consumer ${e.consumer}: ${e.mode} metrics read at ${e.readAt}, ${e.predictor} predictor, decided at ${e.decidedAt} by the operator's own autoscale()`,
  ];
  if (e.capacity) lines.push(capacityLine(e.capacity));
  for (const o of e.instances) {
    if (only !== undefined && o.id !== only) continue;
    const s = o.decision.state;
    lines.push(
      '',
      `instance ${o.id} (${o.deployment}), partitions ${o.signal.partitions.map((p) => p.partition).join(',')}`,
      ...(o.replicas !== undefined
        ? [
            `  balanced:    ${o.replicas} replica(s) share these partitions by group assignment; the sizes below are per replica`,
          ]
        : o.pods !== undefined
          ? [
              `  pods:        ${o.pods} (spec.replicas), each at the size below; the global budget counts every pod`,
            ]
          : []),
      '  inputs:',
      ...o.signal.partitions.map(
        (p) =>
          `    partition ${p.partition}: production ${rate(p.sample.production)}, consumption ${rate(p.sample.consumption)}, behind ${p.sample.behind ?? '?'}` +
          `, lag ${p.lagMs === undefined ? '?' : humanDuration(p.lagMs)}${p.stalled ? ' (stalled)' : ''}`,
      ),
      `  signal:      ${o.signal.unknown ? 'no metrics' : `largest lag ${o.signal.maxLagMs === undefined ? '?' : humanDuration(o.signal.maxLagMs)}`}${o.signal.lagging ? ', lagging' : ''}${o.signal.critical ? ', critical' : ''}`,
      `  now:         ${size(o.current)}`,
      `  predictor:   ${o.prediction ? size(o.prediction) : 'no prediction (no production rate)'}`,
      `  policy:      ${size(o.target)}${o.policyShortageMillis > 0 ? `; ${cpu(o.policyShortageMillis)} CPU kept back by maxAllowed` : ''}`,
      `  budget:      ${o.budgetCut ? `cut cpu ${cpu(o.budgetCut.cpuMillis)}, memory ${mem(o.budgetCut.memoryBytes)} (globalPolicy.maxAllowed)` : 'no cut'}`,
      `  decision:    ${o.decision.apply ? `change (${o.decision.direction})` : 'keep'}: ${o.decision.reason}`,
      `  gets:        ${size(o.sizing)}`,
      `  state:       ${s.status ?? '-'}${s.changedAt ? ` since ${s.changedAt.toISOString()}` : ''}`,
      `  next change: ${waitingText(o, now)}`,
    );
  }
  if (only !== undefined && !e.instances.some((o) => o.id === only))
    lines.push(
      `no instance ${only} with a Deployment (instances: ${e.instances.map((o) => o.id).join(', ')})`,
    );
  return `${lines.join('\n')}\n`;
}
