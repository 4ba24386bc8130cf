// What the in-place actuation remembers between reconciles, in memory: the API server's refusals
// of a resize (they are nowhere in the pod, so without this every reconcile would try again), and
// when each instance's current decision was made, to measure how long its pods took to report it.
// It also keeps each instance's lag at the last metrics read (how long a deferred resize may wait
// depends on it). Lost on restart: a refused resize is then tried once more, a decision made
// before the restart is not timed, and the lag is unknown until the next read.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import { formatResourcesAnnotation } from '../plan/instance-resources.js';
import type { Refusal } from './choice.js';

export type DecisionPath = 'in-place' | 'rollout';

interface Pending {
  decision: string;
  at: number;
  path: DecisionPath;
}

const keyOf = (uid: string, id: number) => `${uid}/${id}`;
const decisionKey = (container: string, decision: V1ResourceRequirements) =>
  formatResourcesAnnotation(container, decision);

export class ActuationMemory {
  private readonly refusals = new Map<string, { decision: string; refusal: Refusal }>();
  private readonly pending = new Map<string, Pending>();
  private readonly lags = new Map<string, number>();

  /** Notes each instance's largest partition lag from a metrics read (undefined: unknown). */
  noteLags(uid: string, lagMsByInstance: ReadonlyMap<number, number | undefined>): void {
    for (const [id, lagMs] of lagMsByInstance) {
      if (lagMs === undefined) this.lags.delete(keyOf(uid, id));
      else this.lags.set(keyOf(uid, id), lagMs);
    }
  }

  /** The instance's lag at the last metrics read, if known. */
  lag(uid: string, id: number): number | undefined {
    return this.lags.get(keyOf(uid, id));
  }

  /** The refusal of a resize to `decision`, if the API server refused one. */
  refusal(uid: string, id: number, container: string, decision: V1ResourceRequirements): Refusal | undefined {
    const entry = this.refusals.get(keyOf(uid, id));
    return entry?.decision === decisionKey(container, decision) ? entry.refusal : undefined;
  }

  refused(
    uid: string,
    id: number,
    container: string,
    decision: V1ResourceRequirements,
    refusal: Refusal,
  ): void {
    this.refusals.set(keyOf(uid, id), { decision: decisionKey(container, decision), refusal });
  }

  forgetRefusal(uid: string, id: number): void {
    this.refusals.delete(keyOf(uid, id));
  }

  /**
   * Notes that the instance's decision changed to `decision` at `atMs` (and how it is applied);
   * returns false when that decision was already noted.
   */
  decided(
    uid: string,
    id: number,
    container: string,
    decision: V1ResourceRequirements,
    atMs: number,
    path: DecisionPath,
  ): boolean {
    const key = keyOf(uid, id);
    const text = decisionKey(container, decision);
    const now = this.pending.get(key);
    if (now?.decision === text) {
      if (now.path !== path) now.path = path;
      return false;
    }
    this.pending.set(key, { decision: text, at: atMs, path });
    return true;
  }

  /**
   * The instance's pods report `decision`: how long ago it was decided and how it was applied, the
   * first time it is asked for that decision.
   */
  reached(
    uid: string,
    id: number,
    container: string,
    decision: V1ResourceRequirements,
    atMs: number,
  ): { seconds: number; path: DecisionPath } | undefined {
    const key = keyOf(uid, id);
    const now = this.pending.get(key);
    if (!now || now.decision !== decisionKey(container, decision)) return undefined;
    this.pending.delete(key);
    return { seconds: Math.max(0, atMs - now.at) / 1000, path: now.path };
  }

  /** Forgets an instance (its decision changed, or it went). */
  forget(uid: string, id: number): void {
    this.refusals.delete(keyOf(uid, id));
    this.pending.delete(keyOf(uid, id));
  }

  /** Drops what is remembered of Consumers other than these. */
  retain(uids: ReadonlySet<string>): void {
    for (const map of [this.refusals, this.pending, this.lags])
      for (const key of map.keys()) if (!uids.has(key.slice(0, key.lastIndexOf('/')))) map.delete(key);
  }
}
