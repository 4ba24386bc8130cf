// Reading the Secrets a Consumer's metrics source needs, and explaining why they could not be had.
//
// The operator reads each referenced Secret with one GET by name (never list or watch: the
// shipped ClusterRole grants nothing on Secrets, and a namespace owner grants `get` on exactly
// the named Secrets with a Role limited by resourceNames; docs/credentials.md). Which keys a spec
// needs and how their values become client options is pure, in src/metrics/credentials.ts.
import type { V1Secret } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import {
  buildCredentials,
  credentialsVersion,
  quoteKeys,
  secretNames,
  type MetricsCredentials,
  type SecretUse,
  type SecretValue,
} from '../metrics/credentials.js';
import type { CredentialsPlan } from '../metrics/sources/source.js';
import { describeApiError } from './kube.js';

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

/**
 * Reads Secrets: a GET by name, nothing else. The request's deadline is the client's own (its
 * requestMs), so an API server that never answers fails the read instead of hanging it.
 */
export class ApiSecretReader implements SecretReader {
  constructor(private readonly client: KubeClient) {}

  async read(namespace: string, name: string): Promise<SecretValue> {
    try {
      const secret = await this.client.get<V1Secret>(`/api/v1/namespaces/${namespace}/secrets/${name}`);
      const data: Record<string, Buffer> = {};
      for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64');
      return {
        name,
        uid: secret.metadata?.uid ?? '',
        resourceVersion: secret.metadata?.resourceVersion ?? '',
        data,
      };
    } catch (error) {
      const { code, message } = describeApiError(error);
      const failure: SecretFailure = code === 404 ? 'NotFound' : code === 403 ? 'Forbidden' : 'Failed';
      // The client's deadline ends the request with a TimeoutError; an abort for another reason is
      // an AbortError.
      const errorName = (error as { name?: unknown }).name;
      const aborted = errorName === 'TimeoutError' || errorName === 'AbortError';
      const detail = aborted ? `no answer within the API request deadline (${message})` : message;
      throw new SecretReadError(failure, name, code ? `HTTP ${code}: ${message}` : detail);
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
 * Reads the Secrets `plan` names (in the Consumer's namespace, in parallel, one GET each) and
 * builds the client options. Rejects with a CredentialsError whose message names every problem:
 * a missing Secret or key (`namespace/name` and the key), a Secret the operator may not read
 * (with the command that grants it), any other API error.
 */
export async function loadCredentials(
  reader: SecretReader,
  namespace: string,
  plan: CredentialsPlan<MetricsCredentials>,
): Promise<LoadedCredentials> {
  const uses = plan.uses;
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
  const built = buildCredentials(namespace, plan, secrets);
  if (built.problems.length > 0) throw new CredentialsError(built.problems.join('; '), false);
  return { version: credentialsVersion(secrets.values()), credentials: built.credentials };
}
