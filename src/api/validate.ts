// Checks the API server's schema cannot express. Each problem names the field, so the message on
// the Consumer's status tells the user exactly what to fix.
import type { V1LabelSelector } from '@kubernetes/client-node';
import { isMetricsMode, metricsSource } from '../metrics/sources/index.js';
import type { Consumer } from './schema.js';
import { Env } from './constants.js';
import { CRD_APPLY_COMMAND } from './crd.js';
import { CONFIGMAP_KIND } from './guest.js';
import {
  instanceCount,
  isAutoPolicy,
  podsPerInstance,
  policyFor,
  resolveSpec,
  scaledContainer,
} from './resolve.js';
import { cpuMillis, memoryBytes } from '../util/units.js';

export interface SpecProblem {
  field: string;
  message: string;
}

// A Deployment's ReplicaSets are named <deployment>-<pod-template-hash> (up to 10 characters),
// and their names are DNS subdomains too: a longer Deployment name is accepted, but its pods
// never appear.
const MAX_DEPLOYMENT_NAME = 253 - 11;

export interface Validation {
  /** Problems that stop the Consumer from being reconciled. */
  errors: SpecProblem[];
  /** Suspicious but harmless settings, reported as events. */
  warnings: SpecProblem[];
}

export function validateConsumer(consumer: Consumer): Validation {
  const problems: SpecProblem[] = [];
  const warnings: SpecProblem[] = [];
  const spec = consumer.spec;
  if (!spec) return { errors: [{ field: 'spec', message: 'is required' }], warnings };
  if (spec.namespace !== consumer.metadata.namespace) {
    problems.push({
      field: 'spec.namespace',
      message: `must be the Consumer's own namespace "${consumer.metadata.namespace}" (owner references cannot cross namespaces), got "${spec.namespace}"`,
    });
  }
  const template = spec.deploymentTemplate?.template;
  const containers = template?.spec?.containers ?? [];
  if (containers.length === 0) {
    problems.push({
      field: 'spec.deploymentTemplate.template.spec.containers',
      message: 'must list at least one container',
    });
  }
  const selectorMismatch = selectorProblems(
    spec.deploymentTemplate?.selector,
    template?.metadata?.labels ?? {},
  );
  problems.push(...selectorMismatch);
  const unmatched = selectorMismatch.some((p) => p.field !== 'spec.deploymentTemplate.selector');
  const isResource = consumer.kind !== CONFIGMAP_KIND;
  if (isResource && unmatched && Object.keys(template?.metadata ?? {}).length === 0) {
    // What a Consumer resource keeps of its pod template metadata once stored under the
    // original's CRD (guest mode's ConfigMaps have no CRD).
    problems.push({
      field: 'spec.deploymentTemplate.template.metadata',
      message: `is empty, as the original operator's CRD leaves it: its schema prunes the pod template's labels and annotations from every Consumer stored under it; apply this version's CRD (${CRD_APPLY_COMMAND}), then apply this Consumer again`,
    });
  }
  const resolved = resolveSpec(spec);
  const instances = instanceCount(resolved.numPartitions, resolved.partitionsPerInstance);
  const longestName = `${spec.name}-${Math.max(0, instances - 1)}`;
  if (longestName.length > MAX_DEPLOYMENT_NAME) {
    problems.push({
      field: 'spec.name',
      message: `makes Deployment names longer than ${MAX_DEPLOYMENT_NAME} characters (${longestName.length}), too long for their ReplicaSets`,
    });
  }
  if ((spec.numPartitionsPerInstance ?? 0) > spec.numPartitions) {
    warnings.push({
      field: 'spec.numPartitionsPerInstance',
      message: `is ${spec.numPartitionsPerInstance}, more than numPartitions (${spec.numPartitions}): one instance consumes every partition`,
    });
  }
  const injected = new Set([
    ...(resolved.balanced ? [] : [resolved.partitionEnvKey, Env.instance, Env.numInstances]),
    Env.numPartitions,
    Env.goMaxProcs,
    Env.goMemLimit,
  ]);
  for (const container of containers) {
    const overridden = (container.env ?? []).map((e) => e.name).filter((n) => injected.has(n));
    if (overridden.length > 0) {
      warnings.push({
        field: `spec.deploymentTemplate.template.spec.containers[${container.name}].env`,
        message: `sets ${overridden.join(', ')}, which the operator sets itself: the template's value is replaced`,
      });
    }
  }
  warnings.push(...budgetWarnings(consumer, instances));
  const names = new Set(containers.map((c) => c.name));
  for (const policy of spec.resourcePolicy?.containerPolicies ?? []) {
    if (policy.containerName !== '*' && !names.has(policy.containerName)) {
      warnings.push({
        field: 'spec.resourcePolicy.containerPolicies',
        message: `names container "${policy.containerName}", which the pod template does not have`,
      });
    }
  }
  const scaled = spec.autoscaler?.container;
  if (scaled && !names.has(scaled)) {
    problems.push({
      field: 'spec.autoscaler.container',
      message: `names container "${scaled}", which the pod template does not have`,
    });
  }
  const source = sourceChecks(consumer);
  problems.push(...source.errors);
  warnings.push(...source.warnings);
  const autoscales = isMetricsMode(spec.autoscaler?.mode);
  const policies = spec.resourcePolicy?.containerPolicies ?? [];
  const anyAuto = [...names].some((n) => isAutoPolicy(policyFor(policies, n)));
  if (autoscales && !anyAuto) {
    warnings.push({
      field: 'spec.resourcePolicy.containerPolicies',
      message: 'no container has a policy with mode Auto (its own or "*"), so metrics change nothing',
    });
  }
  return { errors: problems, warnings };
}

