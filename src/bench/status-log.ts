// What each status write of a benchmarked Consumer changed, read from a watch on it: the bench
// counts status writes from the API server and says what each one was from this log.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/constants.js';
import type { Consumer, ConsumerStatus, InstanceStatus } from '../api/schema.js';
import { canonicalJson } from '../util/hash.js';

/** Fields named by what they stand for in the description rather than one by one. */
const COUNTERS = ['expected', 'replicas', 'running', 'paused', 'lagging', 'missing', 'outdated', 'redundant'];

/**
 * What changed in status.instances: how many entries (added, removed or changed) and which of
 * their fields, e.g. `instances (12: action, lagSeconds)`.
 */
function describeInstances(before: readonly InstanceStatus[], after: readonly InstanceStatus[]): string {
  const old = new Map(before.map((i) => [i.id, i]));
  const ids = new Set([...old.keys(), ...after.map((i) => i.id)]);
  const now = new Map(after.map((i) => [i.id, i]));
  const fields = new Set<string>();
  let entries = 0;
  for (const id of ids) {
    const [a, b] = [old.get(id), now.get(id)];
    if (!a || !b) {
      entries++;
      fields.add(a ? 'removed' : 'added');
      continue;
    }
    const changed = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
      (k) => (a as Record<string, unknown>)[k] !== (b as Record<string, unknown>)[k],
    );
    if (changed.length) entries++;
    for (const k of changed) fields.add(k);
  }
  return `instances (${entries}: ${[...fields].sort().join(', ')})`;
}

/**
 * One line saying what changed from `before` to `after`: conditions whose status or reason changed
 * (`Ready=True/AllInstancesReady`), counters with their new value, other fields by name.
 */
export function describeStatusChange(before: ConsumerStatus | undefined, after: ConsumerStatus): string {
  const parts: string[] = [];
  const old = new Map((before?.conditions ?? []).map((c) => [c.type, c]));
  for (const c of after.conditions ?? []) {
    const was = old.get(c.type);
    if (!was || was.status !== c.status || was.reason !== c.reason)
      parts.push(`${c.type}=${c.status}/${c.reason}`);
    else if (was.message !== c.message) parts.push(`${c.type} message`);
  }
  const counters = COUNTERS.filter(
    (k) => (before as Record<string, unknown> | undefined)?.[k] !== (after as Record<string, unknown>)[k],
  ).map((k) => `${k} ${String((after as Record<string, unknown>)[k])}`);
  if (counters.length) parts.push(counters.join(' '));
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  for (const k of [...keys].sort()) {
    if (k === 'conditions' || COUNTERS.includes(k)) continue;
    const [a, b] = [
      (before as Record<string, unknown> | undefined)?.[k],
      (after as Record<string, unknown>)[k],
    ];
    if (canonicalJson(a ?? null) === canonicalJson(b ?? null)) continue;
    parts.push(
      k === 'instances' && before?.instances && after.instances
        ? describeInstances(before.instances, after.instances)
        : k,
    );
  }
  return parts.length ? parts.join(', ') : 'nothing visible';
}

/**
 * Status changes of one Consumer, in order, as seen by a watch (started again where it ended when
 * the API server closes it).
 */
export class StatusLog {
  private readonly entries: string[] = [];
  /** When each entry was seen (ms since the epoch). */
  private readonly times: number[] = [];
  private last: ConsumerStatus | undefined;
  private abort: AbortController | undefined;
  private resourceVersion: string | undefined;
  private stopped = false;

  private constructor(
    private readonly config: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
  ) {}

  static async start(config: KubeConfig, namespace: string, name: string): Promise<StatusLog> {
    const log = new StatusLog(config, namespace, name);
    await log.watch();
    return log;
  }

  private async watch(): Promise<void> {
    this.abort = await new Watch(this.config).watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${this.namespace}/${PLURAL}`,
      {
        fieldSelector: `metadata.name=${this.name}`,
        allowWatchBookmarks: true,
        ...(this.resourceVersion ? { resourceVersion: this.resourceVersion } : {}),
      },
      (phase, object: Consumer) => {
        // 410 Gone: the version is too old; the next watch starts from now.
        if (phase === 'ERROR') this.resourceVersion = undefined;
        else this.resourceVersion = object.metadata?.resourceVersion ?? this.resourceVersion;
        if (phase !== 'ADDED' && phase !== 'MODIFIED') return;
        this.record(object.status ?? {});
      },
      () => this.restart(),
    );
  }

  private restart(): void {
    if (this.stopped) return;
    setTimeout(() => void this.watch().catch(() => this.restart()), 200);
  }

  private record(status: ConsumerStatus): void {
    if (canonicalJson(status) === canonicalJson(this.last ?? {})) return;
    this.entries.push(describeStatusChange(this.last, status));
    this.times.push(Date.now());
    this.last = status;
  }

  /** A position in the log, for `since`. */
  mark(): number {
    return this.entries.length;
  }

  /** What each status change since `mark` changed. */
  since(mark: number): string[] {
    return this.entries.slice(mark);
  }

  /** Each status change since `mark`, with the seconds from `start` (ms since the epoch) to it. */
  timedSince(mark: number, start: number): string[] {
    return this.since(mark).map((e, i) => `+${((this.times[mark + i]! - start) / 1000).toFixed(1)} s: ${e}`);
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}
