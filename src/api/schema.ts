// The Consumer API, defined once: the TypeScript types are derived from these schemas, and the
// CRD in deploy/ is generated from them (see crd.ts). Every field of the original operator keeps
// its name, type and meaning; everything new is optional.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { V1DeploymentSpec } from '@kubernetes/client-node';
import { deploymentTemplateSchema } from './deployment-template-schema.js';
import { Actuation, Assignment, ControlledValues, Env, GROUP, Label } from './constants.js';
import {
  Duration,
  object,
  q,
  Quantity,
  rules,
  StringEnum,
  StringMap,
  type Rule,
} from '../util/schema-parts.js';
import type { KafkaSection } from '../metrics/sources/kafka.js';
import type { PrometheusSection } from '../metrics/sources/prometheus.js';
import { describeModes, METRICS_MODES, sectionSchemas, specRules } from '../metrics/sources/index.js';

export { Quantity } from '../util/schema-parts.js';

/** Env vars the operator injects besides the partition list. */
const RESERVED_ENV = [Env.instance, Env.numPartitions, Env.numInstances, Env.goMaxProcs, Env.goMemLimit];

const nonNegativeQuantities = {
  rule: `self.all(k, !${q('self[k]')}.isLessThan(quantity('0')))`,
  message: 'resource quantities must not be negative',
};

const ResourceList = (description: string) =>
  StringMap(Quantity, { description, maxProperties: 32, ...rules(nonNegativeQuantities) });

const sectionRequired = (mode: string): Rule => ({
  rule: `self.mode != '${mode}' || has(self.${mode})`,
  message: `mode ${mode} requires the ${mode} section`,
  fieldPath: `.${mode}`,
  reason: 'FieldValueRequired',
});

export const Autoscaler = object(
  {
    mode: StringEnum([...METRICS_MODES, 'none', 'vpa', ''], {
      description:
        `Metrics source: ${describeModes()}; ` +
        '"none" (and the legacy "vpa" and "") only runs the instances with the resource policy fallback.',
    }),
    pendingScaleUpDuration: Type.Optional(
      Duration('How long an instance stays PENDING_SCALE_UP before it grows (default 5m; 0 means at once).'),
    ),
    pendingScaleDownDuration: Type.Optional(
      Duration(
        'How long an instance stays PENDING_SCALE_DOWN before it shrinks (default 15m; 0 means at once).',
      ),
    ),
    scaleDownAfterLagFreeSyncs: Type.Optional(
      Type.Integer({
        description:
          '(new) Consecutive metric syncs without lag an instance needs before it may shrink (default 3).',
        minimum: 1,
        maximum: 1000,
      }),
    ),
    predictor: Type.Optional(
      StringEnum(['proactive', 'naive'], {
        description:
          '(new) How metrics become resources: proactive (default) = production + the backlog drained within min(recoveryTime, tolerableLag), scaling up before the lag reaches tolerableLag; naive = the original formula and rules.',
      }),
    ),
    learnRatePerCore: Type.Optional(
      Type.Boolean({
        description:
          '(new) Learn what a core really processes from the reads (consumption per requested core while an ' +
          'instance is behind; a lower bound while it keeps up) and size with it once confident, within ' +
          '[ratePerCore/4, ratePerCore×4] (default true, but false with actuation Rollout, whose probes would restart pods; ' +
          'false turns it off; always off with predictor naive). ' +
          'status.capacity shows it.',
      }),
    ),
    dryRun: Type.Optional(
      Type.Boolean({
        description:
          '(new) Read metrics and decide, but change nothing: the recommendations appear in status.instances.',
      }),
    ),
    actuation: Type.Optional(
      StringEnum(Object.values(Actuation), {
        description:
          '(new) How a resource decision reaches the pods: InPlaceOrRollout (default) resizes the running pods in ' +
          'place (pods/resize, no restart) and rolls the instance out when a node cannot apply the resize; ' +
          'InPlace only resizes in place and reports a resize a node cannot apply; Rollout changes the pod ' +
          'template (a rolling update), as the original did. API servers without in-place resize (before 1.33) get rollouts.',
      }),
    ),
    container: Type.Optional(
      Type.String({
        description:
          '(new) The container whose resources follow the metrics (default: the first container with an Auto ' +
          'policy whose CPU range is not fixed, else the first with an Auto policy).',
        maxLength: 63,
        pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      }),
    ),
    // One section per metrics source (src/metrics/sources/), named by its mode.
    ...sectionSchemas(),
  },
  {
    description: 'How resources are estimated.',
    ...rules(...METRICS_MODES.map(sectionRequired)),
  },
);

