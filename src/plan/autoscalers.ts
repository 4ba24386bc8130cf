// Other autoscalers pointed at a Consumer's instance Deployments. konsumerator sizes each
// instance's pods from its partitions' lag, so:
//
// - a HorizontalPodAutoscaler on an instance is a conflict: more replicas of an instance consume
//   the same partitions (only one of them gets each partition's messages). It is reported, and
//   the HPA keeps the replica count: konsumerator stops writing `spec.replicas` of that Deployment
//   (otherwise each would set it back after the other, for ever) and goes on sizing its pods;
// - a VerticalPodAutoscaler on an instance that acts (`updateMode` other than `Off`) is a
//   conflict: both would size the same containers. It is reported; konsumerator goes on writing
//   the template and stops resizing those pods in place (the VPA sets the pods' resources);
// - a VerticalPodAutoscaler in `Off` mode only recommends: not a conflict;
// - an HPA on a balanced Consumer's Deployment (assignment Balanced) is not a conflict: its
//   replicas share the partitions, so the HPA may choose how many run; konsumerator leaves the
//   count to it and sizes each replica for its share.
import type { V2HorizontalPodAutoscaler } from '@kubernetes/client-node';

export const HPA_KIND = 'HorizontalPodAutoscaler';
export const VPA_KIND = 'VerticalPodAutoscaler';

/** What the operator needs of an HPA or a VPA. */
export interface AutoscalerRef {
  kind: typeof HPA_KIND | typeof VPA_KIND;
  name: string;
  namespace: string;
  target: { apiVersion?: string; kind?: string; name?: string };
  /** A VPA's `updatePolicy.updateMode` (absent: the VPA's default, which acts). */
  updateMode?: string;
}

export interface AutoscalerConflict {
  kind: AutoscalerRef['kind'];
  name: string;
  /** The instance Deployment it targets. */
  deployment: string;
}

/** The VPA object as the API returns it (no typed client for the CRD). */
export interface VerticalPodAutoscalerObject {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    targetRef?: { apiVersion?: string; kind?: string; name?: string };
    updatePolicy?: { updateMode?: string };
  };
}

export function hpaRef(hpa: V2HorizontalPodAutoscaler): AutoscalerRef {
  const target = hpa.spec?.scaleTargetRef;
  return {
    kind: HPA_KIND,
    name: hpa.metadata?.name ?? '',
    namespace: hpa.metadata?.namespace ?? '',
    target: { apiVersion: target?.apiVersion, kind: target?.kind, name: target?.name },
  };
}

export function vpaRef(vpa: VerticalPodAutoscalerObject): AutoscalerRef {
  const target = vpa.spec?.targetRef;
  const updateMode = vpa.spec?.updatePolicy?.updateMode;
  return {
    kind: VPA_KIND,
    name: vpa.metadata?.name ?? '',
    namespace: vpa.metadata?.namespace ?? '',
    target: { apiVersion: target?.apiVersion, kind: target?.kind, name: target?.name },
    ...(updateMode !== undefined ? { updateMode } : {}),
  };
}

/** A Deployment reference: kind Deployment of the `apps` group (any version, or none given). */
const isDeploymentRef = (target: AutoscalerRef['target']) =>
  target.kind === 'Deployment' &&
  (target.apiVersion === undefined || target.apiVersion === '' || target.apiVersion.startsWith('apps/'));

/** The autoscalers that conflict with konsumerator on the named instance Deployments. */
export function autoscalerConflicts(
  instanceDeployments: ReadonlySet<string>,
  autoscalers: readonly AutoscalerRef[],
): AutoscalerConflict[] {
  const conflicts = autoscalers
    .filter((a) => isDeploymentRef(a.target) && instanceDeployments.has(a.target.name ?? ''))
    .filter((a) => a.kind === HPA_KIND || a.updateMode !== 'Off')
    .map((a) => ({ kind: a.kind, name: a.name, deployment: a.target.name! }));
  return conflicts.sort(
    (a, b) =>
      a.deployment.localeCompare(b.deployment, 'en', { numeric: true }) ||
      a.kind.localeCompare(b.kind) ||
      a.name.localeCompare(b.name),
  );
}

/** The conflicts to report: for a balanced Consumer, an HPA is none (it may own the replica count). */
export const reportedConflicts = (conflicts: readonly AutoscalerConflict[], balanced: boolean) =>
  balanced ? conflicts.filter((c) => c.kind !== HPA_KIND) : [...conflicts];

/** The instance Deployments whose replica count an HPA keeps. */
export const replicasKeptByHpa = (conflicts: readonly AutoscalerConflict[]) =>
  new Set(conflicts.filter((c) => c.kind === HPA_KIND).map((c) => c.deployment));

/** The instance Deployments whose pods a VPA sizes. */
export const podsSizedByVpa = (conflicts: readonly AutoscalerConflict[]) =>
  new Set(conflicts.filter((c) => c.kind === VPA_KIND).map((c) => c.deployment));

/** One line for events and the condition: which autoscaler targets which instance. */
export function describeConflicts(conflicts: readonly AutoscalerConflict[]): string {
  const shown = conflicts
    .slice(0, 5)
    .map((c) => `${c.kind} ${c.name} targets ${c.deployment}`)
    .join('; ');
  const more = conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : '';
  const hpa = conflicts.some((c) => c.kind === HPA_KIND);
  const vpa = conflicts.some((c) => c.kind === VPA_KIND);
  return (
    `${shown}${more}: konsumerator sizes these instances from their partitions' lag` +
    (hpa ? '; the HPA keeps the replica count (konsumerator no longer writes it)' : '') +
    (vpa ? '; the VPA sizes the pods (konsumerator writes the template, resizes no pod in place)' : '') +
    '; remove the other autoscaler, or target something else'
  );
}
