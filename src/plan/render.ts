// Renders the Deployment of one instance: the template, plus the original's names, labels,
// annotations, env vars and an owner reference, plus the sized containers' resources.
import type { V1Container, V1Deployment, V1OwnerReference } from '@kubernetes/client-node';
import { Annotation, Label, ScalingStatus } from '../api/constants.js';
import { sourceTypeOf } from '../api/guest.js';
import type { Consumer } from '../api/schema.js';
import { policyFor, type ResolvedSpec } from '../api/resolve.js';
import type { Sizing } from '../autoscale/sizing.js';
import { applySizing, decideSizing, isSized, sizingOf } from './resources.js';
import { renderEnv } from './env.js';
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

function renderContainer(
  ctx: RenderContext,
  instance: Instance,
  container: V1Container,
  current: V1Container | undefined,
  isNewInstance: boolean,
): V1Container {
  const { resolved } = ctx;
  let resources = container.resources;
  const override = ctx.overrides?.get(instance.id);
  if (override && override.container === container.name) {
    resources = applySizing(container.resources, override.sizing, current?.resources);
  } else if (isSized(resolved.containerPolicies, container.name)) {
    const sizing = decideSizing({
      policy: policyFor(resolved.containerPolicies, container.name),
      current: isNewInstance ? undefined : current,
      strategy: resolved.fallbackStrategy,
      fallbackFromRunning: isNewInstance ? ctx.fallbackFromRunning(container.name) : undefined,
    });
    resources = applySizing(container.resources, sizing, current?.resources);
  }
  const env = renderEnv(
    container.env,
    {
      partitionEnvKey: resolved.partitionEnvKey,
      partitions: instance.partitions,
      instanceId: instance.id,
      numPartitions: resolved.numPartitions,
      numInstances: ctx.numInstances,
      goMemLimitRatio: resolved.goMemLimitRatio,
    },
    sizingOf(resources),
    current?.env,
  );
  const rendered: V1Container = { ...container, env };
  if (resources && Object.keys(resources).length > 0) rendered.resources = resources;
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
 */
export function renderInstance(
  ctx: RenderContext,
  instance: Instance,
  current: V1Deployment | undefined,
): V1Deployment {
  const { consumer } = ctx;
  const template = structuredClone(consumer.spec.deploymentTemplate);
  const podSpec = template.template.spec;
  const currentContainers = current?.spec?.template?.spec?.containers ?? [];
  if (podSpec) {
    podSpec.containers = podSpec.containers.map((c) =>
      renderContainer(
        ctx,
        instance,
        c,
        currentContainers.find((cc) => cc.name === c.name),
        current === undefined,
      ),
    );
  }
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: instance.name,
      namespace: consumer.metadata.namespace,
      labels: {
        [Label.app]: toLabelValue(ctx.resolved.deploymentPrefix),
        [Label.controller]: toLabelValue(consumer.metadata.name),
        [Label.partitions]: partitionsLabel(instance.partitions),
      },
      annotations: {
        [Annotation.partition]: instance.partitions.join(','),
        [Annotation.consumerId]: String(instance.id),
        [Annotation.generation]: ctx.templateHash,
        ...scalingAnnotations(current, ctx.overrides?.get(instance.id), ctx.now),
      },
      ownerReferences: [ownerReference(consumer)],
    },
    spec: template,
  };
  deployment.metadata!.annotations![Annotation.renderHash] = stableHash(deployment);
  return deployment;
}