const minNotAboveMax = (resource: string): Rule => ({
  rule:
    `!has(self.minAllowed) || !has(self.maxAllowed) || !('${resource}' in self.minAllowed) || ` +
    `!('${resource}' in self.maxAllowed) || ${q(`self.minAllowed['${resource}']`)}.compareTo(${q(`self.maxAllowed['${resource}']`)}) <= 0`,
  message: `minAllowed.${resource} must not be greater than maxAllowed.${resource}`,
  fieldPath: '.minAllowed',
});

/** A zero maximum would give the container no CPU, or a GOMEMLIMIT of 0 (a Go program that only collects garbage). */
const maxAboveZero = (resource: string): Rule => ({
  rule: `!has(self.maxAllowed) || !('${resource}' in self.maxAllowed) || ${q(`self.maxAllowed['${resource}']`)}.isGreaterThan(quantity('0'))`,
  message: `maxAllowed.${resource} must be greater than zero`,
  fieldPath: '.maxAllowed',
});

export const ContainerPolicy = object(
  {
    containerName: Type.String({
      description: 'Container name, or "*" for the default policy of containers without their own.',
      minLength: 1,
      maxLength: 63,
      pattern: '^(\\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$',
    }),
    mode: Type.Optional(
      StringEnum(['Auto', 'Off'], {
        description: 'Auto (default) lets the operator size the container; Off keeps the template resources.',
      }),
    ),
    minAllowed: Type.Optional(ResourceList('Lower bound of the resources given to the container.')),
    maxAllowed: Type.Optional(ResourceList('Upper bound of the resources given to the container.')),
    controlledValues: Type.Optional(
      StringEnum(Object.values(ControlledValues), {
        description:
          '(new) Which values the operator sets: RequestsAndWholeCoreLimits (default, the original rule) = the ' +
          'requests, a CPU limit of the request rounded up to whole cores and a memory limit equal to the memory ' +
          "request; RequestsAndLimits = the requests, and limits that keep the template's limit-to-request ratio " +
          "(no limit where the template sets none), as the VPA; RequestsOnly = the requests only, the template's " +
          'limits stay (a request is never set above them).',
      }),
    ),
  },
  {
    description: 'Resource bounds for one container.',
    ...rules(minNotAboveMax('cpu'), minNotAboveMax('memory'), maxAboveZero('cpu'), maxAboveZero('memory')),
  },
);

export const ResourcePolicy = object(
  {
    globalPolicy: Type.Optional(
      object(
        { maxAllowed: Type.Optional(ResourceList('Cap on the total requests of all instances.')) },
        { description: 'Bounds on the whole Consumer.' },
      ),
    ),
    containerPolicies: Type.Optional(
      Type.Array(ContainerPolicy, {
        description: 'Per-container bounds, one policy per container name ("*": the default policy).',
        maxItems: 64,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['containerName'],
      }),
    ),
  },
  { description: 'Resource bounds for the containers and the whole Consumer.' },
);

/** The labels the operator sets on every instance Deployment (selectors and dashboards read them). */
const OWN_LABELS = Object.values(Label);
const OWN_ANNOTATION_PREFIX = `${GROUP}/`;
/** A qualified name: an optional DNS-subdomain prefix and `/`, then up to 63 name characters. */
const QUALIFIED_NAME =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
const qualifiedKeys: Rule = {
  rule: `self.all(k, size(k) <= 316 && k.matches('${QUALIFIED_NAME}'))`,
  message: 'keys must be qualified names ([prefix/]name, the name at most 63 characters)',
};

