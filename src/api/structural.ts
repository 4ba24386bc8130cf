// Checks a value against a structural OpenAPI v3 schema the way the API server checks a custom
// resource (types, required fields, enums, bounds, patterns, unknown fields, and the CEL rules
// of x-kubernetes-validations), for Consumers that do not pass through the API server: guest
// mode reads them from ConfigMaps. The schema is the one the CRD is generated from (schema.ts),
// so both modes accept and refuse the same specs.
import type { SpecProblem } from './validate.js';
import { evaluateRule } from './cel.js';

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  anyOf?: Schema[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  nullable?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string; message: string; fieldPath?: string }[];
}

/** At most this many problems are reported: the first ones are what the user fixes first. */
const MAX_PROBLEMS = 20;

const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;

const patterns = new Map<string, RegExp>();
function regex(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (!re) patterns.set(pattern, (re = new RegExp(pattern, 'u')));
  return re;
}

const typeOf = (value: unknown) =>
  Array.isArray(value)
    ? 'array'
    : value === null
      ? 'null'
      : Number.isInteger(value)
        ? 'integer'
        : typeof value;

function typeMatches(type: string, value: unknown): boolean {
  const actual = typeOf(value);
  if (type === 'number') return actual === 'number' || actual === 'integer';
  return actual === type;
}

/**
 * Problems of `value` against `schema`, each naming the field (`spec.a.b[2].c`). Null values of
 * non-nullable fields are treated as absent, as the API server prunes them.
 */
export function checkStructural(schema: unknown, value: unknown, path: string): SpecProblem[] {
  const problems: SpecProblem[] = [];
  check(schema as Schema, value, path, problems);
  return problems.slice(0, MAX_PROBLEMS);
}

function check(schema: Schema, value: unknown, path: string, out: SpecProblem[]): void {
  if (out.length >= MAX_PROBLEMS) return;
  const before = out.length;
  checkShape(schema, value, path, out);
  // As the API server: CEL rules see only values that passed the structural checks.
  if (out.length > before) return;
  for (const { rule, message, fieldPath } of schema['x-kubernetes-validations'] ?? []) {
    let ok: boolean;
    try {
      ok = evaluateRule(rule, value, schema);
    } catch (error) {
      out.push({ field: path, message: `${message} (rule ${rule} failed: ${(error as Error).message})` });
      continue;
    }
    if (!ok) out.push({ field: `${path}${fieldPath ?? ''}`, message });
  }
}

function checkShape(schema: Schema, value: unknown, path: string, out: SpecProblem[]): void {
  const fail = (message: string) => out.push({ field: path, message });
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value === 'string') checkString(schema, value, fail);
    else if (!Number.isInteger(value)) fail(`must be an integer or a string, got ${typeOf(value)}`);
    return;
  }
  if (schema.type && !typeMatches(schema.type, value)) {
    fail(
      `must be ${schema.type === 'integer' || schema.type === 'array' ? 'an' : 'a'} ${schema.type}, got ${typeOf(value)}`,
    );
    return;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    fail(
      `must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  if (typeof value === 'string') checkString(schema, value, fail);
  else if (typeof value === 'number') checkNumber(schema, value, fail);
  else if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      fail(`must have at least ${schema.minItems} item(s)`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      fail(`must have at most ${schema.maxItems} item(s), got ${value.length}`);
    if (schema.items) value.forEach((item, i) => check(schema.items!, item, `${path}[${i}]`, out));
    checkUnique(schema, value, path, out);
  } else if (value !== null && typeof value === 'object') {
    checkObject(schema, value as Record<string, unknown>, path, out);
  }
}

function checkString(schema: Schema, value: string, fail: (m: string) => void): void {
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength)
    fail(schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters`);
  if (schema.maxLength !== undefined && length > schema.maxLength)
    fail(`must be at most ${schema.maxLength} characters, got ${length}`);
  if (schema.pattern !== undefined && !regex(schema.pattern).test(value))
    fail(`must match ${schema.pattern}, got ${JSON.stringify(value.slice(0, 100))}`);
}

function checkNumber(schema: Schema, value: number, fail: (m: string) => void): void {
  if (!Number.isFinite(value)) return fail('must be a finite number');
  if (schema.minimum !== undefined && value < schema.minimum)
    fail(`must be at least ${schema.minimum}, got ${value}`);
  if (schema.maximum !== undefined && value > schema.maximum)
    fail(`must be at most ${schema.maximum}, got ${value}`);
  if (schema.format === 'int32' && (value < INT32[0] || value > INT32[1])) fail('must fit in 32 bits');
  if (schema.format === 'int64' && !Number.isSafeInteger(value)) fail('is too large');
}

function checkObject(schema: Schema, value: Record<string, unknown>, path: string, out: SpecProblem[]): void {
  const present = (key: string) =>
    value[key] !== undefined && (value[key] !== null || schema.properties?.[key]?.nullable);
  for (const key of schema.required ?? []) {
    if (!present(key)) out.push({ field: `${path}.${key}`, message: 'is required' });
  }
  const keys = Object.keys(value).filter(present);
  if (schema.maxProperties !== undefined && keys.length > schema.maxProperties)
    out.push({
      field: path,
      message: `must have at most ${schema.maxProperties} entries, got ${keys.length}`,
    });
  for (const key of keys) {
    const field = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
    const known = schema.properties?.[key];
    if (known) check(known, value[key], field, out);
    else if (typeof schema.additionalProperties === 'object')
      check(schema.additionalProperties, value[key], field, out);
    else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true)
      // kubectl's default (strict field validation) refuses unknown fields rather than dropping them.
      out.push({ field, message: 'is not a known field' });
  }
}

/** Lists of type map (unique by their keys) and set (unique values), as the API server checks. */
function checkUnique(schema: Schema, list: unknown[], path: string, out: SpecProblem[]): void {
  const type = schema['x-kubernetes-list-type'];
  if (type !== 'map' && type !== 'set') return;
  const keys = schema['x-kubernetes-list-map-keys'] ?? [];
  const identity = (item: unknown) =>
    JSON.stringify(
      type === 'set' ? item : keys.map((k) => (item as Record<string, unknown> | null)?.[k] ?? null),
    );
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const id = identity(item);
    if (seen.has(id)) out.push({ field: `${path}[${i}]`, message: `duplicate entry ${id}` });
    seen.add(id);
  });
}
