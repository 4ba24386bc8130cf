// A pod's QoS class, computed as the API server computes it (ComputePodQOS in Kubernetes'
// pkg/apis/core/helper/qos): an in-place resize may not change it.
import type { V1Container, V1ResourceRequirements } from '@kubernetes/client-node';
import { cpuMillis, memoryBytes, type QuantityValue } from '../util/units.js';

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

const RESOURCES = ['cpu', 'memory'] as const;

const amount = (resource: 'cpu' | 'memory', value: QuantityValue) =>
  resource === 'cpu' ? cpuMillis(value) : memoryBytes(value);

/**
 * The class of a pod whose containers (regular and init, sidecars included) have these resources:
 * BestEffort without any cpu/memory request or limit; Guaranteed when every container has cpu and
 * memory limits and the summed requests equal the summed limits, resource by resource; else
 * Burstable. Only positive amounts count; a limit without a request counts as both (the API
 * server defaults the request to the limit).
 */
export function qosClass(containers: readonly Pick<V1Container, 'resources'>[]): QosClass {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let guaranteed = true;
  const add = (sums: Map<string, number>, resource: string, value: number) =>
    sums.set(resource, (sums.get(resource) ?? 0) + value);
  for (const container of containers) {
    const resources: V1ResourceRequirements = container.resources ?? {};
    const limitList = (resources.limits ?? {}) as Record<string, QuantityValue>;
    const requestList = (resources.requests ?? {}) as Record<string, QuantityValue>;
    const limitsFound = new Set<string>();
    for (const resource of RESOURCES) {
      const request = requestList[resource] ?? limitList[resource];
      if (request !== undefined && amount(resource, request) > 0)
        add(requests, resource, amount(resource, request));
      const limit = limitList[resource];
      if (limit !== undefined && amount(resource, limit) > 0) {
        limitsFound.add(resource);
        add(limits, resource, amount(resource, limit));
      }
    }
    if (!RESOURCES.every((r) => limitsFound.has(r))) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [resource, request] of requests) {
      if (limits.get(resource) !== request) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}