export const DeploymentMetadata = object(
  {
    labels: Type.Optional(
      StringMap(
        Type.String({
          maxLength: 63,
          pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$',
        }),
        {
          description: `Labels of every instance Deployment; not ${OWN_LABELS.join(', ')}, which the operator sets.`,
          maxProperties: 64,
          ...rules(qualifiedKeys, {
            rule: `!self.exists(k, k in ${JSON.stringify(OWN_LABELS).replaceAll('"', "'")})`,
            message: `must not set the labels the operator sets itself (${OWN_LABELS.join(', ')})`,
          }),
        },
      ),
    ),
    annotations: Type.Optional(
      StringMap(Type.String({ maxLength: 8192 }), {
        description: `Annotations of every instance Deployment; none under ${OWN_ANNOTATION_PREFIX}, which the operator uses.`,
        maxProperties: 64,
        ...rules(qualifiedKeys, {
          rule: `!self.exists(k, k.startsWith('${OWN_ANNOTATION_PREFIX}'))`,
          message: `must not set annotations under ${OWN_ANNOTATION_PREFIX}, which the operator writes and reads itself`,
        }),
      }),
    ),
  },
  {
    description:
      '(new) Labels and annotations of the instance Deployment objects (not their pods: changing them rolls nothing). ' +
      'Kept up to date; a key removed here is removed from the Deployments.',
  },
);

export const ConsumerSpec = object(
  {
    numPartitions: Type.Integer({
      description: 'Number of partitions of the topic.',
      format: 'int32',
      minimum: 1,
      maximum: 100000,
    }),
    assignment: Type.Optional(
      StringEnum(Object.values(Assignment), {
        description:
          '(new) How partitions reach the consumers: Partitioned (default) runs one Deployment per partition bucket ' +
          'and tells each its partitions (KONSUMERATOR_PARTITION); Balanced runs ONE Deployment, <name>-0, whose ' +
          'replicas (spec.replicas, else deploymentTemplate.replicas) subscribe to the topic and share its partitions ' +
          "by Kafka's group assignment; every replica gets the same size, that of the replica holding the busiest " +
          'partition and its share of the others.',
      }),
    ),
    numPartitionsPerInstance: Type.Optional(
      Type.Integer({
        description:
          'Partitions per instance (Deployment); 0 or unset means 1. Not with assignment Balanced.',
        format: 'int32',
        minimum: 0,
        maximum: 100000,
      }),
    ),
    name: Type.String({
      description: 'Prefix of the instance Deployment names (<name>-<instanceId>).',
      minLength: 1,
      maxLength: 240,
      pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
    }),
    namespace: Type.String({
      description: "Namespace of the instance Deployments; must be the Consumer's own namespace.",
      minLength: 1,
      maxLength: 63,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
    }),
    autoscaler: Autoscaler,
    partitionEnvKey: Type.Optional(
      Type.String({
        description: 'Env var that carries the partition list (default KONSUMERATOR_PARTITION).',
        maxLength: 256,
        pattern: '^([-._a-zA-Z][-._a-zA-Z0-9]*)?$',
      }),
    ),
    goMemLimitRatio: Type.Optional(
      Type.Number({
        description:
          "(new) Share of a container's memory limit given to the Go runtime as GOMEMLIMIT (default 0.8); 0 leaves GOMEMLIMIT out.",
        minimum: 0,
        maximum: 1,
      }),
    ),
    replicas: Type.Optional(
      Type.Integer({
        description:
          '(new) Pods per instance, the target of the scale subresource (`kubectl scale consumer/<name> --replicas=0` ' +
          'stops every instance and keeps its Deployment and size; `--replicas=1` starts them again). Set, it ' +
          'replaces deploymentTemplate.replicas in every instance Deployment; unset, deploymentTemplate.replicas ' +
          '(default 1) applies, as before. While it is 0 no metrics are read and no instance is resized. With ' +
          'assignment Balanced: the consumers sharing the partitions, each sized for its share.',
        format: 'int32',
        minimum: 0,
        maximum: 1000,
      }),
    ),
    deploymentTemplate: Type.Unsafe<V1DeploymentSpec>(deploymentTemplateSchema as TSchema),
    deploymentMetadata: Type.Optional(DeploymentMetadata),
    resourcePolicy: ResourcePolicy,
  },
  {
    description:
      'Desired state of a Kafka consumer group run as one Deployment per partition bucket, or (assignment Balanced) as one Deployment of group-assigned replicas.',
    ...rules(
      {
        // The operator writes these itself; a partition list under one of their names would be
        // overwritten by it (GOMAXPROCS) or overwrite it.
        rule: `!has(self.partitionEnvKey) || !(self.partitionEnvKey in ${JSON.stringify(RESERVED_ENV).replaceAll('"', "'")})`,
        message: `partitionEnvKey must not be one of the variables the operator sets itself (${RESERVED_ENV.join(', ')})`,
        fieldPath: '.partitionEnvKey',
      },
      ...specRules(),
      {
        // Kafka's group assignment decides who consumes what: there are no buckets to size or name.
        rule: "!has(self.assignment) || self.assignment != 'Balanced' || !has(self.numPartitionsPerInstance) || self.numPartitionsPerInstance <= 1",
        message:
          'numPartitionsPerInstance does not apply to assignment Balanced (its replicas share all partitions by group assignment)',
        fieldPath: '.numPartitionsPerInstance',
      },
      {
        rule: "!has(self.assignment) || self.assignment != 'Balanced' || !has(self.partitionEnvKey)",
        message:
          'partitionEnvKey does not apply to assignment Balanced (its replicas subscribe to the topic; no partition list is set)',
        fieldPath: '.partitionEnvKey',
      },
      {
        // Each instance runs this many pods; an absurd count would flood the cluster with pods.
        rule:
          '!has(self.deploymentTemplate.replicas) || ' +
          '(self.deploymentTemplate.replicas >= 0 && self.deploymentTemplate.replicas <= 1000)',
        message: 'deploymentTemplate.replicas must be from 0 to 1000',
        fieldPath: '.deploymentTemplate.replicas',
      },
    ),
  },
);

