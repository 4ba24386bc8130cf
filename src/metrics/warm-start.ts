// Converts between a MetricsReading and the original's `status.lastSyncState`
// ({ "<partition>": { productionRate, consumptionRate, messageBehind } }, int64 values), so a
// restarted operator resumes from status. Unknown values are omitted (the fields are optional);
// the original wrote 0 for missing metrics, so a 0 read back from its status may mean "unknown".
import {
  checkNumPartitions,
  emptyPartitions,
  partitionRanges,
  type MetricsReading,
  type PartitionSample,
} from './types.js';

/** One partition in `status.lastSyncState` (the Consumer schema declares the same fields). */
interface PartitionState {
  productionRate?: number;
  consumptionRate?: number;
  messageBehind?: number;
}
export type LastSyncState = Record<string, PartitionState>;

const FIELD_MAP = [
  ['production', 'productionRate'],
  ['consumption', 'consumptionRate'],
  ['behind', 'messageBehind'],
] as const satisfies ReadonlyArray<readonly [keyof PartitionSample, keyof PartitionState]>;

/**
 * The status form of a reading: one entry per partition of the reading (an empty object when
 * nothing is known about it), values rounded to the nearest integer (the original truncated, which
 * turned rates below 1 msg/s into 0); non-finite or negative values are left out.
 */
export function toLastSyncState(reading: Pick<MetricsReading, 'partitions'>): LastSyncState {
  const state: LastSyncState = {};
  const sorted = [...reading.partitions.keys()].sort((a, b) => a - b);
  for (const partition of sorted) {
    const sample = reading.partitions.get(partition)!;
    const entry: PartitionState = {};
    for (const [from, to] of FIELD_MAP) {
      const value = sample[from];
      if (value === undefined || !Number.isFinite(value) || value < 0) continue;
      entry[to] = Math.min(Math.round(value), Number.MAX_SAFE_INTEGER);
    }
    state[String(partition)] = entry;
  }
  return state;
}

/**
 * A reading rebuilt from status, for partitions `0..numPartitions-1` (the rest of the state is
 * ignored). Returns undefined when status has no state or no valid lastSyncTime (nothing to resume
 * from). Entries with a bad key or value are skipped with a warning.
 */
export function fromLastSyncState(
  state: LastSyncState | undefined,
  lastSyncTime: string | undefined,
  numPartitions: number,
): MetricsReading | undefined {
  checkNumPartitions(numPartitions);
  if (!state || !lastSyncTime) return undefined;
  const time = new Date(lastSyncTime);
  if (Number.isNaN(time.getTime())) return undefined;
  const partitions = emptyPartitions(numPartitions);
  const warnings: string[] = [];
  const missing: number[] = [];
  for (const [key, entry] of Object.entries(state)) {
    const partition = /^[0-9]+$/.test(key) ? Number(key) : Number.NaN;
    if (!Number.isSafeInteger(partition)) {
      warnings.push(`status: lastSyncState key ${JSON.stringify(key)} is not a partition number: ignored`);
      continue;
    }
    const sample = partitions.get(partition);
    if (!sample || typeof entry !== 'object' || entry === null) continue;
    for (const [to, from] of FIELD_MAP) {
      const value: unknown = entry[from];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        warnings.push(
          `status: lastSyncState["${key}"].${from} = ${JSON.stringify(value)} is invalid: unknown`,
        );
        continue;
      }
      sample[to] = value;
    }
  }
  for (let p = 0; p < numPartitions; p++) if (!(String(p) in state)) missing.push(p);
  if (missing.length)
    warnings.push(`status: no lastSyncState for partitions ${partitionRanges(missing)}: unknown`);
  return { time, partitions, warnings };
}
