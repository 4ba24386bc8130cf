// Renders the Deployment of one instance: the template, plus the original's names, labels,
// annotations, env vars and an owner reference, plus the sized containers' resources.
import type {
  V1Container,
  V1Deployment,
  V1OwnerReference,
  V1ResourceRequirements,
} from '@kubernetes/client-node';
import { Annotation, DEFAULT_CONTROLLED_VALUES, Env, Label, ScalingStatus } from '../api/constants.js';
import { sourceTypeOf } from '../api/guest.js';
import type { Consumer } from '../api/schema.js';
import { controlledValuesOf, policyFor, type ResolvedSpec } from '../api/resolve.js';
import type { Sizing } from '../autoscale/sizing.js';
import { applySizing, decideSizing, isSized, sizingOf } from './resources.js';
import { goMaxProcs, inPlaceGoMaxProcs, renderEnv } from './env.js';
import { largestCpuLimit, sizingUnderPolicy } from './limits.js';
import {
  formatResourcesAnnotation,
  instanceResources,
  sameCpuMemory,
  templateResources,
} from './instance-resources.js';
import { driftPaths } from './compare.js';
import { partitionsLabel } from './partitions.js';
import { toLabelValue } from './labels.js';
import { stableHash } from '../util/hash.js';

export interface Instance {
  id: number;
  partitions: number[];
  name: string;
}

/** What the autoscaler decided for one instance. */
export interface InstanceOverride {
  /** The container whose resources follow the metrics. */
  container: string;
  sizing: Sizing;
  scaling: { status: string; changedAt: Date | undefined; saturationMillis: number | undefined };
}

export interface InPlaceRendering {
  /** The scaled container. */
  container: string;
  /** The instance must roll to `desired` (the container's resources): its pods cannot be resized to them. */
  mustRoll: (instanceId: number, desired: V1ResourceRequirements) => boolean;
}

export interface RenderContext {
  consumer: Consumer;
  resolved: ResolvedSpec;
  numInstances: number;
  /** Hash of spec.deploymentTemplate, written to the `generation` annotation as the original did. */
  templateHash: string;
  /** Resources for a container of a new instance taken from running instances, if that fallback applies. */
  fallbackFromRunning: (containerName: string) => Sizing | undefined;
  /** Autoscaler decisions by instance id, for the instances it decided about in this reconcile. */
  overrides?: ReadonlyMap<number, InstanceOverride>;
  /** In-place actuation of the scaled container's resources; absent: decisions roll out (the original). */
  inPlace?: InPlaceRendering;
  /** Instance Deployments whose replica count another autoscaler keeps: not rendered (see autoscalers.ts). */
  replicasKeptElsewhere?: ReadonlySet<string>;
  now: Date;
}

/** An instance's Deployment name: `<spec.name>-<id>`. */
export const instanceName = (prefix: string, id: number) => `${prefix}-${id}`;

/** The instance id a Deployment name stands for (the inverse of instanceName), if it is one. */
export function instanceIdFromName(name: string, prefix: string): number | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined;
  const rest = name.slice(prefix.length + 1);
  // Ids as instanceName writes them: no sign, no leading zero, at most 9 digits (as consumer-id).
  return /^(0|[1-9][0-9]{0,8})$/.test(rest) ? Number(rest) : undefined;
}

