// Credentials of the metrics sources, from Secrets in the Consumer's own namespace.
//
// The operator reads each referenced Secret with one GET by name (never list or watch: the
// shipped ClusterRole grants nothing on Secrets, and a namespace owner grants `get` on exactly
// the named Secrets with a Role limited by resourceNames; docs/credentials.md). The pure part
// turns Secret data into provider options; the I/O part reads the Secrets and explains failures.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { ConsumerSpec, KafkaAutoscaler, PrometheusAutoscaler } from '../api/schema.js';
import type { MetricsMode } from '../autoscale/config.js';
import type { HttpAuth, HttpTls, KafkaSasl, KafkaTls } from '../metrics/index.js';
import { describeApiError } from './kube.js';

/** A Secret as the operator sees it: its identity, version and decoded data. */
export interface SecretValue {
  name: string;
  uid: string;
  resourceVersion: string;
  data: Record<string, Buffer>;
}

/** One key the spec wants from a Secret. */
export interface SecretUse {
  secret: string;
  key: string;
  /** The spec field that names the Secret, e.g. `spec.autoscaler.prometheus.auth.secretRef`. */
  ref: string;
  /** The spec field that names the key; `default` when the key is the default. */
  keyField: string;
  defaulted: boolean;
  /** `text` values (tokens, passwords) lose a trailing newline; `pem` values must look like PEM. */
  kind: 'text' | 'pem';
}

export interface PrometheusCredentials {
  auth?: HttpAuth;
  tls?: HttpTls;
}

export interface KafkaCredentials {
  tls?: boolean | KafkaTls;
  sasl?: KafkaSasl;
}

export interface MetricsCredentials {
  prometheus?: PrometheusCredentials;
  kafka?: KafkaCredentials;
}

export const DEFAULT_KEYS = {
  ca: 'ca.crt',
  cert: 'tls.crt',
  key: 'tls.key',
  username: 'username',
  password: 'password',
} as const;

type Autoscaler = ConsumerSpec['autoscaler'];
type TlsSection = NonNullable<PrometheusAutoscaler['tls']>;

const use = (
  secret: string,
  ref: string,
  keyField: string,
  key: string | undefined,
  fallback: string | undefined,
  kind: SecretUse['kind'],
): SecretUse => ({
  secret,
  key: key ?? fallback ?? '',
  ref,
  keyField,
  defaulted: key === undefined,
  kind,
});

function tlsUses(tls: TlsSection | undefined, path: string): SecretUse[] {
  const uses: SecretUse[] = [];
  const ca = tls?.caSecretRef;
  if (ca)
    uses.push(use(ca.name, `${path}.caSecretRef`, `${path}.caSecretRef.key`, ca.key, DEFAULT_KEYS.ca, 'pem'));
  const cert = tls?.certSecretRef;
  if (cert) {
    const ref = `${path}.certSecretRef`;
    uses.push(use(cert.name, ref, `${ref}.certKey`, cert.certKey, DEFAULT_KEYS.cert, 'pem'));
    uses.push(use(cert.name, ref, `${ref}.keyKey`, cert.keyKey, DEFAULT_KEYS.key, 'pem'));
  }
  return uses;
}

function prometheusUses(p: PrometheusAutoscaler): SecretUse[] {
  const uses: SecretUse[] = [];
  const base = 'spec.autoscaler.prometheus';
  const auth = p.auth;
  if (auth) {
    const ref = `${base}.auth.secretRef`;
    const name = auth.secretRef.name;
    if (auth.bearerTokenKey !== undefined) {
      uses.push(use(name, ref, `${base}.auth.bearerTokenKey`, auth.bearerTokenKey, undefined, 'text'));
    } else {
      uses.push(use(name, ref, `${base}.auth.usernameKey`, auth.usernameKey, DEFAULT_KEYS.username, 'text'));
      uses.push(use(name, ref, `${base}.auth.passwordKey`, auth.passwordKey, DEFAULT_KEYS.password, 'text'));
    }
  }
  return [...uses, ...tlsUses(p.tls, `${base}.tls`)];
}

