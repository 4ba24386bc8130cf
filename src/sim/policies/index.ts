// The policies the benchmark compares, in the order of the report.
import type { PolicyRef, PolicySpec } from '../policy.js';
import { balancedPolicy } from './balanced.js';
import { kedaPolicy, kedaTunedPolicy } from './keda.js';
import { oracle, oraclePolicy, oracleWithinMaxAllowed } from './oracle.js';
import { originalPolicy, originalTunedPolicy } from './original.js';
import { oursDefault, oursRollout, oursNaive, oursPolicy } from './ours.js';
import { staticPeakPolicy } from './static.js';
import { vpaPolicy, vpaTunedPolicy } from './vpa.js';

export const benchmarkPolicies: PolicySpec[] = [
  oraclePolicy,
  oursDefault,
  oursRollout,
  oursNaive,
  balancedPolicy,
  originalPolicy,
  originalTunedPolicy,
  staticPeakPolicy,
  vpaPolicy,
  vpaTunedPolicy,
  kedaPolicy,
  kedaTunedPolicy,
];

const byId = new Map(benchmarkPolicies.map((p) => [p.id, p]));

/** How another thread names `policy` (a benchmark policy by its id, else its own `ref`). */
export function policyRef(policy: PolicySpec): PolicyRef {
  if (byId.get(policy.id) === policy) return { id: policy.id };
  if (policy.ref) return policy.ref;
  throw new Error(`policy "${policy.id}" cannot be rebuilt in a worker thread: it has no ref`);
}

/** The policy a `policyRef` names. */
export function policyFromRef(ref: PolicyRef): PolicySpec {
  if ('ours' in ref) return oursPolicy(ref.ours);
  if ('oracle' in ref) return oracle(ref.oracle);
  const policy = byId.get(ref.id);
  if (!policy) throw new Error(`unknown policy "${ref.id}"`);
  return policy;
}

export {
  balancedPolicy,
  originalTunedPolicy,
  kedaPolicy,
  kedaTunedPolicy,
  oraclePolicy,
  oracleWithinMaxAllowed,
  originalPolicy,
  oursDefault,
  oursRollout,
  oursNaive,
  staticPeakPolicy,
  vpaPolicy,
  vpaTunedPolicy,
};
