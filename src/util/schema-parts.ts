// Building blocks of the Consumer schema in the forms a CRD accepts: shared by schema.ts and by
// the sections the metrics sources contribute (src/metrics/sources/). Pure TypeBox, no I/O.
import { Type, type Static, type TSchema, type TProperties, type ObjectOptions } from '@sinclair/typebox';
import { GO_DURATION_PATTERN, QUANTITY_PATTERN } from './units.js';

/** A CEL validation rule (`x-kubernetes-validations`). */
export type Rule = { rule: string; message: string; fieldPath?: string; reason?: string };
export const rules = (...list: Rule[]) => ({ 'x-kubernetes-validations': list });
export const object = <T extends TProperties>(
  properties: T,
  options: ObjectOptions & Record<string, unknown> = {},
) => Type.Object(properties, options);

/**
 * A string enum in the form a CRD accepts (`type` + `enum`; TypeBox's union of literals becomes
 * `anyOf`/`const`, which a structural schema may not use).
 */
export const StringEnum = <const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

/**
 * A map with string keys in the form a CRD accepts (`additionalProperties`; TypeBox's Record
 * becomes `patternProperties`, which a structural schema may not use).
 */
export const StringMap = <T extends TSchema>(value: T, options: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: value, ...options });

// The CEL rule makes the API server parse the value: a duration beyond Go's time.Duration
// (about 2562047h) matches the pattern but is refused instead of overflowing in the operator.
const withinRange: Rule = {
  rule: "duration(self) <= duration('8760h')",
  message: 'must be at most 8760h (one year)',
};
export const Duration = (description: string, extra: { rules?: Rule[] } = {}) =>
  Type.String({
    description,
    pattern: GO_DURATION_PATTERN,
    maxLength: 64,
    ...rules(withinRange, ...(extra.rules ?? [])),
  });

export const positiveDuration = (description: string) =>
  Duration(description, {
    rules: [{ rule: "duration(self) > duration('0s')", message: 'must be a positive duration' }],
  });

/** At least one second: the predictor works in whole seconds of lag and recovery. */
export const wholeSecondsDuration = (description: string) =>
  Duration(description, {
    rules: [{ rule: "duration(self) >= duration('1s')", message: 'must be at least 1s' }],
  });

export const Quantity = Type.Union([Type.Integer(), Type.String()], {
  'x-kubernetes-int-or-string': true,
  pattern: QUANTITY_PATTERN,
  // Bounds the cost the API server estimates for the CEL rules that parse quantities.
  maxLength: 64,
});
export type Quantity = Static<typeof Quantity>;

/** CEL: the quantity value of `expr` (an int-or-string). */
export const q = (expr: string) => `quantity(string(${expr}))`;
