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
}

export function renderEnv(
  templateEnv: readonly V1EnvVar[] | undefined,
  instance: InstanceEnv,
  limits: Sizing,
  currentEnv: readonly V1EnvVar[] | undefined,
): V1EnvVar[] {
  const injected: [string, string][] = [[instance.partitionEnvKey, instance.partitions.join(',')]];
  injected.push([Env.goMaxProcs, goMaxProcs(limits.cpuLimit)]);
  if (limits.memoryLimit && instance.goMemLimitRatio > 0) {
    const current = currentEnv?.find((e) => e.name === Env.goMemLimit)?.value;
    const legacy = legacyGoMemLimit(limits.memoryLimit);
    const keepLegacy = current === legacy && instance.goMemLimitRatio === LEGACY_GOMEMLIMIT_RATIO;
    injected.push([
      Env.goMemLimit,
      keepLegacy ? legacy : goMemLimit(limits.memoryLimit, instance.goMemLimitRatio),
    ]);
  }
  injected.push([Env.instance, String(instance.instanceId)]);
  injected.push([Env.numPartitions, String(instance.numPartitions)]);
  injected.push([Env.numInstances, String(instance.numInstances)]);

  const env = (templateEnv ?? []).map((e) => ({ ...e }));
  for (const [name, value] of injected) {
    const at = env.findIndex((e) => e.name === name);
    // A plain value replaces the whole entry: keeping a template valueFrom next to it is invalid.
    if (at >= 0) env[at] = { name, value };
    else env.push({ name, value });
  }
  return env;
}
