// A Consumer spec checked as the API server checks it under this version's CRD: types, required
// fields, bounds, unknown fields and the CEL rules (x-kubernetes-validations), with the same
// messages. For specs that do not pass through the API server: guest mode's ConfigMaps and the
// Consumer files of `konsumerator simulate`.
import { ConsumerSpec } from './schema.js';
import { checkStructural } from './structural.js';
import type { SpecProblem } from './validate.js';

const specSchema = JSON.parse(JSON.stringify(ConsumerSpec)) as unknown;

/** Problems of a spec (each field named from `spec.`); empty when the API server would accept it. */
export function checkConsumerSpec(spec: unknown): SpecProblem[] {
  return checkStructural(specSchema, spec, 'spec');
}
