// Runs fast-check properties for node:test: a fixed number of runs, FC_SEED=<n> replays a run,
// and a failure reports the seed, the shrunk counter-example and the assertion that failed.
import fc from 'fast-check';

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;

export function check<Ts>(property: fc.IProperty<Ts>, numRuns: number): void {
  const details = fc.check(property, { numRuns, ...(seed !== undefined ? { seed } : {}) });
  if (!details.failed) return;
  const cause =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `${fc.defaultReportMessage(details)}\nFailed: ${cause}\n(replay with FC_SEED=${details.seed})`,
  );
}
