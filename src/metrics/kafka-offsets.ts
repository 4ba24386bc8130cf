// Pure: per-partition metrics from a history of offset snapshots taken from the brokers.
//   behind      = log-end offset − committed offset (the committed offset is the next to consume)
//   production  = Δ log-end / Δt,  consumption = Δ committed / Δt   (messages per second)
// No I/O and no clock: snapshots carry their time.
import { emptyPartitions, partitionRanges, type PartitionSample } from './types.js';

export interface OffsetSnapshot {
  /** When the offsets were read, in milliseconds since the epoch. */
  time: number;
  /** Partitions of the topic, with their log-start (earliest) and log-end (next offset to be written). */
  logStart?: Map<number, number>;
  logEnd?: Map<number, number>;
  /** The group's committed offsets; a partition without a commit is absent. Undefined: the fetch failed. */
  committed?: Map<number, number>;
}

/** What to report as `behind` for a partition the group never committed. */
export type UncommittedPolicy = 'unknown' | 'earliest';

export interface OffsetMetricsOptions {
  /**
   * `earliest`: the group starts from the log start (auto.offset.reset=earliest), so behind =
   * log-end − log-start; `unknown` (default): behind is unknown.
   */
  uncommitted?: UncommittedPolicy;
  /**
   * Rates span at least this long when the history allows (default 0: between the two newest
   * snapshots). Lower values react faster; higher ones smooth the steps of periodic commits.
   */
  rateWindowMs?: number;
}

export interface RateResult {
  /** Messages per second; undefined when it cannot be computed. */
  rate?: number;
  /** The value went down in the newest interval (offset reset, rewind, topic re-created). */
  wentBack?: { from: number; to: number };
}

/**
 * Rate of a monotonic offset over `points` (oldest first; the last is now). The reference point is
 * the newest earlier point at least `windowMs` before now, or the oldest usable one when the
 * history is shorter. Points before a gap (unknown value) or a decrease are never used; a decrease
 * in the newest interval makes the rate unknown and is reported.
 */
export function rateOf(
  points: ReadonlyArray<{ time: number; value: number | undefined }>,
  windowMs = 0,
): RateResult {
  const now = points[points.length - 1];
  if (!now || now.value === undefined) return {};
  let ref: { time: number; value: number } | undefined;
  for (let i = points.length - 2; i >= 0; i--) {
    const point = points[i]!;
    const next = points[i + 1]!;
    if (point.value === undefined) break;
    if (point.value > next.value!) {
      if (i === points.length - 2) return { wentBack: { from: point.value, to: next.value! } };
      break;
    }
    if (point.time >= now.time) continue; // same instant, or a clock that went back
    ref = { time: point.time, value: point.value };
    if (now.time - point.time >= windowMs) break;
  }
  if (!ref) return {};
  return { rate: ((now.value - ref.value) * 1000) / (now.time - ref.time) };
}

/**
 * Per-partition samples of partitions `0..numPartitions-1` from a history (oldest first, newest
 * last), with warnings for what is unknown and why. `label` prefixes every warning.
 */
export function offsetMetrics(
  history: readonly OffsetSnapshot[],
  numPartitions: number,
  options: OffsetMetricsOptions = {},
  label = 'kafka',
): { partitions: Map<number, PartitionSample>; warnings: string[] } {
  const partitions = emptyPartitions(numPartitions);
  const warnings: string[] = [];
  const latest = history[history.length - 1];
  if (!latest) return { partitions, warnings: [`${label}: no offsets read yet`] };
  const uncommitted = options.uncommitted ?? 'unknown';
  const windowMs = options.rateWindowMs ?? 0;

  const uncommittedList: number[] = [];
  const ahead: string[] = [];
  const absent: number[] = [];
  const rewound: string[] = [];
  const truncated: string[] = [];
  const firstRead = history.length < 2;

  for (const [p, sample] of partitions) {
    const logEnd = latest.logEnd?.get(p);
    const logStart = latest.logStart?.get(p);
    const committed = latest.committed?.get(p);
    if (latest.logEnd && logEnd === undefined) absent.push(p);

    if (logEnd !== undefined && latest.committed) {
      if (committed === undefined) {
        uncommittedList.push(p);
        if (uncommitted === 'earliest' && logStart !== undefined)
          sample.behind = Math.max(0, logEnd - logStart);
      } else if (committed > logEnd) {
        ahead.push(`${p} (committed ${committed} > log end ${logEnd})`);
      } else {
        sample.behind = logEnd - committed;
      }
    }

    if (firstRead) continue;
    const production = rateOf(
      history.map((s) => ({ time: s.time, value: s.logEnd?.get(p) })),
      windowMs,
    );
    if (production.rate !== undefined) sample.production = production.rate;
    if (production.wentBack) truncated.push(`${p} (${production.wentBack.from} → ${production.wentBack.to})`);
    const consumption = rateOf(
      history.map((s) => ({ time: s.time, value: s.committed?.get(p) })),
      windowMs,
    );
    if (consumption.rate !== undefined) sample.consumption = consumption.rate;
    if (consumption.wentBack)
      rewound.push(`${p} (${consumption.wentBack.from} → ${consumption.wentBack.to})`);
  }

  if (firstRead) warnings.push(`${label}: first read: rates unknown until the next one`);
  if (latest.logEnd) {
    const topicPartitions = latest.logEnd.size;
    if (absent.length) {
      warnings.push(
        `${label}: the topic has ${topicPartitions} partitions, fewer than numPartitions ${numPartitions}: ` +
          `partitions ${partitionRanges(absent)} unknown`,
      );
    }
    const beyond = [...latest.logEnd.keys()].filter((p) => p >= numPartitions);
    if (beyond.length) {
      warnings.push(
        `${label}: the topic has ${topicPartitions} partitions, more than numPartitions ${numPartitions}: ` +
          `partitions ${partitionRanges(beyond)} ignored`,
      );
    }
  }
  if (uncommittedList.length) {
    warnings.push(
      uncommitted === 'earliest'
        ? `${label}: no committed offset for partitions ${partitionRanges(uncommittedList)}: behind counted from the log start`
        : `${label}: no committed offset for partitions ${partitionRanges(uncommittedList)}: behind and consumption unknown`,
    );
  }
  if (ahead.length)
    warnings.push(
      `${label}: committed offset beyond the log end (topic truncated or re-created?): behind unknown for ${ahead.join(', ')}`,
    );
  if (rewound.length)
    warnings.push(
      `${label}: committed offset went back (reset or rewind): consumption unknown for ${rewound.join(', ')}`,
    );
  if (truncated.length)
    warnings.push(
      `${label}: log-end offset went back (topic re-created?): production unknown for ${truncated.join(', ')}`,
    );
  return { partitions, warnings };
}