function kafkaUses(k: KafkaAutoscaler): SecretUse[] {
  const base = 'spec.autoscaler.kafka';
  const uses = k.tls?.enabled ? tlsUses(k.tls, `${base}.tls`) : [];
  const sasl = k.sasl;
  if (sasl) {
    const ref = `${base}.sasl.secretRef`;
    const name = sasl.secretRef.name;
    uses.push(use(name, ref, `${base}.sasl.usernameKey`, sasl.usernameKey, DEFAULT_KEYS.username, 'text'));
    uses.push(use(name, ref, `${base}.sasl.passwordKey`, sasl.passwordKey, DEFAULT_KEYS.password, 'text'));
  }
  return uses;
}

/** Every Secret key the metrics source of `mode` needs (empty: no credentials from Secrets). */
export function secretUses(autoscaler: Autoscaler, mode: MetricsMode): SecretUse[] {
  if (mode === 'prometheus' && autoscaler.prometheus) return prometheusUses(autoscaler.prometheus);
  if (mode === 'kafka' && autoscaler.kafka) return kafkaUses(autoscaler.kafka);
  return [];
}

/** The distinct Secret names, in the order the spec mentions them. */
export const secretNames = (uses: readonly SecretUse[]): string[] => [...new Set(uses.map((u) => u.secret))];

/** Identifies the Secrets' contents: the same string means the same credentials. */
export function credentialsVersion(secrets: Iterable<SecretValue>): string {
  return [...secrets]
    .map((s) => `${s.name}:${s.uid}:${s.resourceVersion}`)
    .sort()
    .join(',');
}

const quoteKeys = (keys: readonly string[]) =>
  `key${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}`;

/** Looks the uses up in the Secrets; `problems` names each missing or unusable key. */
class ValueLookup {
  readonly problems: string[] = [];
  constructor(
    private readonly namespace: string,
    private readonly secrets: ReadonlyMap<string, SecretValue>,
  ) {}

  get(u: SecretUse): string | undefined {
    const secret = this.secrets.get(u.secret);
    if (!secret) {
      this.problems.push(`Secret ${this.namespace}/${u.secret} was not read (${u.ref})`);
      return undefined;
    }
    const where = u.defaulted ? `the default of ${u.keyField}` : u.keyField;
    const raw = secret.data[u.key];
    if (raw === undefined) {
      const present = Object.keys(secret.data).sort();
      this.problems.push(
        `Secret ${this.namespace}/${u.secret} has no key ${JSON.stringify(u.key)} (${where}); ` +
          (present.length ? `it has ${quoteKeys(present)}` : 'it has no data'),
      );
      return undefined;
    }
    const text = raw.toString('utf8');
    const value = u.kind === 'text' ? text.replace(/\r?\n$/, '') : text;
    if (value.length === 0) {
      this.problems.push(
        `key ${JSON.stringify(u.key)} of Secret ${this.namespace}/${u.secret} is empty (${where})`,
      );
      return undefined;
    }
    if (u.kind === 'pem' && !value.includes('-----BEGIN ')) {
      this.problems.push(
        `key ${JSON.stringify(u.key)} of Secret ${this.namespace}/${u.secret} does not hold PEM data ` +
          `(no "-----BEGIN" line; ${where})`,
      );
      return undefined;
    }
    return value;
  }
}

function tlsValues(
  tls: TlsSection,
  uses: readonly SecretUse[],
  lookup: ValueLookup,
): { ca?: string; cert?: string; key?: string } {
  const find = (suffix: string) => uses.find((u) => u.keyField.endsWith(suffix));
  const ca = find('.caSecretRef.key');
  const cert = find('.certSecretRef.certKey');
  const key = find('.certSecretRef.keyKey');
  const out: { ca?: string; cert?: string; key?: string } = {};
  if (tls.caSecretRef && ca) {
    const value = lookup.get(ca);
    if (value !== undefined) out.ca = value;
  }
  if (tls.certSecretRef && cert && key) {
    const c = lookup.get(cert);
    const k = lookup.get(key);
    if (c !== undefined) out.cert = c;
    if (k !== undefined) out.key = k;
  }
  return out;
}

