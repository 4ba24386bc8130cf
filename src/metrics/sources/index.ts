// The registry of metrics sources, keyed by `spec.autoscaler.mode`. Adding a source is one file
// in this folder (see source.ts) and one line in SOURCES; the CRD, the settings, the checks, the
// Secrets and the reads all follow from it. Importing this module loads no client code.
import { Type, type TOptional, type TSchema } from '@sinclair/typebox';
import type { Rule } from '../../util/schema-parts.js';
import { kafkaSource } from './kafka.js';
import { prometheusSource } from './prometheus.js';
import type { MetricsSource } from './source.js';
import { staticSource } from './static.js';

/** Every source, in the order the CRD lists them. */
const SOURCES = [prometheusSource, kafkaSource, staticSource] as const;

type Source = (typeof SOURCES)[number];
export type MetricsMode = Source['mode'];
type SourceOf<M extends MetricsMode> = Extract<Source, { mode: M }>;

export const METRICS_MODES: readonly MetricsMode[] = SOURCES.map((s) => s.mode);

const byMode = new Map<string, MetricsSource>(SOURCES.map((s) => [s.mode, s as MetricsSource]));

/** Whether `mode` names a metrics source (`none`, the legacy `vpa` and `""` do not). */
export const isMetricsMode = (mode: string | undefined): mode is MetricsMode =>
  mode !== undefined && byMode.has(mode);

/**
 * The source of `mode`, typed for any section: callers hand it the section of its own mode, which
 * the schema has already checked.
 */
export const metricsSource = (mode: MetricsMode): MetricsSource => byMode.get(mode)!;

/** The client options a source builds from Secrets, under its mode. */
export type MetricsCredentials = {
  [M in MetricsMode]?: SourceOf<M> extends MetricsSource<M, TSchema, infer C> ? C : never;
};

/** The `spec.autoscaler.<mode>` section of every source, for the Autoscaler schema. */
export function sectionSchemas(): { [M in MetricsMode]: TOptional<SourceOf<M>['section']> } {
  return Object.fromEntries(SOURCES.map((s) => [s.mode, Type.Optional(s.section)])) as {
    [M in MetricsMode]: TOptional<SourceOf<M>['section']>;
  };
}

/** The sources' rules on the whole spec. */
export const specRules = (): Rule[] => SOURCES.flatMap((s) => s.specRules ?? []);

/** `"prometheus" (PromQL queries), "kafka" (...) or "static" (...)`, for the CRD's description of mode. */
export function describeModes(): string {
  const phrases = SOURCES.map((s) => `"${s.mode}" (${s.summary})`);
  return phrases.length > 1 ? `${phrases.slice(0, -1).join(', ')} or ${phrases.at(-1)}` : (phrases[0] ?? '');
}
