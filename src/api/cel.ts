// The CEL rules of the Consumer schema (x-kubernetes-validations), evaluated without an API server,
// for guest mode. The language (parser, type checker, macros such as has() and all(), `in`,
// `string()`, `duration()`) is @marcbachmann/cel-js; registered here are only the Kubernetes
// extensions the rules use: quantities (`quantity()`, `isLessThan`, `isGreaterThan`, `compareTo`)
// and URLs (`isURL()`, `url()`, `getHostname`, `getPort`, read with the WHATWG URL parser).
import { createRequire } from 'node:module';
import type { Environment } from '@marcbachmann/cel-js';
import { GO_DURATION_PATTERN, parseQuantity } from '../util/units.js';

/** A Kubernetes resource.Quantity in CEL, by its value in base units. */
class Quantity {
  constructor(readonly value: number) {}
}

/** A Kubernetes CEL URL: what `url()` gives. */
class Url {
  constructor(readonly url: URL) {}
}

const parseUrl = (text: string): URL | undefined => {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
};

// The library is loaded when the first rule is compiled (guest mode reads a ConfigMap), so an
// operator that serves the CRD never holds it: the API server evaluates its rules. require() of
// the ES module is synchronous, as the checks that call it are.
const requireModule = createRequire(import.meta.url);
let environment: Environment | undefined;

function celEnvironment(): Environment {
  if (environment) return environment;
  const cel = requireModule('@marcbachmann/cel-js') as typeof import('@marcbachmann/cel-js');
  environment = new cel.Environment()
    .registerType('URL', Url)
    .registerFunction('isURL(string): bool', (text: string) => parseUrl(text) !== undefined)
    .registerFunction('url(string): URL', (text: string) => {
      const url = parseUrl(text);
      if (!url) throw new Error(`url: not a URL: ${text}`);
      return new Url(url);
    })
    .registerFunction('URL.getHostname(): string', (u: Url) => u.url.hostname.replace(/^\[(.*)\]$/, '$1'))
    .registerFunction('URL.getPort(): string', (u: Url) => u.url.port)
    .registerType('Quantity', Quantity)
    .registerVariable('self', 'dyn')
    .registerFunction('quantity(string): Quantity', (text: string) => new Quantity(parseQuantity(text)))
    .registerFunction('Quantity.isLessThan(Quantity): bool', (a: Quantity, b: Quantity) => a.value < b.value)
    .registerFunction(
      'Quantity.isGreaterThan(Quantity): bool',
      (a: Quantity, b: Quantity) => a.value > b.value,
    )
    .registerFunction('Quantity.compareTo(Quantity): int', (a: Quantity, b: Quantity) =>
      BigInt(Math.sign(a.value - b.value)),
    );
  return environment;
}

type Program = ReturnType<Environment['parse']>;
const programs = new Map<string, Program>();

/** The first line of a library error: the rest draws the rule with a caret under the fault. */
const summary = (error: unknown) => `CEL: ${String((error as Error).message).split('\n')[0]}`;

/** Compiles and type-checks a rule; throws on a syntax error or an unknown function. */
export function parseCel(rule: string): Program {
  let program = programs.get(rule);
  if (program) return program;
  try {
    program = celEnvironment().parse(rule);
  } catch (error) {
    throw new Error(summary(error));
  }
  const checked = program.check();
  if (!checked.valid) throw new Error(summary(checked.error));
  programs.set(rule, program);
  return program;
}

/**
 * The most values (objects, lists and scalars together) a rule may see. Evaluation cost grows
 * with the value (`all()` visits every entry), and the library bounds only the size of the rule.
 */
export const MAX_CEL_VALUES = 10_000;

/** The parts of a structural schema that say where a value holds Go durations. */
export interface ValueSchema {
  pattern?: string;
  properties?: Record<string, ValueSchema>;
  additionalProperties?: ValueSchema | boolean;
  items?: ValueSchema;
}

/**
 * CEL's own `duration()` cannot be replaced, and the library's reads Go durations as the API
 * server does except two spellings: "0" (Go reads zero) and the Greek-mu unit "μs" (Go reads it
 * as "µs"). A value of a duration field is respelled so that it means what Go reads.
 */
const goDurationSpelling = (text: string) => (text === '0' ? '0s' : text.replaceAll('\u03bc', '\u00b5'));

/**
 * The value as the API server hands it to CEL: null fields pruned (so has() is false for them)
 * and integers as CEL ints. Throws when the value has more than MAX_CEL_VALUES values.
 */
function toCel(value: unknown, schema: ValueSchema | undefined, budget: { left: number }): unknown {
  if (--budget.left < 0) throw new Error(`CEL: value too large (more than ${MAX_CEL_VALUES} values)`);
  if (typeof value === 'string')
    return schema?.pattern === GO_DURATION_PATTERN ? goDurationSpelling(value) : value;
  if (Number.isInteger(value)) return BigInt(value as number);
  if (Array.isArray(value)) return value.map((item) => toCel(item, schema?.items, budget));
  if (value === null || typeof value !== 'object') return value;
  const others = typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  const map = new Map<string, unknown>();
  for (const [key, item] of Object.entries(value))
    if (item !== null) map.set(key, toCel(item, schema?.properties?.[key] ?? others, budget));
  return map;
}

/**
 * Evaluates a rule with `self` bound to the value (of the given schema); a runtime error (missing
 * key, bad type, a value too large) throws.
 */
export function evaluateRule(rule: string, self: unknown, schema?: ValueSchema): boolean {
  const program = parseCel(rule);
  const input = toCel(self, schema, { left: MAX_CEL_VALUES });
  let result: unknown;
  try {
    result = program({ self: input });
  } catch (error) {
    throw new Error(summary(error));
  }
  if (typeof result !== 'boolean') throw new Error('CEL: the rule does not give a bool');
  return result;
}
