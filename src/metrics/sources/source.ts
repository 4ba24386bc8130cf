// The interface every metrics source implements. A source is one file in this folder that owns
// everything mode-specific: the `spec.autoscaler.<mode>` section of the CRD, the settings it
// resolves to, the checks the schema cannot express, the Secrets it reads and how it reads the
// metrics. The registry (index.ts) lists them by mode; the rest of the code asks it instead of
// switching on the mode.
//
// A source file stays pure when loaded: it imports schema parts and types only, and loads its
// client code (HTTP, Kafka) with import() inside `create`, so the API layer can import every
// source while the Kafka client is loaded only once a Consumer uses mode kafka.
import type { Static, TSchema } from '@sinclair/typebox';
import type { Rule } from '../../util/schema-parts.js';
import type { EndpointPolicy } from '../../net/endpoint-policy.js';
import type { ProviderObserver } from '../instrumentation.js';
import type { MetricsProvider } from '../types.js';

/** What the autoscaler takes from the section: the same numbers for every source. */
export interface SourceSettings {
  minSyncPeriodMs: number;
  ratePerCore: number;
  ramPerCoreBytes: number;
  cpuIncrementMillis: number;
  tolerableLagMs: number;
  criticalLagMs: number;
  recoveryTimeMs: number;
  fallbackStrategy: 'min' | 'max';
}

/** A problem with a field of the section; `field` is relative to it (e.g. `tls`). */
export interface SectionProblem {
  field: string;
  message: string;
}

export interface SectionCheck {
  /** Stop the Consumer from being reconciled. */
  errors?: SectionProblem[];
  /** Suspicious but harmless, reported as events. */
  warnings?: SectionProblem[];
}

/** One key the section wants from a Secret in the Consumer's namespace. */
export interface SecretUse {
  secret: string;
  key: string;
  /** The spec field that names the Secret, e.g. `spec.autoscaler.prometheus.auth.secretRef`. */
  ref: string;
  /** The spec field that names the key (when `defaulted`, the field whose default the key is). */
  keyField: string;
  defaulted: boolean;
  /** `text` values (tokens, passwords) lose a trailing newline; `pem` values must look like PEM. */
  kind: 'text' | 'pem';
}

/**
 * What a section needs from Secrets, found in one walk of it: the keys to read, and how their
 * values (and the section's other client settings, such as serverName) become the client's
 * options. `build` is called once every use has a usable value.
 */
export interface CredentialsPlan<C> {
  uses: SecretUse[];
  build(value: (use: SecretUse) => string): C;
}

/** What `create` gets besides the section. */
export interface SourceContext {
  /** The Consumer's name (e.g. in the Kafka client id). */
  consumerName: string;
  /** Hooks for the operator's own metrics about the source's requests. */
  observer: ProviderObserver;
  /** Where a source that connects somewhere may connect (checked after DNS); without one, anywhere. */
  endpointPolicy?: EndpointPolicy;
}

/**
 * A metrics source. `M` is its mode, `S` the TypeBox schema of its section, `C` the client options
 * it builds from Secrets (`undefined` for a source that uses none). Methods are called with a
 * section the schema has already accepted.
 */
export interface MetricsSource<M extends string = string, S extends TSchema = TSchema, C = unknown> {
  /** The value of `spec.autoscaler.mode`, and the name of the section. */
  mode: M;
  /** A few words for the CRD's description of `mode`, e.g. `PromQL queries`. */
  summary: string;
  /** The schema of `spec.autoscaler.<mode>`. */
  section: S;
  /** CEL rules on the whole spec, for what the section alone cannot check (e.g. against numPartitions). */
  specRules?: readonly Rule[];
  /** The settings the section resolves to, defaults applied. */
  settings(section: Static<S>): SourceSettings;
  /** Checks beyond the schema. */
  check?(section: Static<S>): SectionCheck;
  /** The Secrets the section names and how their values become client options; `path` is the section's. */
  credentials(section: Static<S>, path: string): CredentialsPlan<C>;
  /** The provider that reads the metrics; loads the client code on first use. */
  create(section: Static<S>, credentials: C, context: SourceContext): Promise<MetricsProvider>;
}

/** Declares a source with its types inferred from its mode, section schema and credentials. */
export const defineSource = <const M extends string, S extends TSchema, C>(
  source: MetricsSource<M, S, C>,
): MetricsSource<M, S, C> => source;
