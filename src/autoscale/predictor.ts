// Predictors: from partition metrics to the CPU and memory one instance needs. `naive` is the
// original's formula, kept exact; `proactive` (the default) sizes for production and drains the
// whole backlog.
import type { Sizing } from './sizing.js';
import type { AutoscaleSettings } from './settings.js';
import type { PartitionSignal } from './signals.js';

/**
 * What one pod of an instance needs. `replicas` (absent: 1) pods share the partitions by Kafka's
 * group assignment (assignment Balanced); each gets the size the busiest one may need (see podNeed).
 */
export type Predictor = (
  partitions: readonly PartitionSignal[],
  settings: AutoscaleSettings,
  replicas?: number,
) => Sizing | undefined;

const MAX_CPU_MILLIS = 1e9;

const ceilToMultiple = (x: number, step: number) => (x % step === 0 ? x : x + step - (x % step));

/** Messages per second one partition needs: production, plus its backlog spread over recoveryTime. */
export function expectedConsumption(signal: PartitionSignal, recoveryTimeMs: number): number {
  const production = Math.trunc(signal.sample.production ?? 0);
  const lagSeconds = Math.floor((signal.lagMs ?? 0) / 1000);
  if (lagSeconds <= 0) return production;
  // Sub-second recovery times pass the schema: count them as one second, not a division by zero.
  const recoverySeconds = Math.max(1, Math.trunc(recoveryTimeMs / 1000));
  return Math.floor((lagSeconds * production + production * recoverySeconds) / recoverySeconds);
}

/** How memory follows CPU: per whole core of the limit (the original), or per core of the request. */
export type MemoryRule = 'per-limit-core' | 'per-request-core';

/**
 * Proactive memory floor, in cores of `ramPerCore`: a consumer holds a fixed base (runtime, client
 * buffers, caches) that does not shrink with its throughput, so a 100m instance still gets half a
 * core's memory. The original never gave less than one whole core's.
 */
export const MEMORY_FLOOR_CORES = 0.5;

/**
 * Share of its CPU request a pod is expected to use on top of it, from its node's idle CPU, up to
 * its CPU limit (the whole core above the request by default): memory follows the CPU a pod may
 * really use, not only what it requested, or a pod draining a backlog above its request outgrows
 * its memory and is OOM-killed.
 */
export const MEMORY_CPU_BURST_SHARE = 0.25;

const MiB = 1024 * 1024;

/**
 * The cores memory is sized for under `per-request-core`: the CPU the pod may use (its request
 * plus MEMORY_CPU_BURST_SHARE, at most its CPU limit), at least MEMORY_FLOOR_CORES.
 */
export function memoryCores(cpuRequestMillis: number, cpuLimitMillis: number | undefined): number {
  const burst = (cpuRequestMillis * (1 + MEMORY_CPU_BURST_SHARE)) / 1000;
  const usable = Math.max(cpuRequestMillis / 1000, Math.min(burst, (cpuLimitMillis ?? Infinity) / 1000));
  return Math.max(usable, MEMORY_FLOOR_CORES);
}

/**
 * CPU and memory for a consumption rate: request rounded up to the increment, limit to whole cores
 * (at or above the request plus MEMORY_CPU_BURST_SHARE with `cpuLimitCoversBurst`).
 * Memory (request = limit): `per-limit-core` = ramPerCore × limit cores (the original's rule);
 * `per-request-core` = ramPerCore × memoryCores(request, limit), rounded up to a MiB.
 */
export function sizeForRate(
  messagesPerSecond: number,
  settings: AutoscaleSettings,
  memoryRule: MemoryRule = 'per-limit-core',
): Sizing {
  const step = settings.cpuIncrementMillis;
  // Absurd metrics (a broken exporter's 1e300) overflow to Infinity, or NaN through Infinity × 0:
  // cap them at a million cores, far above any policy maximum, so the limiter clamps a number.
  const wanted = Math.floor((messagesPerSecond * 1000) / settings.ratePerCore);
  const capped = Number.isNaN(wanted) ? MAX_CPU_MILLIS : Math.min(MAX_CPU_MILLIS, wanted);
  // Never a zero request: the original could produce 0m for a nearly idle partition.
  const cpuRequest = Math.max(step, ceilToMultiple(capped, step));
  const cpuLimit = ceilToMultiple(
    settings.cpuLimitCoversBurst ? Math.ceil(cpuRequest * (1 + MEMORY_CPU_BURST_SHARE)) : cpuRequest,
    1000,
  );
  const memory =
    memoryRule === 'per-limit-core'
      ? Math.round((cpuLimit / 1000) * settings.ramPerCoreBytes)
      : Math.ceil((memoryCores(cpuRequest, cpuLimit) * settings.ramPerCoreBytes) / MiB) * MiB;
  return { cpuRequest, cpuLimit, memoryRequest: memory, memoryLimit: memory };
}

