// Pod informers for in-place actuation. The instance Deployments of a Consumer all select their
// pods with the selector of the Consumer's template (the original's Deployments carry no
// per-instance pod label, and adding one would roll every pod), so pods are watched per namespace
// and selector: only the pods of the Consumers that resize in place (and any other pod that
// happens to carry the same labels), trimmed as trim.ts says. An informer starts when a Consumer
// first needs it and stops when no Consumer does.
import type { V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import { ResourceCache, type WatchTiming } from './cache.js';
import { trimPod } from './trim.js';
import type { Logger } from '../util/log.js';

/** A label selector in the query form (`a=b,c in (d,e),!f`); undefined when it selects nothing reliably. */
export function selectorString(selector: V1LabelSelector | undefined): string | undefined {
  if (!selector) return undefined;
  const parts = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else return undefined;
  }
  // An empty selector would watch every pod of the namespace (a Deployment may not have one).
  return parts.length > 0 ? parts.join(',') : undefined;
}

/** The name of the Deployment whose ReplicaSet owns the pod (ReplicaSets are named `<deployment>-<pod-template-hash>`). */
export function deploymentNameOf(pod: V1Pod): string | undefined {
  const owner = pod.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'ReplicaSet');
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (!owner || !hash || !owner.name.endsWith(`-${hash}`)) return undefined;
  return owner.name.slice(0, -(hash.length + 1));
}

/** How long a new informer may take to list before its Consumer's pods count as unreadable. */
export const POD_LIST_GRACE_MS = 30_000;

interface Entry {
  cache: ResourceCache<V1Pod>;
  startedAt: number;
  started: Promise<void>;
}

export class PodCaches {
  private readonly caches = new Map<string, Entry>();
  private stopped = false;

  constructor(
    private readonly kubeConfig: KubeClient,
    private readonly log: Logger,
    private readonly onChange: (pod: V1Pod) => void,
    private readonly timing: WatchTiming = {},
  ) {}

  private static key = (namespace: string, selector: string) => `${namespace}|${selector}`;

  /**
   * The pods of `namespace` with the labels of `selector` once the informer has listed them;
   * `listing` while its first list is under way (started here if needed), `unreadable` when that
   * has not succeeded within POD_LIST_GRACE_MS (e.g. the operator may not list pods).
   */
  pods(namespace: string, selector: string, nowMs: number): readonly V1Pod[] | 'listing' | 'unreadable' {
    const key = PodCaches.key(namespace, selector);
    let entry = this.caches.get(key);
    if (!entry) {
      if (this.stopped) return 'unreadable';
      const cache = new ResourceCache<V1Pod>(
        this.kubeConfig,
        `/api/v1/namespaces/${namespace}/pods`,
        this.log.child({ cache: 'pods', namespace, selector }),
        trimPod,
        this.timing,
        selector,
      );
      cache.onChange((pod) => this.onChange(pod));
      const started = cache
        .start()
        .catch((err: unknown) => this.log.warn({ err: String(err) }, 'pod informer'));
      entry = { cache, startedAt: nowMs, started };
      this.caches.set(key, entry);
    }
    if (entry.cache.hasListed) return entry.cache.list(namespace);
    return nowMs - entry.startedAt >= POD_LIST_GRACE_MS ? 'unreadable' : 'listing';
  }

  /** Waits up to `timeoutMs` for the informer of (namespace, selector), started by pods(), to list. */
  async listed(namespace: string, selector: string, timeoutMs: number): Promise<void> {
    const entry = this.caches.get(PodCaches.key(namespace, selector));
    if (!entry || entry.cache.hasListed) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([entry.started, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Stops the informers whose namespace and selector are not in `needed` (`namespace|selector`). */
  async retain(needed: ReadonlySet<string>): Promise<void> {
    const gone = [...this.caches.entries()].filter(([key]) => !needed.has(key));
    for (const [key] of gone) this.caches.delete(key);
    await Promise.all(gone.map(([, entry]) => entry.cache.stop()));
  }

  static keyOf(namespace: string, selector: string): string {
    return PodCaches.key(namespace, selector);
  }

  get size(): number {
    return this.caches.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.caches.values()];
    this.caches.clear();
    await Promise.all(all.map((e) => e.cache.stop()));
  }
}
