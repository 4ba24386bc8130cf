// The static provider: inline per-partition values (demos and tests), e.g.
//   { partitions: { "0": { production: 120, consumption: 118, behind: 40 } } }
import {
  checkNumPartitions,
  emptyPartitions,
  partitionRanges,
  type MetricsProvider,
  type MetricsReading,
  type PartitionSample,
} from './types.js';

export interface StaticProviderOptions {
  /** Values keyed by partition number (as a string, as in YAML/JSON). Unlisted partitions are unknown. */
  partitions: Record<string, PartitionSample>;
  clock?: () => Date;
}

const FIELDS = ['production', 'consumption', 'behind'] as const;

export class StaticProvider implements MetricsProvider {
  private values = new Map<number, PartitionSample>();
  private readonly clock: () => Date;

  constructor(options: StaticProviderOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.set(options.partitions);
  }

  /** Replaces the values (e.g. a demo changing the load). Throws on an invalid entry. */
  set(partitions: Record<string, PartitionSample>): void {
    this.values = parseStaticPartitions(partitions);
  }

  async read(numPartitions: number): Promise<MetricsReading> {
    checkNumPartitions(numPartitions);
    const partitions = emptyPartitions(numPartitions);
    const unlisted: number[] = [];
    for (const [p, sample] of partitions) {
      const value = this.values.get(p);
      if (value) Object.assign(sample, value);
      else unlisted.push(p);
    }
    const warnings: string[] = [];
    if (unlisted.length)
      warnings.push(`static: no values for partitions ${partitionRanges(unlisted)}: unknown`);
    const beyond = [...this.values.keys()].filter((p) => p >= numPartitions);
    if (beyond.length) {
      warnings.push(
        `static: values for partitions ${partitionRanges(beyond)} ignored: beyond numPartitions ${numPartitions}`,
      );
    }
    return { time: this.clock(), partitions, warnings };
  }
}

/** Validates inline values: integer keys, finite non-negative numbers. Throws listing every problem. */
export function parseStaticPartitions(
  partitions: Record<string, PartitionSample>,
): Map<number, PartitionSample> {
  const problems: string[] = [];
  const values = new Map<number, PartitionSample>();
  for (const [key, raw] of Object.entries(partitions ?? {})) {
    if (!/^[0-9]+$/.test(key) || !Number.isSafeInteger(Number(key))) {
      problems.push(`key ${JSON.stringify(key)} is not a partition number`);
      continue;
    }
    if (typeof raw !== 'object' || raw === null) {
      problems.push(`partition ${key}: not an object`);
      continue;
    }
    const sample: PartitionSample = {};
    for (const field of FIELDS) {
      const value: unknown = raw[field];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        problems.push(
          `partition ${key}: ${field} must be a finite number >= 0, got ${typeof value === 'number' ? value : JSON.stringify(value)}`,
        );
        continue;
      }
      sample[field] = value;
    }
    const unknownFields = Object.keys(raw).filter((k) => !(FIELDS as readonly string[]).includes(k));
    if (unknownFields.length) problems.push(`partition ${key}: unknown field(s) ${unknownFields.join(', ')}`);
    values.set(Number(key), sample);
  }
  if (problems.length) throw new Error(`static metrics: ${problems.join('; ')}`);
  return values;
}
