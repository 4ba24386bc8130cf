// Limits a Consumer's author cannot exceed, set by the operator's administrator: instances per
// Consumer and Consumers per namespace. A Consumer over a limit is reported (condition and event)
// and not reconciled at all while it is over: nothing of it is created, changed or deleted (its
// existing instance Deployments keep running as they are), and the others are not affected.
// Pure: the Consumer and its namespace's Consumers in, the refusal out.
import { instanceCount, resolveSpec } from '../api/resolve.js';
import type { Consumer } from '../api/schema.js';

export { DEFAULT_TENANT_LIMITS } from './tenant-defaults.js';

export interface TenantLimits {
  /** Instances (Deployments) one Consumer may ask for. */
  maxInstancesPerConsumer: number;
  /** Consumers reconciled per namespace; the oldest are, the others wait. */
  maxConsumersPerNamespace: number;
}

export interface LimitRefusal {
  reason: 'InstanceLimitExceeded' | 'ConsumerLimitExceeded';
  message: string;
}

const UNTOUCHED =
  'nothing of it is created, changed or deleted until then (instance Deployments it has keep running as they are)';

const createdAt = (c: Consumer): number => {
  const t = c.metadata.creationTimestamp;
  const ms = t === undefined ? NaN : new Date(t).getTime();
  return Number.isFinite(ms) ? ms : Number.POSITIVE_INFINITY;
};

/** Oldest first; same second: by name (creation times have whole seconds). */
const byAge = (a: Consumer, b: Consumer) =>
  createdAt(a) - createdAt(b) || a.metadata.name.localeCompare(b.metadata.name);

/**
 * Why `consumer` may not be reconciled, if it may not: it asks for more instances than a Consumer
 * may have, or it is not among the namespace's oldest `maxConsumersPerNamespace` Consumers
 * (`inNamespace`: every Consumer of its namespace, itself included).
 */
export function checkTenantLimits(
  consumer: Consumer,
  inNamespace: readonly Consumer[],
  limits: TenantLimits,
): LimitRefusal | undefined {
  const live = inNamespace.filter((c) => !c.metadata.deletionTimestamp);
  if (live.length > limits.maxConsumersPerNamespace) {
    const rank = [...live].sort(byAge).findIndex((c) => c.metadata.uid === consumer.metadata.uid);
    if (rank >= limits.maxConsumersPerNamespace) {
      return {
        reason: 'ConsumerLimitExceeded',
        message:
          `namespace ${consumer.metadata.namespace} has ${live.length} Consumers; the operator reconciles the ` +
          `${limits.maxConsumersPerNamespace} oldest (--max-consumers-per-namespace) and this is not one of them: ${UNTOUCHED}`,
      };
    }
  }
  const spec = consumer.spec;
  const perInstance = resolveSpec(spec).partitionsPerInstance;
  const instances = instanceCount(spec.numPartitions, perInstance);
  if (instances > limits.maxInstancesPerConsumer) {
    return {
      reason: 'InstanceLimitExceeded',
      message:
        `the spec asks for ${instances} instances (numPartitions ${spec.numPartitions}, ` +
        `${perInstance} per instance); the operator allows at most ` +
        `${limits.maxInstancesPerConsumer} per Consumer (--max-instances-per-consumer): ${UNTOUCHED}, ` +
        'or until the limit is raised',
    };
  }
  return undefined;
}
