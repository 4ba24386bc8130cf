// Informers on the other autoscalers that may target instance Deployments: HorizontalPodAutoscalers
// (autoscaling/v2, always there) and VerticalPodAutoscalers (autoscaling.k8s.io/v1, only where the
// VPA's CRD is installed: looked for at start and then every minute until found). Neither blocks
// the operator's start: until they have listed, no conflict is reported.
import type { KubernetesObject, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import { ResourceCache, type WatchTiming } from './cache.js';
import { withoutManagedFields } from './trim.js';
import { hpaRef, vpaRef, type AutoscalerRef, type VerticalPodAutoscalerObject } from '../plan/autoscalers.js';
import type { Logger } from '../util/log.js';

const VPA_GROUP = 'autoscaling.k8s.io';
const VPA_VERSION = 'v1';
const VPA_PLURAL = 'verticalpodautoscalers';
const DISCOVERY_INTERVAL_MS = 60_000;

type VpaObject = KubernetesObject & VerticalPodAutoscalerObject;

export interface AutoscalerWatchOptions {
  kubeConfig: KubeClient;
  log: Logger;
  /** Guest mode: only this namespace. */
  namespace?: string;
  /** Called with the namespace of an HPA or VPA that changed. */
  onChange: (namespace: string) => void;
  watchTiming?: WatchTiming;
  discoveryIntervalMs?: number;
}

/** An HPA as the cache keeps it: metadata and the target. */
const trimHpa = (hpa: V2HorizontalPodAutoscaler): V2HorizontalPodAutoscaler => {
  withoutManagedFields(hpa);
  const { scaleTargetRef, maxReplicas } = hpa.spec;
  return { ...(hpa.metadata ? { metadata: hpa.metadata } : {}), spec: { scaleTargetRef, maxReplicas } };
};

/** A VPA as the cache keeps it: metadata, the target and the update mode. */
const trimVpa = (vpa: VpaObject): VpaObject => {
  withoutManagedFields(vpa);
  const spec = vpa.spec;
  return {
    metadata: vpa.metadata,
    ...(spec
      ? {
          spec: {
            ...(spec.targetRef ? { targetRef: spec.targetRef } : {}),
            ...(spec.updatePolicy?.updateMode !== undefined
              ? { updatePolicy: { updateMode: spec.updatePolicy.updateMode } }
              : {}),
          },
        }
      : {}),
  };
};

export class AutoscalerWatch {
  private readonly hpas: ResourceCache<V2HorizontalPodAutoscaler>;
  private vpas: ResourceCache<VpaObject> | undefined;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: AutoscalerWatchOptions) {
    const { kubeConfig, namespace, log } = options;
    this.hpas = new ResourceCache<V2HorizontalPodAutoscaler>(
      kubeConfig,
      namespace
        ? `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers`
        : '/apis/autoscaling/v2/horizontalpodautoscalers',
      log.child({ cache: 'horizontalpodautoscalers' }),
      trimHpa,
      options.watchTiming,
    );
    this.hpas.onChange((hpa) => options.onChange(hpa.metadata?.namespace ?? ''));
  }

  /** Starts the HPA informer and the search for the VPA API; resolves without waiting for either. */
  start(): void {
    this.hpas.start().catch((error: unknown) => this.options.log.warn({ err: String(error) }, 'HPA watch'));
    this.discover();
  }

  /** The HPAs and VPAs of a namespace. */
  list(namespace: string): AutoscalerRef[] {
    return [...this.hpas.list(namespace).map(hpaRef), ...(this.vpas?.list(namespace).map(vpaRef) ?? [])];
  }

  private discover(): void {
    if (this.stopped || this.vpas) return;
    const { kubeConfig, log } = this.options;
    kubeConfig
      .get<{ groups: { name: string; versions: { version: string }[] }[] }>('/apis')
      .then((groups) => {
        const group = groups.groups.find((g) => g.name === VPA_GROUP);
        if (group?.versions.some((v) => v.version === VPA_VERSION)) this.watchVpas();
      })
      .catch((error: unknown) => log.warn({ err: String(error) }, 'API discovery failed'))
      .finally(() => {
        if (this.stopped || this.vpas) return;
        this.discoveryTimer = setTimeout(
          () => this.discover(),
          this.options.discoveryIntervalMs ?? DISCOVERY_INTERVAL_MS,
        );
        this.discoveryTimer.unref();
      });
  }

  private watchVpas(): void {
    if (this.stopped || this.vpas) return;
    const { kubeConfig, namespace, log } = this.options;
    const path = namespace
      ? `/apis/${VPA_GROUP}/${VPA_VERSION}/namespaces/${namespace}/${VPA_PLURAL}`
      : `/apis/${VPA_GROUP}/${VPA_VERSION}/${VPA_PLURAL}`;
    this.vpas = new ResourceCache<VpaObject>(
      kubeConfig,
      path,
      log.child({ cache: VPA_PLURAL }),
      trimVpa,
      this.options.watchTiming,
    );
    this.vpas.onChange((vpa) => this.options.onChange(vpa.metadata?.namespace ?? ''));
    log.info('the VerticalPodAutoscaler API is installed: watching VPAs');
    this.vpas.start().catch((error: unknown) => log.warn({ err: String(error) }, 'VPA watch'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.discoveryTimer);
    await Promise.all([this.hpas.stop(), this.vpas?.stop()]);
  }
}
