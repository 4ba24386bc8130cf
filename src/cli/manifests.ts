// Everything needed to install the operator into a cluster: the CRD, a least-privilege RBAC and
// the operator's Deployment. `konsumerator manifests` prints these; deploy/ holds a copy.
// `konsumerator manifests --guest` prints guest mode's instead: a Role in one namespace, no CRD.
import type { KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { consumerCrd } from '../api/crd.js';
import { CRD_NAME, GROUP, PLURAL } from '../api/constants.js';
import { OPERATOR_NAME } from './version.js';

export { OPERATOR_NAME } from './version.js';

export interface ManifestOptions {
  namespace: string;
  image: string;
}

/**
 * The cluster-wide permissions: read Consumers, write their status, manage Deployments, record
 * events, read the Consumer CRD, resize pods.
 */
export function clusterRole(): KubernetesObject & { rules: unknown[] } {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: OPERATOR_NAME },
    rules: [
      { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['get', 'patch', 'update'] },
      // Needed to set blockOwnerDeletion on the Deployments' owner references.
      { apiGroups: [GROUP], resources: [`${PLURAL}/finalizers`], verbs: ['update'] },
      // Server-side apply creates through PATCH, which needs both create and patch.
      {
        apiGroups: ['apps'],
        resources: ['deployments'],
        verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
      },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      // Only the Consumer CRD, to check it is the one this version expects (its schema hash).
      {
        apiGroups: ['apiextensions.k8s.io'],
        resources: ['customresourcedefinitions'],
        resourceNames: [CRD_NAME],
        verbs: ['get'],
      },
      ...POD_RULES,
    ],
  };
}

/**
 * In-place resizes: read the instances' pods, and patch their resize subresource (which `patch`
 * on pods does not grant). Nothing else on pods: the operator never deletes or evicts one.
 */
const POD_RULES = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods/resize'], verbs: ['patch'] },
];

export function operatorManifests({ namespace, image }: ManifestOptions): KubernetesObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: OPERATOR_NAME, namespace } },
    clusterRole(),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: OPERATOR_NAME },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: OPERATOR_NAME },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR_NAME, namespace }],
    } as KubernetesObject,
    // Leader election: the replicas share one Lease in the operator's own namespace.
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: `${OPERATOR_NAME}-leader-election`, namespace },
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      ],
    } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `${OPERATOR_NAME}-leader-election`, namespace },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: `${OPERATOR_NAME}-leader-election`,
      },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR_NAME, namespace }],
    } as KubernetesObject,
    operatorDeployment(namespace, image, []),
  ];
}

/**
 * Guest mode's permissions, all in the one namespace it manages: read its ConfigMaps and patch
 * their annotations (status), manage Deployments, record events, resize pods, hold the leader Lease.
 */
export function guestRole(namespace: string): KubernetesObject & { rules: unknown[] } {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: OPERATOR_NAME, namespace },
    rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch', 'patch'] },
      // Needed to set blockOwnerDeletion on the Deployments' owner references (to their ConfigMap).
      { apiGroups: [''], resources: ['configmaps/finalizers'], verbs: ['update'] },
      {
        apiGroups: ['apps'],
        resources: ['deployments'],
        verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
      },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      ...POD_RULES,
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    ],
  };
}

/** Guest mode: ServiceAccount, Role, RoleBinding and the operator in an existing namespace; no CRD. */
export function guestManifests({ namespace, image }: ManifestOptions): KubernetesObject[] {
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: OPERATOR_NAME, namespace } },
    guestRole(namespace),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: OPERATOR_NAME, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: OPERATOR_NAME },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR_NAME, namespace }],
    } as KubernetesObject,
    operatorDeployment(namespace, image, [`--namespace=${namespace}`]),
  ];
}

function operatorDeployment(namespace: string, image: string, extraArgs: string[]): KubernetesObject {
  const labels = { 'app.kubernetes.io/name': OPERATOR_NAME };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: OPERATOR_NAME, namespace, labels },
    spec: {
      // Two replicas with leader election: one reconciles, the other takes over within the lease.
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: {
          labels,
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' },
        },
        spec: {
          serviceAccountName: OPERATOR_NAME,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'operator',
              image,
              args: [
                'run',
                '--leader-elect',
                '--metrics-bind-address=:8080',
                '--health-probe-bind-address=:8081',
                ...extraArgs,
              ],
              env: [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
              ports: [
                { name: 'metrics', containerPort: 8080 },
                { name: 'health', containerPort: 8081 },
              ],
              livenessProbe: { httpGet: { path: '/healthz', port: 'health' }, periodSeconds: 20 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'health' }, periodSeconds: 10 },
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    },
  } as KubernetesObject;
}

export const toYaml = (objects: readonly unknown[]) =>
  objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');

/** The files under deploy/: name → content. */
export function deployFiles(options: ManifestOptions): Record<string, string> {
  const header = '# Generated by `konsumerator manifests --out deploy`; do not edit.\n';
  return {
    'crd.yaml': header + toYaml([consumerCrd()]),
    'operator.yaml': header + toYaml(operatorManifests(options)),
  };
}
