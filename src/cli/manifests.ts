// Everything needed to install the operator into a cluster: the CRD, a least-privilege RBAC, the
// operator's Deployment and the Service of its /metrics, and the ClusterRoles that let namespace
// editors and viewers use Consumers. `konsumerator manifests` prints these; deploy/ holds a copy,
// and the Helm chart (deploy/helm/konsumerator) renders the same objects (a test compares them).
// `konsumerator manifests --guest` prints guest mode's instead: a Role in one namespace, no CRD.
import type { KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { consumerCrd } from '../api/crd.js';
import { CRD_NAME, GROUP, PLURAL } from '../api/constants.js';
import { containerSecurityContext, OPERATOR_COMMAND, podSecurityContext } from './image.js';
import { monitoringManifests } from './monitoring.js';
import { OPERATOR_CPU_REQUEST, OPERATOR_MEMORY } from './sizing.js';
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
      ...REPLICA_SET_RULES,
      ...AUTOSCALER_RULES,
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
 * Recreating an instance whose immutable fields changed: the old Deployment's ReplicaSets are
 * marked (an owner reference to the Consumer, a label), kept running, and deleted once the new
 * pods are available.
 */
const REPLICA_SET_RULES = [
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list', 'watch', 'patch', 'delete'] },
];

/**
 * HorizontalPodAutoscalers and VerticalPodAutoscalers (where the VPA's CRD is installed), read
 * only: one that targets an instance Deployment is reported as a conflict.
 */
const AUTOSCALER_RULES = [
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list', 'watch'] },
  { apiGroups: ['autoscaling.k8s.io'], resources: ['verticalpodautoscalers'], verbs: ['list', 'watch'] },
];

/**
 * In-place resizes: read the instances' pods, and patch their resize subresource (which `patch`
 * on pods does not grant). Nothing else on pods: the operator never deletes or evicts one.
 */
const POD_RULES = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods/resize'], verbs: ['patch'] },
];

/** The labels of the operator's pods (the Deployment's selector) and of its Service. */
export const OPERATOR_LABELS = { 'app.kubernetes.io/name': OPERATOR_NAME } as const;
export const METRICS_PORT = 8080;
export const HEALTH_PORT = 8081;

/**
 * ClusterRoles that the built-in `admin`, `edit` and `view` roles aggregate, so that whoever may
 * edit (or view) a namespace may do the same with its Consumers, without a grant of their own.
 */
export function aggregatedClusterRoles(): KubernetesObject[] {
  const aggregate = (roles: string[]) =>
    Object.fromEntries(roles.map((r) => [`rbac.authorization.k8s.io/aggregate-to-${r}`, 'true']));
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${OPERATOR_NAME}-consumers-edit`, labels: aggregate(['admin', 'edit']) },
      rules: [
        {
          apiGroups: [GROUP],
          resources: [PLURAL],
          verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'],
        },
        { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['get', 'list', 'watch'] },
        // kubectl scale consumer/<name> and konsumerator stop/start.
        { apiGroups: [GROUP], resources: [`${PLURAL}/scale`], verbs: ['get', 'update', 'patch'] },
      ],
    } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${OPERATOR_NAME}-consumers-view`, labels: aggregate(['view']) },
      rules: [
        {
          apiGroups: [GROUP],
          resources: [PLURAL, `${PLURAL}/status`, `${PLURAL}/scale`],
          verbs: ['get', 'list', 'watch'],
        },
      ],
    } as KubernetesObject,
  ];
}

/** The Service in front of the operator's /metrics (every replica; the leader's carry the Consumers). */
export function metricsService(namespace: string): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: OPERATOR_NAME, namespace, labels: { ...OPERATOR_LABELS } },
    spec: {
      selector: { ...OPERATOR_LABELS },
      ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' }],
    },
  } as KubernetesObject;
}

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
    metricsService(namespace),
    ...aggregatedClusterRoles(),
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
      ...REPLICA_SET_RULES,
      ...AUTOSCALER_RULES,
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
    metricsService(namespace),
  ];
}

function operatorDeployment(namespace: string, image: string, extraArgs: string[]): KubernetesObject {
  const labels = { ...OPERATOR_LABELS };
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
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(METRICS_PORT) },
        },
        spec: {
          serviceAccountName: OPERATOR_NAME,
          securityContext: podSecurityContext(),
          containers: [
            {
              name: 'operator',
              image,
              // The operator's Node flags, which the image's entry point (shared by every verb) lacks.
              command: [...OPERATOR_COMMAND],
              args: [
                'run',
                '--leader-elect',
                `--metrics-bind-address=:${METRICS_PORT}`,
                `--health-probe-bind-address=:${HEALTH_PORT}`,
                ...extraArgs,
              ],
              env: [
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                // The heap may grow to 3/4 of the memory limit: the limit, not V8's own cap, binds.
                { name: 'NODE_OPTIONS', value: `--max-old-space-size=${OPERATOR_MEMORY.heapMiB}` },
              ],
              ports: [
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
                { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
              ],
              livenessProbe: { httpGet: { path: '/healthz', port: 'health' }, periodSeconds: 20 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'health' }, periodSeconds: 10 },
              // Sized for SIZED_FOR_DEPLOYMENTS managed Deployments from the benchmark's figures
              // (src/cli/sizing.ts; the table for other counts is in docs/install.md).
              resources: {
                requests: { cpu: OPERATOR_CPU_REQUEST, memory: `${OPERATOR_MEMORY.requestMiB}Mi` },
                limits: { memory: `${OPERATOR_MEMORY.limitMiB}Mi` },
              },
              securityContext: containerSecurityContext(),
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
    'monitoring.yaml':
      header +
      '# Needs the Prometheus Operator (its ServiceMonitor and PrometheusRule CRDs); not part of operator.yaml.\n' +
      toYaml(monitoringManifests(options.namespace)),
  };
}