/**
 * The original's naive predictor. A partition whose production rate is unknown counts as the
 * busiest partition that has one (the original's partial-metrics rule, which it also applied to
 * partitions that produce nothing; here a known 0 stays 0). An idle instance gets the smallest
 * size of the formula (one CPU step), where the original used the policy fallback: both rules of
 * the original were about missing data, which it could not tell from a measured 0. With no
 * production rate at all there is no prediction, and the caller keeps what the instance has.
 */
export const naivePredictor: Predictor = (partitions, settings, replicas) => {
  const total = podNeed(partitions, (p) => expectedConsumption(p, settings.recoveryTimeMs), replicas);
  return total === undefined ? undefined : sizeForRate(Math.ceil(total), settings);
};

/**
 * What one pod needs, messages per second; undefined when no production rate is known. A
 * partition whose production rate is unknown counts as the busiest known one.
 *
 * One pod (`replicas` 1 or absent): the sum of what its partitions need. `replicas` pods sharing
 * the partitions by group assignment: each holds at most k = ceil(partitions / replicas) of them,
 * and which ones is the assignor's choice (a range assignor puts neighbours together, and on a
 * skewed topic the busiest partitions are often neighbours). So every pod gets the sum of the k
 * largest needs: whatever the assignor does, no pod holds more. That is the sum for one pod, the
 * busiest partition alone when there are at least as many pods as partitions, and k times one
 * partition's need for an even load.
 */
export function podNeed(
  partitions: readonly PartitionSignal[],
  need: (partition: PartitionSignal) => number,
  replicas = 1,
): number | undefined {
  const needs: number[] = [];
  let busiest = 0;
  for (const p of partitions) {
    if (p.sample.production === undefined) continue;
    const expected = need(p);
    needs.push(expected);
    busiest = Math.max(busiest, expected);
  }
  if (needs.length === 0) return undefined;
  for (let unknown = partitions.length - needs.length; unknown > 0; unknown--) needs.push(busiest);
  const perPod = Math.ceil(needs.length / Math.max(1, Math.floor(replicas)));
  if (perPod >= needs.length) return needs.reduce((sum, n) => sum + n, 0);
  return needs
    .sort((x, y) => y - x)
    .slice(0, perPod)
    .reduce((sum, n) => sum + n, 0);
}

/**
 * Share of production added on top, for throughput noise and growth between two syncs. None: the
 * request is rounded up to cpuIncrement anyway, and an instance that falls short grows by the
 * policy's rules; in the simulator a 2 % headroom cost 1 % more core-hours and kept no extra
 * partition-minute within tolerableLag (two seeds, every trace).
 */
export const PROACTIVE_HEADROOM = 0;

/**
 * Messages per second a partition needs under the proactive predictor: its production plus
 * PROACTIVE_HEADROOM (none), plus its whole backlog drained within min(recoveryTime, tolerableLag). Unlike the
 * naive formula (whose backlog term shrinks with the lag, so a backlog settles just under
 * tolerableLag), the backlog term is in messages: it stays until the backlog is gone.
 */
export function proactiveConsumption(signal: PartitionSignal, settings: AutoscaleSettings): number {
  const production = Math.max(0, signal.sample.production ?? 0);
  const behind = Math.max(0, signal.sample.behind ?? 0);
  const drainSeconds = Math.max(
    1,
    Math.min(settings.recoveryTimeMs, settings.tolerableLagMs || Infinity) / 1000,
  );
  return production * (1 + PROACTIVE_HEADROOM) + behind / drainSeconds;
}

/**
 * The default predictor: production + headroom + backlog drained within
 * min(recoveryTime, tolerableLag), per partition, summed over the instance. Unknown production
 * counts as the busiest known partition (as naive); no production rate at all: no prediction.
 * With it, the policy also scales up before the lag reaches tolerableLag (see policy.ts).
 */
export const proactivePredictor: Predictor = (partitions, settings, replicas) => {
  const total = podNeed(partitions, (p) => proactiveConsumption(p, settings), replicas);
  return total === undefined ? undefined : sizeForRate(Math.ceil(total), settings, 'per-request-core');
};

export const DEFAULT_PREDICTOR = 'proactive';

export const predictors: Record<string, Predictor> = { naive: naivePredictor, proactive: proactivePredictor };
