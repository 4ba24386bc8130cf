// The policies the benchmark compares, in the order of the report.
import type { PolicySpec } from '../policy.js';
import { kedaPolicy } from './keda.js';
import { oraclePolicy } from './oracle.js';
import { originalPolicy, originalTunedPolicy } from './original.js';
import { oursDefault, oursInPlace, oursNaive } from './ours.js';
import { staticPeakPolicy } from './static.js';
import { vpaPolicy } from './vpa.js';

export const benchmarkPolicies: PolicySpec[] = [
  oraclePolicy,
  oursDefault,
  oursInPlace,
  oursNaive,
  originalPolicy,
  originalTunedPolicy,
  staticPeakPolicy,
  vpaPolicy,
  kedaPolicy,
];

export {
  originalTunedPolicy,
  kedaPolicy,
  oraclePolicy,
  originalPolicy,
  oursDefault,
  oursInPlace,
  oursNaive,
  staticPeakPolicy,
  vpaPolicy,
};
