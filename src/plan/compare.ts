// Drift detection: is everything the operator renders present, with the same value, in what the
// API server holds? The server adds defaults (so extra fields are fine), drops empty values
// (Go's omitempty) and canonicalises quantities, so those count as equal.
import { parseQuantity } from '../util/units.js';

const isEmptyValue = (v: unknown) =>
  v === undefined ||
  v === null ||
  v === '' ||
  v === false ||
  v === 0 ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

function sameQuantity(a: unknown, b: unknown): boolean {
  if ((typeof a !== 'string' && typeof a !== 'number') || (typeof b !== 'string' && typeof b !== 'number'))
    return false;
  try {
    return parseQuantity(a) === parseQuantity(b);
  } catch {
    return false;
  }
}

const QUANTITY_PARENTS = new Set(['requests', 'limits', 'capacity', 'allocatable']);

function mergeKey(items: unknown[]): 'name' | 'uid' | undefined {
  for (const key of ['uid', 'name'] as const) {
    if (
      items.every(
        (i) => i !== null && typeof i === 'object' && typeof (i as Record<string, unknown>)[key] === 'string',
      )
    ) {
      return key;
    }
  }
  return undefined;
}

/** Paths (dotted) where `desired` is not contained in `observed`; empty means no drift. */
export function driftPaths(desired: unknown, observed: unknown, path = ''): string[] {
  if (isEmptyValue(desired) && isEmptyValue(observed)) return [];
  if (Array.isArray(desired)) {
    if (!Array.isArray(observed)) return [path || '.'];
    const key = mergeKey(desired);
    if (key) {
      // Keyed lists (containers, env, owner references) merge under server-side apply: items
      // other managers added are theirs, so only the rendered items are compared.
      return desired.flatMap((item: Record<string, unknown>) => {
        const match = observed.find(
          (o: unknown) => (o as Record<string, unknown> | null)?.[key] === item[key],
        );
        return driftPaths(item, match, `${path}[${key}=${String(item[key])}]`);
      });
    }
    if (observed.length !== desired.length) return [path || '.'];
    return desired.flatMap((item, i) => driftPaths(item, observed[i], `${path}[${i}]`));
  }
  if (desired !== null && typeof desired === 'object') {
    if (observed === null || typeof observed !== 'object' || Array.isArray(observed)) return [path || '.'];
    return Object.entries(desired as Record<string, unknown>).flatMap(([key, value]) =>
      driftPaths(value, (observed as Record<string, unknown>)[key], path ? `${path}.${key}` : key),
    );
  }
  if (desired === observed) return [];
  const parent = path.split('.').at(-2) ?? '';
  if (QUANTITY_PARENTS.has(parent) && sameQuantity(desired, observed)) return [];
  return [path];
}
