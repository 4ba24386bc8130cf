// Credentials of the metrics sources, the pure part: which Secret keys a Consumer's source needs
// (one walk of its section, by the source itself), and Secret data → the client's options, with
// every missing, empty or malformed key named. Reading the Secrets is the controller's job.
import { metricsSource, type MetricsCredentials, type MetricsMode } from './sources/index.js';
import type { CredentialsPlan, SecretUse } from './sources/source.js';

export type { MetricsCredentials } from './sources/index.js';
export type { SecretUse } from './sources/source.js';
export { DEFAULT_KEYS } from './sources/secret-refs.js';

/** A Secret as the operator sees it: its identity, version and decoded data. */
export interface SecretValue {
  name: string;
  uid: string;
  resourceVersion: string;
  data: Record<string, Buffer>;
}

/** The part of a spec that names the metrics source and its section. */
export type AutoscalerSections = { mode?: string } & { [M in MetricsMode]?: unknown };

const NOTHING: CredentialsPlan<MetricsCredentials> = { uses: [], build: () => ({}) };

/**
 * What the metrics source of `mode` needs from Secrets: one walk of its section gives the keys to
 * read and how their values become the client options (under the mode's name).
 */
export function credentialsPlan(
  autoscaler: AutoscalerSections,
  mode: MetricsMode,
): CredentialsPlan<MetricsCredentials> {
  const section = autoscaler[mode];
  if (section === undefined) return NOTHING;
  const plan = metricsSource(mode).credentials(section, `spec.autoscaler.${mode}`);
  return { uses: plan.uses, build: (value) => ({ [mode]: plan.build(value) }) };
}

/** Every Secret key the metrics source of `mode` needs (empty: no credentials from Secrets). */
export const secretUses = (autoscaler: AutoscalerSections, mode: MetricsMode): SecretUse[] =>
  credentialsPlan(autoscaler, mode).uses;

/** The distinct Secret names, in the order the spec mentions them. */
export const secretNames = (uses: readonly SecretUse[]): string[] => [...new Set(uses.map((u) => u.secret))];

/** Identifies the Secrets' contents: the same string means the same credentials. */
export function credentialsVersion(secrets: Iterable<SecretValue>): string {
  return [...secrets]
    .map((s) => `${s.name}:${s.uid}:${s.resourceVersion}`)
    .sort()
    .join(',');
}

export const quoteKeys = (keys: readonly string[]) =>
  `key${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}`;

/** The value of one use, or the problem with it. */
function valueOf(
  u: SecretUse,
  namespace: string,
  secrets: ReadonlyMap<string, SecretValue>,
): { value: string } | { problem: string } {
  const secret = secrets.get(u.secret);
  if (!secret) return { problem: `Secret ${namespace}/${u.secret} was not read (${u.ref})` };
  const where = u.defaulted ? `the default of ${u.keyField}` : u.keyField;
  const raw = secret.data[u.key];
  if (raw === undefined) {
    const present = Object.keys(secret.data).sort();
    return {
      problem:
        `Secret ${namespace}/${u.secret} has no key ${JSON.stringify(u.key)} (${where}); ` +
        (present.length ? `it has ${quoteKeys(present)}` : 'it has no data'),
    };
  }
  const text = raw.toString('utf8');
  const value = u.kind === 'text' ? text.replace(/\r?\n$/, '') : text;
  if (value.length === 0)
    return { problem: `key ${JSON.stringify(u.key)} of Secret ${namespace}/${u.secret} is empty (${where})` };
  if (u.kind === 'pem' && !value.includes('-----BEGIN ')) {
    return {
      problem:
        `key ${JSON.stringify(u.key)} of Secret ${namespace}/${u.secret} does not hold PEM data ` +
        `(no "-----BEGIN" line; ${where})`,
    };
  }
  return { value };
}

/**
 * Secret data → client options, following `plan`. `problems` lists every missing, empty or
 * malformed key, naming the Secret (`namespace/name`), the key and the field; the credentials are
 * built only when there is none.
 */
export function buildCredentials(
  namespace: string,
  plan: CredentialsPlan<MetricsCredentials>,
  secrets: ReadonlyMap<string, SecretValue>,
): { credentials: MetricsCredentials; problems: string[] } {
  const values = new Map<SecretUse, string>();
  const problems: string[] = [];
  for (const u of plan.uses) {
    const found = valueOf(u, namespace, secrets);
    if ('problem' in found) problems.push(found.problem);
    else values.set(u, found.value);
  }
  if (problems.length > 0) return { credentials: {}, problems };
  return { credentials: plan.build((u) => values.get(u)!), problems };
}
