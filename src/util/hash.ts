// Canonical JSON and a stable hash of any value: equal values always give equal text and hash
// (the generation and render-hash annotations, keys that tell whether settings changed).
import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted, so that equal values always give equal text. The same text as
 * JSON.stringify with a key-sorting replacer (what it replaced: the render-hash annotations it
 * feeds are stored on every Deployment), written out by hand because that replacer copied every
 * object and was a third of a 1,000-instance reconcile.
 */
export function canonicalJson(value: unknown): string {
  return canonical(value) as string;
}

const isArrayIndex = (key: string) => /^(?:0|[1-9][0-9]*)$/.test(key) && Number(key) < 2 ** 32 - 1;

/**
 * Keys in the order the former replacer's rebuilt object gave them: array-index keys ("2", "10")
 * first in numeric order (JavaScript objects always list them so), then the others sorted.
 */
function sortedKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record); // array-index keys come first here already, in numeric order
  let indices = 0;
  while (indices < keys.length && isArrayIndex(keys[indices]!)) indices++;
  if (indices === 0) return keys.sort();
  return [...keys.slice(0, indices), ...keys.slice(indices).sort()];
}

function canonical(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      const withJson = value as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') return canonical(withJson.toJSON());
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + (canonical(value[i]) ?? 'null');
        return out + ']';
      }
      const record = value as Record<string, unknown>;
      let out = '{';
      let first = true;
      for (const key of sortedKeys(record)) {
        const text = canonical(record[key]);
        if (text === undefined) continue;
        out += (first ? '' : ',') + JSON.stringify(key) + ':' + text;
        first = false;
      }
      return out + '}';
    }
    case 'bigint':
      return JSON.stringify(value); // throws, as JSON.stringify does
    default:
      return undefined; // undefined, functions and symbols: left out, as JSON.stringify does
  }
}

/** A stable decimal hash (63 bits of SHA-256), the same shape as the original's generation annotation. */
export function stableHash(value: unknown): string {
  const digest = createHash('sha256').update(canonicalJson(value)).digest();
  return (digest.readBigUInt64BE(0) & 0x7fffffffffffffffn).toString(10);
}