const PartitionState = object({
  productionRate: Type.Optional(
    Type.Integer({ format: 'int64', description: 'Produced messages per second.' }),
  ),
  consumptionRate: Type.Optional(
    Type.Integer({ format: 'int64', description: 'Consumed messages per second.' }),
  ),
  messageBehind: Type.Optional(
    Type.Integer({ format: 'int64', description: 'Messages not yet consumed (lag).' }),
  ),
});

export const Condition = object({
  type: Type.String({ maxLength: 316 }),
  status: StringEnum(['True', 'False', 'Unknown']),
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64', minimum: 0 })),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  reason: Type.String({ maxLength: 1024 }),
  message: Type.String({ maxLength: 32768 }),
});
export type Condition = Static<typeof Condition>;

const InstanceStatus = object({
  id: Type.Integer({ minimum: 0, description: 'Instance id (the consumer-id annotation).' }),
  partitions: Type.String({ maxLength: 4096, description: 'Its partitions, e.g. 0-2 or 0,1,2.' }),
  state: Type.Optional(
    Type.String({ maxLength: 32, description: 'Scaling state (RUNNING, PENDING_SCALE_UP, ...).' }),
  ),
  lagSeconds: Type.Optional(Type.Integer({ minimum: 0, description: 'Largest partition lag, seconds.' })),
  cpu: Type.Optional(Type.String({ maxLength: 64, description: 'CPU request of the scaled container now.' })),
  memory: Type.Optional(
    Type.String({ maxLength: 64, description: 'Memory request of the scaled container now.' }),
  ),
  targetCpu: Type.Optional(
    Type.String({ maxLength: 64, description: 'CPU request the autoscaler aims at.' }),
  ),
  targetMemory: Type.Optional(
    Type.String({ maxLength: 64, description: 'Memory request the autoscaler aims at.' }),
  ),
  action: Type.Optional(
    StringEnum(['none', 'scale-up', 'scale-down', 'would-scale-up', 'would-scale-down'], {
      description:
        'The last resize made to this instance while the size it gave stands (cpu and memory are that size), else none; in dry-run, what this read would do.',
    }),
  ),
});
export type InstanceStatus = Static<typeof InstanceStatus>;