/** The Consumer resource, or in guest mode its ConfigMap, controls the Deployment. */
export function ownerReference(consumer: Consumer): V1OwnerReference {
  return {
    ...sourceTypeOf(consumer),
    name: consumer.metadata.name,
    uid: consumer.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** RFC 3339 at second precision, as the original wrote the scaling-status-change annotation. */
export const rfc3339Seconds = (time: Date) => time.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** How the scaled container of an instance is rendered under in-place actuation. */
type ScaledRendering =
  /** The template carries the decision (a new instance, a rollout, or the Rollout actuation). */
  | 'decision'
  /** The template keeps the resources it has; the decision goes to the annotation (in-place). */
  | 'kept';

/** The resources a sized container gets: the autoscaler's decision or the fallback, under its controlledValues. */
function decidedResources(
  ctx: RenderContext,
  instance: Instance,
  container: V1Container,
  currentResources: V1ResourceRequirements | undefined,
  isNewInstance: boolean,
): V1ResourceRequirements | undefined {
  const { resolved } = ctx;
  const override = ctx.overrides?.get(instance.id);
  const policy = policyFor(resolved.containerPolicies, container.name);
  let sizing: Sizing;
  if (override && override.container === container.name) sizing = override.sizing;
  else if (isSized(resolved.containerPolicies, container.name))
    sizing = decideSizing({
      policy,
      current: isNewInstance ? undefined : { name: container.name, resources: currentResources },
      strategy: resolved.fallbackStrategy,
      fallbackFromRunning: isNewInstance ? ctx.fallbackFromRunning(container.name) : undefined,
    });
  else return container.resources;
  return applySizing(
    container.resources,
    sizingUnderPolicy(sizing, policy, container.resources),
    currentResources,
  );
}

/** GOMAXPROCS of a container: undefined = from its CPU limit (the original), null = not set. */
function goMaxProcsFor(
  ctx: RenderContext,
  container: V1Container,
  resources: V1ResourceRequirements | undefined,
  current: V1Container | undefined,
  scaled: ScaledRendering | undefined,
): string | null | undefined {
  const { resolved } = ctx;
  const policy = policyFor(resolved.containerPolicies, container.name);
  const sized = isSized(resolved.containerPolicies, container.name);
  const cpuLimit = sizingOf(resources).cpuLimit;
  if (scaled !== undefined) {
    // Kept as it is while it is what the original's rule gives for the kept limit: an instance
    // made before in-place resizing keeps its pods (see the GoMaxProcs check in src/actuate).
    const live = current?.env?.find((e) => e.name === Env.goMaxProcs);
    if (scaled === 'kept' && live?.value !== undefined && live.value === goMaxProcs(cpuLimit))
      return live.value;
    return inPlaceGoMaxProcs(largestCpuLimit(policy, container.resources)) ?? null;
  }
  // A sized container left without a CPU limit by its controlledValues: the original's rule
  // would say 1; not set, the Go runtime uses what it may.
  if (sized && cpuLimit === undefined && controlledValuesOf(policy) !== DEFAULT_CONTROLLED_VALUES)
    return null;
  return undefined;
}

function renderContainer(
  ctx: RenderContext,
  instance: Instance,
  container: V1Container,
  current: V1Container | undefined,
  currentDeployment: V1Deployment | undefined,
  scaled: ScaledRendering | undefined,
): V1Container {
  const { resolved } = ctx;
  // What the instance's pods run with: the template's resources, or the annotation's after in-place resizes.
  const truth = currentDeployment ? instanceResources(currentDeployment, container.name) : undefined;
  const decided = decidedResources(ctx, instance, container, truth, currentDeployment === undefined);
  const resources = scaled === 'kept' ? current?.resources : decided;
  const env = renderEnv(
    container.env,
    {
      partitionEnvKey: resolved.partitionEnvKey,
      partitions: instance.partitions,
      instanceId: instance.id,
      numPartitions: resolved.numPartitions,
      numInstances: ctx.numInstances,
      goMemLimitRatio: resolved.goMemLimitRatio,
      balanced: resolved.balanced,
    },
    sizingOf(resources),
    current?.env,
    goMaxProcsFor(ctx, container, resources, current, scaled),
  );
  const rendered: V1Container = { ...container, env };
  if (resources && Object.keys(resources).length > 0) rendered.resources = resources;
  else delete rendered.resources;
  return rendered;
}

function scalingAnnotations(
  current: V1Deployment | undefined,
  override: InstanceOverride | undefined,
  now: Date,
): Record<string, string> {
  if (override) {
    const { status, changedAt, saturationMillis } = override.scaling;
    return {
      [Annotation.scalingStatus]: status,
      [Annotation.scalingStatusChange]: rfc3339Seconds(changedAt ?? now),
      ...(saturationMillis !== undefined
        ? { [Annotation.cpuSaturationLevel]: String(saturationMillis) }
        : {}),
    };
  }
  const annotations = current?.metadata?.annotations ?? {};
  const status = annotations[Annotation.scalingStatus];
  if (!status) {
    return {
      [Annotation.scalingStatus]: ScalingStatus.running,
      [Annotation.scalingStatusChange]: rfc3339Seconds(now),
    };
  }
  const kept: Record<string, string> = { [Annotation.scalingStatus]: status };
  for (const key of [Annotation.scalingStatusChange, Annotation.cpuSaturationLevel]) {
    if (annotations[key] !== undefined) kept[key] = annotations[key];
  }
  return kept;
}

/**
 * The Deployment konsumerator applies for `instance`. `current` is the instance's existing
 * Deployment, if any: its resources and scaling state are carried over, so re-rendering an
 * unchanged instance gives exactly what it already has.
 *
 * Under in-place actuation the scaled container's resources in the template stay as they are and
 * the decision goes to the `resources` annotation (the pods are resized to it), unless the
 * template changes anyway (the new pods then start at the decision: no extra rollout) or the
 * instance must roll (`inPlace.mustRoll`: its pods cannot be resized to the decision).
 */
export function renderInstance(
  ctx: RenderContext,
  instance: Instance,
  current: V1Deployment | undefined,
): V1Deployment {
  const inPlace = ctx.inPlace;
  if (!inPlace || !current)
    return withRenderHash(renderWith(ctx, instance, current, inPlace ? 'decision' : undefined));
  const kept = renderWith(ctx, instance, current, 'kept');
  const decided = renderWith(ctx, instance, current, 'decision');
  const decision = templateResources(decided, inPlace.container);
  const templateChanges = driftPaths(kept.spec?.template, current.spec?.template).length > 0;
  if (templateChanges || (decision !== undefined && inPlace.mustRoll(instance.id, decision)))
    return withRenderHash(decided);
  return withRenderHash(kept);
}

/** The render-hash annotation: a digest of everything rendered (only the render that is used pays for it). */
function withRenderHash(deployment: V1Deployment): V1Deployment {
  deployment.metadata!.annotations![Annotation.renderHash] = stableHash(deployment);
  return deployment;
}

function renderWith(
  ctx: RenderContext,
  instance: Instance,
  current: V1Deployment | undefined,
  scaled: ScaledRendering | undefined,
): V1Deployment {
  const { consumer } = ctx;
  const template = structuredClone(consumer.spec.deploymentTemplate);
  // The scale subresource's count replaces the template's; unset, the template stands as written.
  if (consumer.spec.replicas !== undefined) template.replicas = consumer.spec.replicas;
  const podSpec = template.template.spec;
  const currentContainers = current?.spec?.template?.spec?.containers ?? [];
  const scaledContainer = ctx.inPlace?.container;
  let resourcesAnnotation: string | undefined;
  if (podSpec) {
    podSpec.containers = podSpec.containers.map((c) => {
      const isScaled = scaled !== undefined && c.name === scaledContainer;
      const liveContainer = currentContainers.find((cc) => cc.name === c.name);
      const rendered = renderContainer(
        ctx,
        instance,
        c,
        liveContainer,
        current,
        isScaled ? scaled : undefined,
      );
      if (isScaled && scaled === 'kept') {
        const decided = decidedResources(
          ctx,
          instance,
          c,
          instanceResources(current, c.name),
          current === undefined,
        );
        if (!sameCpuMemory(decided, rendered.resources))
          resourcesAnnotation = formatResourcesAnnotation(c.name, decided ?? {});
      }
      return rendered;
    });
  }
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: instance.name,
      namespace: consumer.metadata.namespace,
      // The Consumer's deploymentMetadata first: the operator's own keys (refused there at apply) win.
      labels: {
        ...consumer.spec.deploymentMetadata?.labels,
        [Label.app]: toLabelValue(ctx.resolved.deploymentPrefix),
        [Label.controller]: toLabelValue(consumer.metadata.name),
        [Label.partitions]: partitionsLabel(instance.partitions),
      },
      annotations: {
        ...consumer.spec.deploymentMetadata?.annotations,
        [Annotation.partition]: instance.partitions.join(','),
        [Annotation.consumerId]: String(instance.id),
        [Annotation.generation]: ctx.templateHash,
        ...scalingAnnotations(current, ctx.overrides?.get(instance.id), ctx.now),
        ...(resourcesAnnotation !== undefined ? { [Annotation.resources]: resourcesAnnotation } : {}),
      },
      ownerReferences: [ownerReference(consumer)],
    },
    spec: template,
  };
  if (ctx.replicasKeptElsewhere?.has(instance.name)) delete deployment.spec!.replicas;
  return deployment;
}
