// The operator as a real process (`konsumerator run`, through tsx), each with its own identity: a
// ServiceAccount of the audited namespace bound to the shipped ClusterRole and leader-election
// Role, so that the API server's audit log (see src/testplane/apiserver.ts) tells which process
// made each request.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { applyObjects } from '../../src/cli/install.js';
import { OPERATOR_NAME, operatorManifests } from '../../src/cli/manifests.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { AUDITED_NAMESPACE } from '../../src/testplane/apiserver.js';
import { startProcess, type ManagedProcess } from '../../src/testplane/process.js';
import { kubeConfig, testEnv } from './env.js';
import { TEST_FIELD_MANAGER } from './crd.js';

export { AUDITED_NAMESPACE };

// Inside the plane's run directory, which `npm test` removes after a passing run (and keeps, with
// the operators' logs, after a failing one).
const planeDir = process.env.KONSUMERATOR_TEST_ENV ? dirname(process.env.KONSUMERATOR_TEST_ENV) : tmpdir();
const workDir = mkdtempSync(join(planeDir, 'operator-processes-'));

/**
 * Creates ServiceAccount `name` in the audited namespace with the operator's permissions (the
 * shipped ClusterRole and leader-election Role) and returns a kubeconfig file with a token of it.
 */
export async function auditedOperatorIdentity(name: string): Promise<string> {
  const admin = kubeConfig();
  const shipped = operatorManifests({ namespace: AUDITED_NAMESPACE, image: 'unused' });
  const keep = new Set(['Namespace', 'ClusterRole', 'Role']);
  const binding = (kind: 'ClusterRoleBinding' | 'RoleBinding', role: string): KubernetesObject =>
    ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind,
      metadata: {
        name: `${OPERATOR_NAME}-${name}`,
        ...(kind === 'RoleBinding' ? { namespace: AUDITED_NAMESPACE } : {}),
      },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: kind.replace('Binding', ''), name: role },
      subjects: [{ kind: 'ServiceAccount', name, namespace: AUDITED_NAMESPACE }],
    }) as KubernetesObject;
  await applyObjects(
    admin,
    [
      ...shipped.filter((o) => keep.has(o.kind!)),
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: AUDITED_NAMESPACE } },
      binding('ClusterRoleBinding', OPERATOR_NAME),
      binding('RoleBinding', `${OPERATOR_NAME}-leader-election`),
    ],
    TEST_FIELD_MANAGER,
  );
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name,
    namespace: AUDITED_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const env = testEnv();
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'plane', server: env.apiServerUrl, caFile: env.caFile }],
    users: [{ name, token: token.status!.token }],
    contexts: [{ name, cluster: 'plane', user: name }],
    currentContext: name,
  });
  const file = join(workDir, `${name}.kubeconfig`);
  writeFileSync(file, config.exportConfig(), { mode: 0o600 });
  return file;
}

export const auditedUser = (serviceAccount: string) =>
  `system:serviceaccount:${AUDITED_NAMESPACE}:${serviceAccount}`;

/** Short leader-election timings for tests (the defaults are 15 s, 10 s, 2 s). */
export const TEST_LEASE = { leaseMs: 3000, renewMs: 2000, retryMs: 500 };

/** `konsumerator run --leader-elect …` as the given identity; its log goes to a file. */
export function startOperatorProcess(options: {
  name: string;
  kubeconfigFile: string;
  leaseName: string;
  extraArgs?: string[];
}): ManagedProcess {
  const { leaseMs, renewMs, retryMs } = TEST_LEASE;
  return startProcess({
    name: options.name,
    // node --import tsx directly (not the tsx CLI): the pid is the operator itself, so a SIGKILL
    // hits it and nothing else.
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      join(REPO_ROOT, 'src', 'cli', 'main.ts'),
      'run',
      `--kubeconfig=${options.kubeconfigFile}`,
      '--leader-elect',
      `--leader-election-namespace=${AUDITED_NAMESPACE}`,
      `--leader-election-id=${options.leaseName}`,
      `--leader-elect-lease-duration=${leaseMs}ms`,
      `--leader-elect-renew-deadline=${renewMs}ms`,
      `--leader-elect-retry-period=${retryMs}ms`,
      '--metrics-bind-address=',
      '--health-probe-bind-address=',
      `--log-level=${process.env.KONSUMERATOR_TEST_LOGS ? 'debug' : 'info'}`,
      ...(options.extraArgs ?? []),
    ],
    cwd: REPO_ROOT,
    logFile: join(workDir, `${options.name}.log`),
  });
}

export const processLog = (name: string) => join(workDir, `${name}.log`);

export async function leaseHolder(leaseName: string): Promise<string | undefined> {
  try {
    const lease = await kubeConfig()
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: AUDITED_NAMESPACE, name: leaseName });
    return lease.spec?.holderIdentity || undefined;
  } catch {
    return undefined;
  }
}

export interface AuditEvent {
  verb: string;
  user: string;
  resource: string;
  name: string;
  namespace: string;
  code: number;
  /** Epoch milliseconds (the API server's clock, microseconds kept as fractions). */
  received: number;
  completed: number;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** The audit log's completed requests of the given users (all of them when users is empty). */
export function auditEvents(users: readonly string[] = []): AuditEvent[] {
  const path = testEnv().auditLogPath;
  if (!path) throw new Error('the test plane runs without an audit log (start it with auditLog: true)');
  const wanted = new Set(users);
  const events: AuditEvent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as {
      stage: string;
      verb: string;
      user: { username: string };
      objectRef?: { resource?: string; subresource?: string; name?: string; namespace?: string };
      responseStatus?: { code?: number };
      requestReceivedTimestamp: string;
      stageTimestamp: string;
    };
    if (e.stage !== 'ResponseComplete') continue;
    if (wanted.size > 0 && !wanted.has(e.user.username)) continue;
    const ref = e.objectRef ?? {};
    events.push({
      verb: e.verb,
      user: e.user.username,
      resource: `${ref.resource ?? ''}${ref.subresource ? `/${ref.subresource}` : ''}`,
      name: ref.name ?? '',
      namespace: ref.namespace ?? '',
      code: e.responseStatus?.code ?? 0,
      received: preciseTime(e.requestReceivedTimestamp),
      completed: preciseTime(e.stageTimestamp),
    });
  }
  return events;
}

/** Writes the API server accepted (2xx): refused attempts (409 on the Lease) change nothing. */
export const successfulWrites = (events: readonly AuditEvent[]) =>
  events.filter((e) => WRITE_VERBS.has(e.verb) && e.code >= 200 && e.code < 300);

/** RFC 3339 with microseconds → epoch ms with the fraction kept. */
function preciseTime(text: string): number {
  const match = /\.(\d+)Z$/.exec(text);
  const whole = Date.parse(text.replace(/\.\d+Z$/, 'Z'));
  return match ? whole + Number(`0.${match[1]}`) * 1000 : whole;
}