const count = (description: string) => Type.Optional(Type.Integer({ format: 'int32', description }));

export const CapacityStatus = object(
  {
    configuredRatePerCore: Type.Number({
      description: "The Consumer's ratePerCore (messages per second per core).",
    }),
    ratePerCore: Type.Number({
      description:
        'What the sizing divides by: the configured value, the learned one, or a probe above the lower bound.',
    }),
    source: StringEnum(['configured', 'learned', 'probing'], {
      description: 'Where ratePerCore comes from.',
    }),
    learnedRatePerCore: Type.Optional(
      Type.Number({ description: 'Consumption per requested core measured while instances were behind.' }),
    ),
    lowerBound: Type.Optional(
      Type.Number({
        description: 'Consumption per requested core seen while instances kept up, decayed with age.',
      }),
    ),
    confidence: Type.Number({
      minimum: 0,
      maximum: 1,
      description: 'How much the learned value is trusted (0..1).',
    }),
    weight: Type.Number({
      minimum: 0,
      description: 'Saturated reads behind the learned value, decayed with age.',
    }),
    updatedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When it last learned.' })),
  },
  {
    description:
      '(new) Capacity per core learned from the metrics (autoscaler.learnRatePerCore): kept here so a restart keeps it.',
  },
);
export type CapacityStatus = Static<typeof CapacityStatus>;

export const ConsumerStatus = object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({ format: 'int64', description: 'metadata.generation of the spec last reconciled.' }),
    ),
    expected: count('Number of instances the spec asks for.'),
    replicas: count(
      '(new) Pods per instance the instance Deployments are given (spec.replicas, else deploymentTemplate.replicas, else 1); 0: stopped.',
    ),
    running: count('Managed instances without the disable-autoscaler annotation.'),
    paused: count('Managed instances with the disable-autoscaler annotation.'),
    lagging: count('Instances whose lag is at or above tolerableLag.'),
    missing: count('Instances that had no Deployment at the start of the last reconcile.'),
    outdated: count(
      'Instances whose Deployment differed from the rendered one at the start of the last reconcile.',
    ),
    redundant: count('Deployments scheduled for deletion.'),
    lastSyncTime: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'When the metrics were last read successfully. Written together with any other status change, ' +
          'otherwise at most every 5 minutes (or minSyncPeriod, if longer; while instances roll out, every 30 minutes), ' +
          'so a steady Consumer costs no status writes.',
      }),
    ),
    lastSyncState: Type.Optional(
      StringMap(PartitionState, {
        description:
          'The metrics read at lastSyncTime, keyed by partition number (warm start after a restart).',
      }),
    ),
    capacity: Type.Optional(CapacityStatus),
    instances: Type.Optional(
      Type.Array(InstanceStatus, {
        description:
          '(new) Per-instance view at the last metrics read: lagging instances and those with a pending or ' +
          'recommended change first, at most 500.',
        maxItems: 500,
      }),
    ),
    conditions: Type.Optional(
      Type.Array(Condition, {
        description: 'Standard conditions (Ready, Progressing, Degraded, ...) with their reasons.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
        maxItems: 16,
      }),
    ),
  },
  { description: 'Observed state of a Consumer.' },
);

export type ConsumerSpec = Static<typeof ConsumerSpec>;
export type ConsumerStatus = Static<typeof ConsumerStatus>;
export type ContainerPolicy = Static<typeof ContainerPolicy>;
export type ResourcePolicy = Static<typeof ResourcePolicy>;
export type PrometheusAutoscaler = PrometheusSection;
export type KafkaAutoscaler = KafkaSection;

export interface Consumer {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    // Typed as client-node types it; custom objects carry the raw RFC 3339 string.
    deletionTimestamp?: Date;
    creationTimestamp?: Date;
  };
  spec: ConsumerSpec;
  status?: ConsumerStatus;
}

export const schemas: Record<string, TSchema> = { ConsumerSpec, ConsumerStatus };
