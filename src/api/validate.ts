// Checks the API server's schema cannot express. Each problem names the field, so the message on
// the Consumer's status tells the user exactly what to fix.
import type { Consumer } from './schema.js';

export interface SpecProblem {
  field: string;
  message: string;
}

const MAX_DEPLOYMENT_NAME = 253;

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
  const matchLabels = spec.deploymentTemplate?.selector?.matchLabels ?? {};
  const podLabels = template?.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(matchLabels)) {
    if (podLabels[key] !== value) {
      problems.push({
        field: 'spec.deploymentTemplate.selector.matchLabels',
        message: `selects ${key}=${value}, which the pod template labels do not carry`,
      });
    }
  }
  const longestName = `${spec.name}-${Math.max(0, spec.numPartitions - 1)}`;
  if (longestName.length > MAX_DEPLOYMENT_NAME) {
    problems.push({
      field: 'spec.name',
      message: `makes Deployment names longer than ${MAX_DEPLOYMENT_NAME} characters`,
    });
  }
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
  const autoscales = ['prometheus', 'kafka', 'static'].includes(spec.autoscaler?.mode ?? '');
  const policies = spec.resourcePolicy?.containerPolicies ?? [];
  const anyAuto = [...names].some((n) => {
    const policy =
      policies.find((p) => p.containerName === n) ?? policies.find((p) => p.containerName === '*');
    return policy !== undefined && policy.mode !== 'Off';
  });
  if (autoscales && !anyAuto) {
    warnings.push({
      field: 'spec.resourcePolicy.containerPolicies',
      message: 'no container has a policy with mode Auto (its own or "*"), so metrics change nothing',
    });
  }
  return { errors: problems, warnings };
}

export const describeProblems = (problems: readonly SpecProblem[]) =>
  problems.map((p) => `${p.field}: ${p.message}`).join('; ');
