// A Consumer read from a YAML file for `konsumerator simulate`: a whole Consumer object (or just
// its spec). It is checked first as the API server checks it (the CRD's schema and CEL rules, the
// same checker as guest mode, the same messages), then for what a simulation needs (an
// autoscaling mode, the scaled container's policy). Every problem names its field.
import { parse as parseYaml } from 'yaml';
import type { ConsumerSpec } from '../api/schema.js';
import { checkConsumerSpec } from '../api/check-spec.js';
import { cpuMillis, memoryBytes, parseDuration } from '../util/units.js';
import { predictors } from '../autoscale/predictor.js';
import { MIN_RATE_PER_CORE } from '../metrics/sources/estimation.js';

export class ConsumerFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsumerFileError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseConsumerYaml(text: string, file = 'the Consumer file'): ConsumerSpec {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConsumerFileError(`${file} is not valid YAML: ${(error as Error).message}`);
  }
  if (!isObject(document))
    throw new ConsumerFileError(`${file} must hold a Consumer (kind: Consumer) or its spec`);
  if (document.kind !== undefined && document.kind !== 'Consumer')
    throw new ConsumerFileError(`${file} holds a ${String(document.kind)}, not a Consumer`);
  const spec = (isObject(document.spec) ? document.spec : document) as Record<string, unknown>;
  const refused = checkConsumerSpec(spec).map((p) => `${p.field}: ${p.message}`);
  const problems = refused.length > 0 ? refused : checkSpec(spec);
  if (problems.length > 0)
    throw new ConsumerFileError(
      `${file}: ${problems.length === 1 ? problems[0] : '\n  ' + problems.join('\n  ')}`,
    );
  return spec as unknown as ConsumerSpec;
}

function checkSpec(spec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const check = (field: string, value: unknown, test: (v: unknown) => void) => {
    try {
      test(value);
    } catch (error) {
      problems.push(`spec.${field}: ${(error as Error).message}`);
    }
  };
  const positiveInt = (v: unknown) => {
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new Error(`must be a positive integer, got ${JSON.stringify(v)}`);
  };
  check('numPartitions', spec.numPartitions, positiveInt);
  if (spec.numPartitionsPerInstance !== undefined)
    check('numPartitionsPerInstance', spec.numPartitionsPerInstance, (v) => {
      if (!Number.isInteger(v) || (v as number) < 0)
        throw new Error(`must be an integer ≥ 0, got ${JSON.stringify(v)}`);
    });
  if (spec.assignment === 'Balanced')
    problems.push(
      'spec.assignment: Balanced is not simulated from the file (its replica count is not modelled); simulate the Consumer as Partitioned and add --compare balanced (one replica per 4 partitions)',
    );
  const autoscaler = spec.autoscaler;
  if (!isObject(autoscaler)) {
    problems.push('spec.autoscaler: is required');
    return problems;
  }
  const mode = autoscaler.mode;
  if (mode !== 'prometheus' && mode !== 'kafka' && mode !== 'static') {
    problems.push(
      `spec.autoscaler.mode: must be prometheus, kafka or static to autoscale (got ${JSON.stringify(mode)}); with "none" there is nothing to simulate`,
    );
    return problems;
  }
  const section = autoscaler[mode];
  if (!isObject(section)) {
    problems.push(`spec.autoscaler.${mode}: mode ${mode} requires the ${mode} section`);
    return problems;
  }
  const duration = (v: unknown) => {
    if (typeof v !== 'string')
      throw new Error(`must be a duration string such as "5m", got ${JSON.stringify(v)}`);
    parseDuration(v);
  };
  const optional = (field: string, value: unknown, test: (v: unknown) => void) => {
    if (value !== undefined) check(field, value, test);
  };
  const quantity = (parse: (v: string | number) => number) => (v: unknown) => {
    if (typeof v !== 'string' && typeof v !== 'number')
      throw new Error(`must be a quantity, got ${JSON.stringify(v)}`);
    if (!(parse(v) > 0)) throw new Error('must be greater than zero');
  };
  const at = `autoscaler.${mode}`;
  for (const key of ['minSyncPeriod', 'tolerableLag', 'criticalLag', 'recoveryTime'])
    check(`${at}.${key}`, section[key], duration);
  if (
    typeof section.recoveryTime === 'string' &&
    problems.length === 0 &&
    parseDuration(section.recoveryTime) <= 0
  )
    problems.push(`spec.${at}.recoveryTime: must be greater than zero`);
  check(`${at}.ratePerCore`, section.ratePerCore, (v) => {
    if (typeof v !== 'number' || !(v >= MIN_RATE_PER_CORE))
      throw new Error(`must be a number ≥ ${MIN_RATE_PER_CORE}, got ${JSON.stringify(v)}`);
  });
  check(`${at}.ramPerCore`, section.ramPerCore, quantity(memoryBytes));
  optional(`${at}.cpuIncrement`, section.cpuIncrement, quantity(cpuMillis));
  optional('autoscaler.pendingScaleUpDuration', autoscaler.pendingScaleUpDuration, duration);
  optional('autoscaler.pendingScaleDownDuration', autoscaler.pendingScaleDownDuration, duration);
  optional('autoscaler.scaleDownAfterLagFreeSyncs', autoscaler.scaleDownAfterLagFreeSyncs, positiveInt);
  optional('autoscaler.predictor', autoscaler.predictor, (v) => {
    if (typeof v !== 'string' || !(v in predictors))
      throw new Error(`must be one of ${Object.keys(predictors).join(', ')}, got ${JSON.stringify(v)}`);
  });
  const template = spec.deploymentTemplate as { template?: { spec?: { containers?: unknown } } } | undefined;
  const containers = template?.template?.spec?.containers;
  if (
    !Array.isArray(containers) ||
    containers.length === 0 ||
    !containers.every((c) => isObject(c) && typeof c.name === 'string')
  )
    problems.push('spec.deploymentTemplate.template.spec.containers: must list at least one named container');
  const policies = (spec.resourcePolicy as { containerPolicies?: unknown } | undefined)?.containerPolicies;
  if (!Array.isArray(policies)) {
    problems.push('spec.resourcePolicy.containerPolicies: must list the policy of the scaled container');
  } else {
    policies.forEach((p, i) => {
      if (!isObject(p) || typeof p.containerName !== 'string') {
        problems.push(`spec.resourcePolicy.containerPolicies[${i}].containerName: is required`);
        return;
      }
      for (const side of ['minAllowed', 'maxAllowed'] as const) {
        const bounds = p[side];
        if (bounds === undefined) continue;
        if (!isObject(bounds)) {
          problems.push(`spec.resourcePolicy.containerPolicies[${i}].${side}: must be a map of cpu/memory`);
          continue;
        }
        optional(`resourcePolicy.containerPolicies[${i}].${side}.cpu`, bounds.cpu, quantity(cpuMillis));
        optional(
          `resourcePolicy.containerPolicies[${i}].${side}.memory`,
          bounds.memory,
          quantity(memoryBytes),
        );
      }
    });
  }
  return problems;
}
