// How partitions are split into instances. Matches the original's SplitIntoBuckets exactly, so
// that an operator taking over produces the same instances.
import { instanceCount } from '../api/resolve.js';

/**
 * Splits partitions `0..size-1` into contiguous buckets of about `desired` partitions:
 * `ceil(size/desired)` buckets, the first `size mod count` of them one partition larger.
 * (10, 3) gives [0,1,2] [3,4,5] [6,7] [8,9].
 */
export function splitIntoBuckets(size: number, desired: number): number[][] {
  const count = instanceCount(size, desired);
  if (count === 0) return [];
  const base = Math.floor(size / count);
  const larger = size % count;
  const buckets: number[][] = [];
  let next = 0;
  for (let i = 0; i < count; i++) {
    const length = base + (i < larger ? 1 : 0);
    buckets.push(Array.from({ length }, (_, k) => next + k));
    next += length;
  }
  return buckets;
}

/** The `partitions` label value: `5`, `4-5`, or `<first>-<last>`, cut to the 63-character label limit. */
export function partitionsLabel(partitions: readonly number[]): string {
  if (partitions.length === 0) return '';
  const text =
    partitions.length === 1 ? String(partitions[0]) : `${partitions[0]}-${partitions[partitions.length - 1]}`;
  return text.slice(0, 63);
}

/** Parses the `partition` annotation (`0,1,2`); undefined when it is not a list of partition numbers. */
export function parsePartitionList(text: string | undefined): number[] | undefined {
  if (!text) return undefined;
  const parts = text.split(',');
  if (!parts.every((p) => /^[0-9]+$/.test(p.trim()))) return undefined;
  return parts.map((p) => Number(p.trim()));
}

export const samePartitions = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((p, i) => p === b[i]);