/** What the metrics source checks in its own section beyond the schema. */
function sourceChecks(consumer: Consumer): Validation {
  const autoscaler = consumer.spec.autoscaler;
  const mode = autoscaler?.mode;
  const section = isMetricsMode(mode) ? autoscaler[mode] : undefined;
  if (!isMetricsMode(mode) || !section) return { errors: [], warnings: [] };
  const checked = metricsSource(mode).check?.(section) ?? {};
  const inSpec = (p: SpecProblem) => ({ field: `spec.autoscaler.${mode}.${p.field}`, message: p.message });
  return { errors: (checked.errors ?? []).map(inSpec), warnings: (checked.warnings ?? []).map(inSpec) };
}

/** The selector of every instance Deployment: the API server refuses one that is empty or misses the pod labels. */
function selectorProblems(
  selector: V1LabelSelector | undefined,
  podLabels: Record<string, string>,
): SpecProblem[] {
  const field = 'spec.deploymentTemplate.selector';
  const matchLabels = selector?.matchLabels ?? {};
  const expressions = selector?.matchExpressions ?? [];
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0)
    return [{ field, message: 'is empty: a Deployment needs a selector that matches its pod labels' }];
  const problems: SpecProblem[] = [];
  for (const [key, value] of Object.entries(matchLabels)) {
    if (podLabels[key] !== value) {
      problems.push({
        field: `${field}.matchLabels`,
        message: `selects ${key}=${value}, which the pod template labels do not carry`,
      });
    }
  }
  for (const [i, { key, operator, values = [] }] of expressions.entries()) {
    const has = key in podLabels;
    const matches =
      operator === 'In'
        ? has && values.includes(podLabels[key]!)
        : operator === 'NotIn'
          ? !has || !values.includes(podLabels[key]!)
          : operator === 'Exists'
            ? has
            : operator === 'DoesNotExist'
              ? !has
              : false;
    if (!matches) {
      problems.push({
        field: `${field}.matchExpressions[${i}]`,
        message: `(${key} ${operator} ${JSON.stringify(values)}) does not match the pod template labels`,
      });
    }
  }
  return problems;
}

/** A global budget below the sum of the minimums of every pod of every instance cannot be kept: say so. */
function budgetWarnings(consumer: Consumer, instances: number): SpecProblem[] {
  const spec = consumer.spec;
  const pods = podsPerInstance(spec);
  const counted = `${instances} instance(s)${pods > 1 ? ` × ${pods} pod(s)` : ''}`;
  const budget = spec.resourcePolicy?.globalPolicy?.maxAllowed;
  if (!budget || !isMetricsMode(spec.autoscaler?.mode)) return [];
  const container = scaledContainer(spec);
  const policy = container ? policyFor(spec.resourcePolicy?.containerPolicies ?? [], container) : undefined;
  const warnings: SpecProblem[] = [];
  for (const [key, parse] of [
    ['cpu', cpuMillis],
    ['memory', memoryBytes],
  ] as const) {
    const cap = budget[key];
    const minimum = policy?.minAllowed?.[key];
    if (cap === undefined || minimum === undefined) continue;
    if (parse(minimum) * instances * pods > parse(cap)) {
      warnings.push({
        field: `spec.resourcePolicy.globalPolicy.maxAllowed.${key}`,
        message: `is ${cap}, below ${counted} × minAllowed.${key} ${minimum} of container ${container}: the instances stay at their minimum, above the budget`,
      });
    }
  }
  return warnings;
}

export const describeProblems = (problems: readonly SpecProblem[]) =>
  problems.map((p) => `${p.field}: ${p.message}`).join('; ');
