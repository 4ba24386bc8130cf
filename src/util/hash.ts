// Canonical JSON and a stable hash of any value: equal values always give equal text and hash
// (the generation and render-hash annotations, keys that tell whether settings changed).
import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so that equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** A stable decimal hash (63 bits of SHA-256), the same shape as the original's generation annotation. */
export function stableHash(value: unknown): string {
  const digest = createHash('sha256').update(canonicalJson(value)).digest();
  return (digest.readBigUInt64BE(0) & 0x7fffffffffffffffn).toString(10);
}
