// Where an instance's current size lives. An in-place resize changes the pods, not the
// Deployment's pod template (changing the template would roll the Deployment), so when the pods
// run with other resources than the template says, the Deployment carries them in the annotation
// `konsumerator.lwolf.org/resources`: the scaled container's name and its cpu/memory requests and
// limits. Without the annotation the template's resources are the current size.
import type { V1Deployment, V1ResourceRequirements } from '@kubernetes/client-node';
import { Annotation } from '../api/constants.js';
import { cpuMillis, memoryBytes, type QuantityValue } from '../util/units.js';

/** The cpu and memory requests and limits of a container, the part an in-place resize may change. */
export type CpuMemory = Pick<V1ResourceRequirements, 'requests' | 'limits'>;

const RESOURCES = ['cpu', 'memory'] as const;

/** Only cpu and memory of `resources`, with empty lists left out. */
export function cpuMemoryOf(resources: V1ResourceRequirements | undefined): CpuMemory {
  const pick = (list: Record<string, QuantityValue> | undefined) => {
    const kept: Record<string, string> = {};
    for (const r of RESOURCES) if (list?.[r] !== undefined) kept[r] = String(list[r]);
    return Object.keys(kept).length > 0 ? kept : undefined;
  };
  const requests = pick(resources?.requests as Record<string, QuantityValue> | undefined);
  const limits = pick(resources?.limits as Record<string, QuantityValue> | undefined);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

/** Amounts (millicores, bytes) of the cpu/memory requests and limits; undefined where absent. */
export function cpuMemoryAmounts(resources: V1ResourceRequirements | undefined) {
  const amount = (list: Record<string, QuantityValue> | undefined, r: 'cpu' | 'memory') => {
    const value = list?.[r];
    if (value === undefined) return undefined;
    try {
      return r === 'cpu' ? cpuMillis(value) : memoryBytes(value);
    } catch {
      return Number.NaN;
    }
  };
  const requests = resources?.requests as Record<string, QuantityValue> | undefined;
  const limits = resources?.limits as Record<string, QuantityValue> | undefined;
  return {
    cpuRequest: amount(requests, 'cpu'),
    cpuLimit: amount(limits, 'cpu'),
    memoryRequest: amount(requests, 'memory'),
    memoryLimit: amount(limits, 'memory'),
  };
}

/** The same cpu/memory requests and limits by value (`1Gi` equals `1073741824`). */
export function sameCpuMemory(
  a: V1ResourceRequirements | undefined,
  b: V1ResourceRequirements | undefined,
): boolean {
  const x = cpuMemoryAmounts(a);
  const y = cpuMemoryAmounts(b);
  return (Object.keys(x) as (keyof typeof x)[]).every((k) => x[k] === y[k]);
}

export interface ResourcesAnnotation {
  container: string;
  resources: CpuMemory;
}

/** The annotation's text: stable key order, so an unchanged size renders the same string. */
export function formatResourcesAnnotation(container: string, resources: V1ResourceRequirements): string {
  const { requests, limits } = cpuMemoryOf(resources);
  return JSON.stringify({ container, ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) });
}

/** The annotation of a Deployment, if it holds a valid one (anything else counts as absent). */
export function readResourcesAnnotation(
  deployment: V1Deployment | undefined,
): ResourcesAnnotation | undefined {
  const text = deployment?.metadata?.annotations?.[Annotation.resources];
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const { container, requests, limits } = parsed as Record<string, unknown>;
  if (typeof container !== 'string') return undefined;
  const list = (value: unknown) => {
    if (value === undefined) return undefined;
    if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
    return value as Record<string, string>;
  };
  const req = list(requests);
  const lim = list(limits);
  if (req === null || lim === null) return undefined;
  const resources = cpuMemoryOf({ ...(req ? { requests: req } : {}), ...(lim ? { limits: lim } : {}) });
  const amounts = cpuMemoryAmounts(resources);
  if (Object.values(amounts).some((v) => v !== undefined && (!Number.isFinite(v) || v < 0))) return undefined;
  return { container, resources };
}

/** The container's resources in the Deployment's pod template. */
export function templateResources(
  deployment: V1Deployment | undefined,
  container: string,
): V1ResourceRequirements | undefined {
  return deployment?.spec?.template?.spec?.containers?.find((c) => c.name === container)?.resources;
}

/**
 * The resources `container` of the instance's pods should run with: the template's, with cpu and
 * memory from the annotation when it is there for this container.
 */
export function instanceResources(
  deployment: V1Deployment | undefined,
  container: string,
): V1ResourceRequirements | undefined {
  const template = templateResources(deployment, container);
  const annotation = readResourcesAnnotation(deployment);
  if (!annotation || annotation.container !== container) return template;
  return withCpuMemory(template, annotation.resources);
}

/** `base` with its cpu and memory requests and limits replaced by those of `cpuMemory` (others kept). */
export function withCpuMemory(
  base: V1ResourceRequirements | undefined,
  cpuMemory: CpuMemory,
): V1ResourceRequirements {
  const replace = (list: Record<string, unknown> | undefined, from: Record<string, string> | undefined) => {
    const result: Record<string, string> = {};
    for (const [k, v] of Object.entries(list ?? {}))
      if (!RESOURCES.includes(k as 'cpu')) result[k] = String(v);
    for (const [k, v] of Object.entries(from ?? {})) result[k] = v;
    return Object.keys(result).length > 0 ? result : undefined;
  };
  const requests = replace(base?.requests as Record<string, unknown> | undefined, cpuMemory.requests);
  const limits = replace(base?.limits as Record<string, unknown> | undefined, cpuMemory.limits);
  const result: V1ResourceRequirements = { ...base };
  delete result.requests;
  delete result.limits;
  if (requests) result.requests = requests;
  if (limits) result.limits = limits;
  return result;
}
