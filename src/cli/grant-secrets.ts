// `konsumerator grant-secrets`: the Role and RoleBinding a namespace owner applies so that the
// operator may `get` exactly the named Secrets of that namespace (the shipped ClusterRole grants
// nothing on Secrets). No list, no watch, no other Secret.
import type { KubernetesObject } from '@kubernetes/client-node';
import { toYaml } from './manifests.js';
import { DEFAULT_GRANT_NAME, DEFAULT_NAMESPACE, OPERATOR_NAME } from './version.js';

export { DEFAULT_GRANT_NAME } from './version.js';

export interface GrantSecretsOptions {
  /** Namespace of the Secrets (and of the Consumers that reference them). */
  namespace: string;
  secrets: string[];
  /** Namespace of the operator's ServiceAccount. */
  operatorNamespace?: string;
  /** The operator's ServiceAccount (default konsumerator). */
  serviceAccount?: string;
  /** Name of the Role and RoleBinding (default konsumerator-secrets). */
  name?: string;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function grantSecretsObjects(options: GrantSecretsOptions): KubernetesObject[] {
  const name = options.name ?? DEFAULT_GRANT_NAME;
  const operatorNamespace = options.operatorNamespace ?? DEFAULT_NAMESPACE;
  const serviceAccount = options.serviceAccount ?? OPERATOR_NAME;
  const secrets = [...new Set(options.secrets)];
  const problems: string[] = [];
  if (secrets.length === 0) problems.push('at least one --secret is needed');
  for (const secret of secrets)
    if (!DNS_SUBDOMAIN.test(secret) || secret.length > 253)
      problems.push(`invalid Secret name ${JSON.stringify(secret)}`);
  for (const [flag, value] of [
    ['--namespace', options.namespace],
    ['--operator-namespace', operatorNamespace],
  ] as const)
    if (!DNS_LABEL.test(value) || value.length > 63)
      problems.push(`invalid ${flag} ${JSON.stringify(value)}`);
  for (const [flag, value] of [
    ['--service-account', serviceAccount],
    ['--name', name],
  ] as const)
    if (!DNS_SUBDOMAIN.test(value) || value.length > 253)
      problems.push(`invalid ${flag} ${JSON.stringify(value)}`);
  if (problems.length > 0) throw new Error(problems.join('; '));

  const labels = { 'app.kubernetes.io/name': OPERATOR_NAME, 'app.kubernetes.io/component': 'secret-access' };
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace: options.namespace, labels },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: secrets, verbs: ['get'] }],
    } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace: options.namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: operatorNamespace }],
    } as KubernetesObject,
  ];
}

export function grantSecretsYaml(options: GrantSecretsOptions): string {
  const secrets = [...new Set(options.secrets)];
  const header =
    `# Lets the konsumerator operator get the Secret${secrets.length > 1 ? 's' : ''} ${secrets.join(', ')} ` +
    `in namespace ${options.namespace}, and nothing else.\n` +
    '# Applying it again replaces the list: name every Secret the operator needs here (or use --name).\n';
  return header + toYaml(grantSecretsObjects(options));
}
