// Env vars injected into every container, as the original injects them: template entries keep
// their order, an entry of the same name is replaced in place, new ones are appended in the
// original's order.
import type { V1EnvVar } from '@kubernetes/client-node';
import { Env } from '../api/constants.js';
import type { Sizing } from '../autoscale/sizing.js';

const MiB = 1024 * 1024;
/** The original's fixed share of the memory limit in GOMEMLIMIT. */
const LEGACY_GOMEMLIMIT_RATIO = 0.8;

export function goMaxProcs(cpuLimitMillis: number | undefined): string {
  return String(Math.max(1, Math.ceil((cpuLimitMillis ?? 0) / 1000)));
}

/**
 * GOMAXPROCS of a container resized in place. An env var is fixed when the container starts and a
 * resize does not restart it, so the value cannot follow the CPU limit: it is the largest CPU limit
 * the container can be resized to, in whole cores, so that the Go runtime can use every core an
 * in-place scale-up gives it. Undefined (GOMAXPROCS not set) when that is unbounded: Go 1.25 and
 * later then follow the container's CPU limit by themselves, also as it changes.
 */
export function inPlaceGoMaxProcs(largestCpuLimitMillis: number | undefined): string | undefined {
  return largestCpuLimitMillis === undefined ? undefined : goMaxProcs(largestCpuLimitMillis);
}

/** Parses a GOMEMLIMIT value (bytes with an optional B, KiB, MiB, GiB or TiB suffix); undefined if it is not one. */
export function parseGoMemLimit(value: string | undefined): number | undefined {
  const match = /^\s*([0-9]+)\s*(B|KiB|MiB|GiB|TiB)?\s*$/.exec(value ?? '');
  if (!match) return undefined;
  const unit = { B: 1, KiB: 1024, MiB: MiB, GiB: 1024 * MiB, TiB: 1024 * 1024 * MiB }[match[2] ?? 'B']!;
  return Number(match[1]) * unit;
}

/** GOMEMLIMIT in real mebibytes (the original mixed megabytes with a MiB suffix). */
export function goMemLimit(memoryLimitBytes: number, ratio: number): string {
  return `${Math.floor((memoryLimitBytes * ratio) / MiB)}MiB`;
}

/** The original's value for the same limit; kept on adopted Deployments so that taking over restarts nothing. */
export function legacyGoMemLimit(memoryLimitBytes: number): string {
  return `${Math.ceil(LEGACY_GOMEMLIMIT_RATIO * Math.ceil(memoryLimitBytes / 1e6))}MiB`;
}

export interface InstanceEnv {
  partitionEnvKey: string;
  partitions: readonly number[];
  instanceId: number;
  numPartitions: number;
  numInstances: number;
  /** Share of the memory limit in GOMEMLIMIT; 0 leaves it out. */
  goMemLimitRatio: number;
  /**
   * assignment Balanced: the pods subscribe and Kafka's group assignment gives them their
   * partitions, so neither the partition list nor an instance id and count is set.
   */
  balanced?: boolean;
}

/**
 * The container's env: the template's, with the operator's variables set. GOMAXPROCS follows the
 * CPU limit in `limits` unless `goMaxProcsValue` is given (null: not set).
 */
export function renderEnv(
  templateEnv: readonly V1EnvVar[] | undefined,
  instance: InstanceEnv,
  limits: Sizing,
  currentEnv: readonly V1EnvVar[] | undefined,
  goMaxProcsValue?: string | null,
): V1EnvVar[] {
  const injected: [string, string][] = instance.balanced
    ? []
    : [[instance.partitionEnvKey, instance.partitions.join(',')]];
  const procs = goMaxProcsValue === undefined ? goMaxProcs(limits.cpuLimit) : goMaxProcsValue;
  if (procs !== null) injected.push([Env.goMaxProcs, procs]);
  if (limits.memoryLimit && instance.goMemLimitRatio > 0) {
    const current = currentEnv?.find((e) => e.name === Env.goMemLimit)?.value;
    const legacy = legacyGoMemLimit(limits.memoryLimit);
    const keepLegacy = current === legacy && instance.goMemLimitRatio === LEGACY_GOMEMLIMIT_RATIO;
    injected.push([
      Env.goMemLimit,
      keepLegacy ? legacy : goMemLimit(limits.memoryLimit, instance.goMemLimitRatio),
    ]);
  }
  if (!instance.balanced) injected.push([Env.instance, String(instance.instanceId)]);
  injected.push([Env.numPartitions, String(instance.numPartitions)]);
  if (!instance.balanced) injected.push([Env.numInstances, String(instance.numInstances)]);

  const env = (templateEnv ?? []).map((e) => ({ ...e }));
  for (const [name, value] of injected) {
    const at = env.findIndex((e) => e.name === name);
    // A plain value replaces the whole entry: keeping a template valueFrom next to it is invalid.
    if (at >= 0) env[at] = { name, value };
    else env.push({ name, value });
  }
  return env;
}
