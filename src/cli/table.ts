// Plain-text tables of a Consumer and its instances, for `demo` and `status`.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { Consumer } from '../api/schema.js';
import { Annotation } from '../api/constants.js';

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

/** One row per instance; `lag` (messages behind per partition) adds a LAG column. */
export function renderInstances(
  deployments: readonly V1Deployment[],
  pods: readonly V1Pod[],
  lag?: ReadonlyMap<number, number>,
): string {
  const sorted = [...deployments].sort((a, b) =>
    a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true }),
  );
  const rows = sorted.map((d) => {
    const c = d.spec?.template?.spec?.containers?.[0];
    const selector = d.spec?.selector?.matchLabels ?? {};
    const running = pods.filter(
      (p) =>
        p.status?.phase === 'Running' &&
        p.metadata?.ownerReferences?.[0]?.name?.startsWith(`${d.metadata!.name}-`) &&
        Object.entries(selector).every(([k, v]) => p.metadata?.labels?.[k] === v),
    ).length;
    return [
      d.metadata!.name!,
      d.metadata?.annotations?.[Annotation.partition] ?? '',
      String(c?.resources?.requests?.cpu ?? '-'),
      String(c?.resources?.limits?.cpu ?? '-'),
      String(c?.resources?.requests?.memory ?? '-'),
      d.metadata?.annotations?.[Annotation.scalingStatus] ?? '',
      `${running}/${d.spec?.replicas ?? 1}`,
      ...(lag ? [String(partitionsOf(d).reduce((sum, p) => sum + (lag.get(p) ?? 0), 0))] : []),
    ];
  });
  const header = ['INSTANCE', 'PARTITIONS', 'CPU REQ', 'CPU LIM', 'MEMORY', 'STATE', 'PODS RUNNING'];
  return table(lag ? [...header, 'LAG (MSGS)'] : header, rows);
}