function prometheusCredentials(p: PrometheusAutoscaler, lookup: ValueLookup): PrometheusCredentials {
  const uses = prometheusUses(p);
  const out: PrometheusCredentials = {};
  if (p.auth) {
    const value = (field: string) => {
      const u = uses.find((x) => x.keyField === `spec.autoscaler.prometheus.auth.${field}`);
      return u ? lookup.get(u) : undefined;
    };
    if (p.auth.bearerTokenKey !== undefined) {
      const bearerToken = value('bearerTokenKey');
      if (bearerToken !== undefined) out.auth = { bearerToken };
    } else {
      const username = value('usernameKey');
      const password = value('passwordKey');
      if (username !== undefined && password !== undefined) out.auth = { username, password };
    }
  }
  if (p.tls) {
    out.tls = {
      ...tlsValues(p.tls, uses, lookup),
      ...(p.tls.insecureSkipVerify !== undefined ? { insecureSkipVerify: p.tls.insecureSkipVerify } : {}),
      ...(p.tls.serverName !== undefined ? { serverName: p.tls.serverName } : {}),
    };
  }
  return out;
}

function kafkaCredentials(k: KafkaAutoscaler, lookup: ValueLookup): KafkaCredentials {
  const uses = kafkaUses(k);
  const out: KafkaCredentials = {};
  const tls = k.tls;
  if (tls?.enabled) {
    const custom =
      tls.caSecretRef || tls.certSecretRef || tls.insecureSkipVerify !== undefined || tls.serverName;
    out.tls = custom
      ? {
          ...tlsValues(tls, uses, lookup),
          rejectUnauthorized: !tls.insecureSkipVerify,
          ...(tls.serverName !== undefined ? { serverName: tls.serverName } : {}),
        }
      : true;
  }
  if (k.sasl) {
    const username = lookup.get(uses.find((u) => u.keyField.endsWith('.sasl.usernameKey'))!);
    const password = lookup.get(uses.find((u) => u.keyField.endsWith('.sasl.passwordKey'))!);
    if (username !== undefined && password !== undefined)
      out.sasl = { mechanism: k.sasl.mechanism, username, password };
  }
  return out;
}

/**
 * Secret data → provider options for the metrics source of `mode` (pure). `problems` lists every
 * missing, empty or malformed key, naming the Secret (`namespace/name`), the key and the field;
 * the credentials are usable only when it is empty.
 */
export function buildCredentials(
  namespace: string,
  autoscaler: Autoscaler,
  mode: MetricsMode,
  secrets: ReadonlyMap<string, SecretValue>,
): { credentials: MetricsCredentials; problems: string[] } {
  const lookup = new ValueLookup(namespace, secrets);
  const credentials: MetricsCredentials = {};
  if (mode === 'prometheus' && autoscaler.prometheus)
    credentials.prometheus = prometheusCredentials(autoscaler.prometheus, lookup);
  if (mode === 'kafka' && autoscaler.kafka) credentials.kafka = kafkaCredentials(autoscaler.kafka, lookup);
  return { credentials, problems: lookup.problems };
}

// ---------------------------------------------------------------------------------------------
// Reading the Secrets.

export type SecretFailure = 'NotFound' | 'Forbidden' | 'Failed';

