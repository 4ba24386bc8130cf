// The operator's defaults for what a Consumer's author may ask of it, in a module with no imports
// so that the command line can show them without loading the operator.

/** Instances per Consumer and Consumers per namespace (`--max-instances-per-consumer`, `--max-consumers-per-namespace`). */
export const DEFAULT_TENANT_LIMITS = {
  maxInstancesPerConsumer: 1000,
  maxConsumersPerNamespace: 100,
} as const;

/** Metrics reads: never more often than this (`--min-sync-period`), at most this many at once (`--metrics-read-concurrency`). */
export const DEFAULT_READ_LIMITS = { minSyncPeriodMs: 5000, concurrency: 16 } as const;
