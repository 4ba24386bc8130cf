// Plain-text tables of a Consumer and its instances, for `demo` and `status`.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { Consumer } from '../api/schema.js';
import { Annotation } from '../api/constants.js';
import { instanceResources } from '../plan/instance-resources.js';
import { humanCpu, humanMemory } from '../util/human.js';

const partitionsOf = (d: V1Deployment) =>
  (d.metadata?.annotations?.[Annotation.partition] ?? '').split(',').filter(Boolean).map(Number);

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function renderConsumer(consumer: Consumer): string {
  const s = consumer.status ?? {};
  const counts = table(
    ['CONSUMER', 'EXPECTED', 'RUNNING', 'PAUSED', 'MISSING', 'LAGGING', 'OUTDATED', 'REDUNDANT'],
    [
      [
        consumer.metadata.name,
        ...[s.expected, s.running, s.paused, s.missing, s.lagging, s.outdated, s.redundant].map((v) =>
          String(v ?? '-'),
        ),
      ],
    ],
  );
  const conditions = (s.conditions ?? [])
    .map((c) => `  ${c.type}=${c.status} (${c.reason}): ${c.message}`)
    .join('\n');
  return `${counts}\n${conditions}`;
}

/** What the demo follows of an instance: its size now and its scaling state. */
export interface InstanceSize {
  name: string;
  partitions: string;
  cpuRequest: string;
  cpuLimit: string;
  memory: string;
  state: string;
}

/**
 * The scaled container's size now (after in-place resizes the `resources` annotation, else the
 * pod template), in human units: `1.5` cores, `586Mi`.
 */
export function instanceSize(d: V1Deployment, container?: string): InstanceSize {
  const name = container ?? d.spec?.template?.spec?.containers?.[0]?.name ?? '';
  const r = instanceResources(d, name);
  return {
    name: d.metadata!.name!,
    partitions: d.metadata?.annotations?.[Annotation.partition] ?? '',
    cpuRequest: humanCpu(r?.requests?.cpu),
    cpuLimit: humanCpu(r?.limits?.cpu),
    memory: humanMemory(r?.requests?.memory),
    state: d.metadata?.annotations?.[Annotation.scalingStatus] ?? '',
  };
}

const byName = (a: V1Deployment, b: V1Deployment) =>
  a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true });

/** One row per instance; `lag` (messages behind per partition) adds a LAG column. */
export function renderInstances(
  deployments: readonly V1Deployment[],
  pods: readonly V1Pod[],
  lag?: ReadonlyMap<number, number>,
  container?: string,
): string {
  const sorted = [...deployments].sort(byName);
  const rows = sorted.map((d) => {
    const selector = d.spec?.selector?.matchLabels ?? {};
    const running = pods.filter(
      (p) =>
        p.status?.phase === 'Running' &&
        p.metadata?.ownerReferences?.[0]?.name?.startsWith(`${d.metadata!.name}-`) &&
        Object.entries(selector).every(([k, v]) => p.metadata?.labels?.[k] === v),
    ).length;
    const size = instanceSize(d, container);
    return [
      size.name,
      size.partitions,
      size.cpuRequest,
      size.cpuLimit,
      size.memory,
      size.state,
      `${running}/${d.spec?.replicas ?? 1}`,
      ...(lag ? [String(partitionsOf(d).reduce((sum, p) => sum + (lag.get(p) ?? 0), 0))] : []),
    ];
  });
  const header = ['INSTANCE', 'PARTITIONS', 'CPU REQ', 'CPU LIM', 'MEMORY', 'STATE', 'PODS RUNNING'];
  return table(lag ? [...header, 'LAG (MSGS)'] : header, rows);
}

/**
 * One line per instance whose size or state differs from `before` (a new instance, a resize, a
 * state change, an instance gone), e.g.
 * `demo-0 (0,1): cpu 100m/1 → 1.5/2, memory 95.4Mi → 143Mi; PENDING_SCALE_UP → RUNNING`.
 */
export function sizeChanges(
  before: ReadonlyMap<string, InstanceSize>,
  now: ReadonlyMap<string, InstanceSize>,
): string[] {
  const lines: string[] = [];
  const names = [...new Set([...before.keys(), ...now.keys()])].sort((a, b) =>
    a.localeCompare(b, 'en', { numeric: true }),
  );
  for (const name of names) {
    const a = before.get(name);
    const b = now.get(name);
    if (!b) {
      lines.push(`${name}: gone`);
      continue;
    }
    const cpu = (s: InstanceSize) => `${s.cpuRequest}/${s.cpuLimit}`;
    if (!a) {
      lines.push(`${name} (${b.partitions}): new, cpu ${cpu(b)}, memory ${b.memory}; ${b.state || '-'}`);
      continue;
    }
    const parts: string[] = [];
    if (cpu(a) !== cpu(b)) parts.push(`cpu ${cpu(a)} → ${cpu(b)}`);
    if (a.memory !== b.memory) parts.push(`memory ${a.memory} → ${b.memory}`);
    const sized = parts.join(', ');
    const state = a.state !== b.state ? `${a.state || '-'} → ${b.state || '-'}` : '';
    if (sized || state) lines.push(`${name} (${b.partitions}): ${[sized, state].filter(Boolean).join('; ')}`);
  }
  return lines;
}