export class SecretReadError extends Error {
  override name = 'SecretReadError';
  constructor(
    readonly failure: SecretFailure,
    readonly secret: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SecretReader {
  /** One GET of the Secret; rejects with a SecretReadError. */
  read(namespace: string, name: string): Promise<SecretValue>;
}

/** Reads Secrets with CoreV1Api.readNamespacedSecret: a GET by name, nothing else. */
export class ApiSecretReader implements SecretReader {
  private readonly core: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly timeoutMs = 10_000,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async read(namespace: string, name: string): Promise<SecretValue> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SecretReadError('Failed', name, `timed out after ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      const secret = await Promise.race([this.core.readNamespacedSecret({ name, namespace }), timeout]);
      const data: Record<string, Buffer> = {};
      for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64');
      return {
        name,
        uid: secret.metadata?.uid ?? '',
        resourceVersion: secret.metadata?.resourceVersion ?? '',
        data,
      };
    } catch (error) {
      if (error instanceof SecretReadError) throw error;
      const { code, message } = describeApiError(error);
      const failure: SecretFailure = code === 404 ? 'NotFound' : code === 403 ? 'Forbidden' : 'Failed';
      throw new SecretReadError(failure, name, code ? `HTTP ${code}: ${message}` : message);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Why the credentials could not be had. `transient`: only API errors other than 404/403. */
export class CredentialsError extends Error {
  override name = 'CredentialsError';
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

/** The ServiceAccount named in a 403 message (`system:serviceaccount:<ns>:<name>`), if any. */
export function serviceAccountOf(message: string): { namespace: string; name: string } | undefined {
  const match = /system:serviceaccount:([a-z0-9.-]+):([a-z0-9.-]+)/.exec(message);
  return match ? { namespace: match[1]!, name: match[2]! } : undefined;
}

/** The `konsumerator grant-secrets` command that prints the Role and RoleBinding for these Secrets. */
export function grantSecretsCommand(
  namespace: string,
  secrets: readonly string[],
  operator?: { namespace: string; name: string },
): string {
  const parts = [
    'konsumerator grant-secrets',
    `--namespace ${namespace}`,
    ...secrets.map((s) => `--secret ${s}`),
  ];
  if (operator) {
    parts.push(`--operator-namespace ${operator.namespace}`);
    if (operator.name !== 'konsumerator') parts.push(`--service-account ${operator.name}`);
  }
  return parts.join(' ');
}

function describeUses(uses: readonly SecretUse[]): string {
  const keys = [...new Set(uses.map((u) => u.key))];
  const refs = [...new Set(uses.map((u) => u.ref))];
  return `${quoteKeys(keys)} for ${refs.join(', ')}`;
}

export interface LoadedCredentials {
  /** Changes whenever one of the Secrets changes (uid and resourceVersion). */
  version: string;
  credentials: MetricsCredentials;
}

/**
 * Reads the Secrets the Consumer's metrics source needs (in its own namespace, in parallel, one
 * GET each) and builds the provider options. Rejects with a CredentialsError whose message names
 * every problem: a missing Secret or key (`namespace/name` and the key), a Secret the operator may
 * not read (with the command that grants it), any other API error.
 */
export async function loadCredentials(
  reader: SecretReader,
  namespace: string,
  autoscaler: Autoscaler,
  mode: MetricsMode,
): Promise<LoadedCredentials> {
  const uses = secretUses(autoscaler, mode);
  const names = secretNames(uses);
  const results = await Promise.allSettled(names.map((name) => reader.read(namespace, name)));
  const secrets = new Map<string, SecretValue>();
  const notFound: string[] = [];
  const forbidden: string[] = [];
  const failed: string[] = [];
  let operator: { namespace: string; name: string } | undefined;
  results.forEach((result, i) => {
    const name = names[i]!;
    const wanted = describeUses(uses.filter((u) => u.secret === name));
    if (result.status === 'fulfilled') {
      secrets.set(name, result.value);
      return;
    }
    const error = result.reason as unknown;
    const failure = error instanceof SecretReadError ? error.failure : 'Failed';
    const detail = error instanceof Error ? error.message : String(error);
    if (failure === 'NotFound') notFound.push(`Secret ${namespace}/${name} not found (wanted: ${wanted})`);
    else if (failure === 'Forbidden') {
      forbidden.push(name);
      operator ??= serviceAccountOf(detail);
    } else failed.push(`cannot read Secret ${namespace}/${name} (wanted: ${wanted}): ${detail}`);
  });
  const problems = [...notFound];
  if (forbidden.length > 0) {
    const list = forbidden.map((n) => `${namespace}/${n}`).join(', ');
    problems.push(
      `the operator may not read Secret${forbidden.length > 1 ? 's' : ''} ${list} (HTTP 403 Forbidden): ` +
        `its ClusterRole grants no access to Secrets; grant it get on exactly ${forbidden.length > 1 ? 'these Secrets' : 'this Secret'} ` +
        `with a Role and RoleBinding in namespace ${namespace}: ` +
        `\`${grantSecretsCommand(namespace, forbidden, operator)} | kubectl apply -f -\` (see docs/credentials.md)`,
    );
  }
  problems.push(...failed);
  if (problems.length > 0) {
    throw new CredentialsError(
      problems.join('; '),
      notFound.length === 0 && forbidden.length === 0 && failed.length > 0,
    );
  }
  const built = buildCredentials(namespace, autoscaler, mode, secrets);
  if (built.problems.length > 0) throw new CredentialsError(built.problems.join('; '), false);
  return { version: credentialsVersion(secrets.values()), credentials: built.credentials };
}
