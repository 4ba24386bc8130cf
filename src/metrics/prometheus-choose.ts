// Pure: given every address's answers to the three queries, decide which answer each query takes
// and build the MetricsReading (or the error when nothing usable came back). No I/O.
//
// Winner rule (docs/metrics.md): addresses are ranked by
//   1. completeness: how many of the three queries succeeded (all three first);
//   2. freshness: the largest sample timestamp in the answer;
//   3. coverage: how many partition values are known;
//   4. address order in the spec.
// Each query takes the answer of the best-ranked address that answered it, so when one address
// answered all three, everything comes from the single best complete answer.
import {
  emptyPartitions,
  MetricsReadError,
  METRIC_TYPES,
  SAMPLE_FIELD,
  type MetricType,
  type MetricsReading,
} from './types.js';
import type { QueryAnswer, QueryOutcome } from './prometheus-parse.js';

export interface AddressAnswer {
  /** The address as shown in messages (credentials removed). */
  address: string;
  outcomes: Record<MetricType, QueryOutcome>;
}

interface Rank {
  index: number;
  succeeded: number;
  freshness: number;
  coverage: number;
}

function rankOf(answer: AddressAnswer, index: number): Rank {
  let succeeded = 0;
  let freshness = Number.NEGATIVE_INFINITY;
  let coverage = 0;
  for (const type of METRIC_TYPES) {
    const outcome = answer.outcomes[type];
    if (!outcome.ok) continue;
    succeeded++;
    if (outcome.timestamp !== undefined) freshness = Math.max(freshness, outcome.timestamp);
    coverage += outcome.values.size;
  }
  return { index, succeeded, freshness, coverage };
}

/** Indexes of `answers`, best first (the winner rule above). */
export function rankAnswers(answers: readonly AddressAnswer[]): number[] {
  return answers
    .map(rankOf)
    .sort(
      (a, b) =>
        b.succeeded - a.succeeded ||
        compareDesc(a.freshness, b.freshness) ||
        b.coverage - a.coverage ||
        a.index - b.index,
    )
    .map((r) => r.index);
}

function compareDesc(a: number, b: number): number {
  return a === b ? 0 : a < b ? 1 : -1;
}

/** For each query, the index of the address whose answer is used; undefined when none answered it. */
export function chooseAnswers(answers: readonly AddressAnswer[]): Record<MetricType, number | undefined> {
  const ranking = rankAnswers(answers);
  const pick = (type: MetricType) => ranking.find((i) => answers[i]!.outcomes[type].ok);
  return {
    production_rate: pick('production_rate'),
    consumption_rate: pick('consumption_rate'),
    offset: pick('offset'),
  };
}

/**
 * Builds the reading from the chosen answers. Warnings: every failed query of every address
 * (collapsed to one line per address when all three failed alike), and the chosen answers' own
 * warnings. Throws when no query of any address succeeded.
 */
export function combineAnswers(
  answers: readonly AddressAnswer[],
  numPartitions: number,
  time: Date,
): { reading: MetricsReading; chosen: Record<MetricType, number | undefined> } {
  const failures = answers.map((a) => failureSummary(a)).filter((s): s is string => s !== undefined);
  const details = answers.flatMap((a) => failureDetails(a));
  const denied = answers.flatMap((a) => deniedAddresses(a));
  const chosen = chooseAnswers(answers);
  if (METRIC_TYPES.every((type) => chosen[type] === undefined)) {
    const detail = failures.length ? failures.join('; ') : 'no address configured';
    throw new MetricsReadError(
      `prometheus: no usable answer from ${plural(answers.length, 'address', 'addresses')}: ${detail}`,
      details,
      denied,
    );
  }
  const partitions = emptyPartitions(numPartitions);
  const warnings = failures.map((f) => `prometheus ${f}`);
  for (const type of METRIC_TYPES) {
    const index = chosen[type];
    if (index === undefined) {
      warnings.push(`prometheus: ${type} unknown for every partition: no address answered it`);
      continue;
    }
    const answer = answers[index]!;
    const outcome = answer.outcomes[type] as QueryAnswer;
    for (const [partition, value] of outcome.values) {
      const sample = partitions.get(partition);
      if (sample) sample[SAMPLE_FIELD[type]] = value;
    }
    for (const w of outcome.warnings) warnings.push(`prometheus ${answer.address} ${type}: ${w}`);
    for (const d of outcome.details) details.push(`prometheus ${answer.address} ${type}: ${d}`);
  }
  return {
    reading: {
      time,
      partitions,
      warnings,
      ...(details.length ? { details } : {}),
      ...(denied.length ? { denied } : {}),
    },
    chosen,
  };
}

/** What the server said behind each failed query of an address, for the operator's log. */
function failureDetails(answer: AddressAnswer): string[] {
  return METRIC_TYPES.flatMap((t) => {
    const outcome = answer.outcomes[t];
    return !outcome.ok && outcome.detail ? [`prometheus ${answer.address} ${t}: ${outcome.detail}`] : [];
  });
}

/** The address, once, when the endpoint policy refused it. */
function deniedAddresses(answer: AddressAnswer): string[] {
  const refusal = METRIC_TYPES.map((t) => answer.outcomes[t]).find((o) => !o.ok && o.denied);
  return refusal && !refusal.ok ? [`prometheus ${answer.address}: ${refusal.error}`] : [];
}

/** "addr: error" when all of an address's queries failed alike, "addr type: error, ..." otherwise. */
function failureSummary(answer: AddressAnswer): string | undefined {
  const failed = METRIC_TYPES.filter((t) => !answer.outcomes[t].ok);
  if (failed.length === 0) return undefined;
  const errors = failed.map((t) => (answer.outcomes[t] as { error: string }).error);
  if (failed.length === METRIC_TYPES.length && errors.every((e) => e === errors[0])) {
    return `${answer.address}: ${errors[0]}`;
  }
  return `${answer.address}: ${failed.map((t, i) => `${t}: ${errors[i]}`).join(', ')}`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
