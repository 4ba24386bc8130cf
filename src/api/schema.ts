// The Consumer API, defined once: the TypeScript types are derived from these schemas, and the
// CRD in deploy/ is generated from them (see crd.ts). Every field of the original operator keeps
// its name, type and meaning; everything new is optional.
import { Type, type Static, type TSchema, type TProperties, type ObjectOptions } from '@sinclair/typebox';
import type { V1DeploymentSpec } from '@kubernetes/client-node';
import { GO_DURATION_PATTERN, QUANTITY_PATTERN } from './units.js';
import { deploymentTemplateSchema } from './deployment-template-schema.js';
import { Env } from './constants.js';

/** Env vars the operator injects besides the partition list. */
const RESERVED_ENV = [Env.instance, Env.numPartitions, Env.numInstances, Env.goMaxProcs, Env.goMemLimit];

type Rule = { rule: string; message: string; fieldPath?: string; reason?: string };
const rules = (...list: Rule[]) => ({ 'x-kubernetes-validations': list });
const object = <T extends TProperties>(
  properties: T,
  options: ObjectOptions & Record<string, unknown> = {},
) => Type.Object(properties, options);

/**
 * A string enum in the form a CRD accepts (`type` + `enum`; TypeBox's union of literals becomes
 * `anyOf`/`const`, which a structural schema may not use).
 */
const StringEnum = <const T extends readonly string[]>(values: T, options: Record<string, unknown> = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

/**
 * A map with string keys in the form a CRD accepts (`additionalProperties`; TypeBox's Record
 * becomes `patternProperties`, which a structural schema may not use).
 */
const StringMap = <T extends TSchema>(value: T, options: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: value, ...options });

// The CEL rule makes the API server parse the value: a duration beyond Go's time.Duration
// (about 2562047h) matches the pattern but is refused instead of overflowing in the operator.
const withinRange: Rule = {
  rule: "duration(self) <= duration('8760h')",
  message: 'must be at most 8760h (one year)',
};
const Duration = (description: string, extra: { rules?: Rule[] } = {}) =>
  Type.String({
    description,
    pattern: GO_DURATION_PATTERN,
    maxLength: 64,
    ...rules(withinRange, ...(extra.rules ?? [])),
  });

const positiveDuration = (description: string) =>
  Duration(description, {
    rules: [{ rule: "duration(self) > duration('0s')", message: 'must be a positive duration' }],
  });

/** At least one second: the predictor works in whole seconds of lag and recovery. */
const wholeSecondsDuration = (description: string) =>
  Duration(description, {
    rules: [{ rule: "duration(self) >= duration('1s')", message: 'must be at least 1s' }],
  });

export const Quantity = Type.Union([Type.Integer(), Type.String()], {
  'x-kubernetes-int-or-string': true,
  pattern: QUANTITY_PATTERN,
  // Bounds the cost the API server estimates for the CEL rules that parse quantities.
  maxLength: 64,
});
export type Quantity = Static<typeof Quantity>;

/** CEL: the quantity value of `expr` (an int-or-string). */
const q = (expr: string) => `quantity(string(${expr}))`;
const nonNegativeQuantities = {
  rule: `self.all(k, !${q('self[k]')}.isLessThan(quantity('0')))`,
  message: 'resource quantities must not be negative',
};

const ResourceList = (description: string) =>
  StringMap(Quantity, { description, maxProperties: 32, ...rules(nonNegativeQuantities) });

const Query = object(
  {
    query: Type.String({
      description: 'PromQL returning one series per partition.',
      minLength: 1,
      maxLength: 16384,
    }),
    partitionLabel: Type.String({
      description: 'Label of the series that holds the partition number.',
      minLength: 1,
      maxLength: 256,
      pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$',
    }),
  },
  { description: 'A PromQL query and the label that carries the partition number.' },
);

// Credentials of the metrics sources come from Secrets in the Consumer's own namespace (there is
// deliberately no namespace field): the operator reads each one with a GET by name, which a
// namespace owner grants with a Role limited by resourceNames (docs/credentials.md).
const SECRET_NAME_PATTERN = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$';
const SECRET_KEY_PATTERN = '^[-._a-zA-Z0-9]+$';

const SecretName = Type.String({
  description: "Name of a Secret in the Consumer's namespace.",
  minLength: 1,
  maxLength: 253,
  pattern: SECRET_NAME_PATTERN,
});

const SecretKey = (description: string) =>
  Type.Optional(Type.String({ description, minLength: 1, maxLength: 253, pattern: SECRET_KEY_PATTERN }));

const SecretRef = (description: string) => object({ name: SecretName }, { description });

const ServerName = Type.Optional(
  Type.String({
    description:
      "Host name to verify the server's certificate against, when it differs from the address's host.",
    minLength: 1,
    maxLength: 253,
    pattern: '^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?$',
  }),
);

const CaSecretRef = object(
  {
    name: SecretName,
    key: SecretKey('Key of the PEM CA bundle in the Secret (default ca.crt).'),
  },
  {
    description:
      "Secret holding the PEM CA bundle that signs the server's certificate; it replaces the system CAs.",
  },
);

const CertSecretRef = object(
  {
    name: SecretName,
    certKey: SecretKey('Key of the PEM client certificate (default tls.crt).'),
    keyKey: SecretKey('Key of the PEM private key (default tls.key).'),
  },
  {
    description:
      'Secret holding a client certificate and key for mutual TLS (a kubernetes.io/tls Secret fits).',
  },
);

const tlsFields = {
  insecureSkipVerify: Type.Optional(
    Type.Boolean({ description: 'Accept any server certificate (insecure: for tests only).' }),
  ),
  caSecretRef: Type.Optional(CaSecretRef),
  certSecretRef: Type.Optional(CertSecretRef),
  serverName: ServerName,
};

export const PrometheusAuth = object(
  {
    secretRef: SecretRef("Secret in the Consumer's namespace holding the credentials."),
    bearerTokenKey: SecretKey('Key of the bearer token in the Secret (sent as Authorization: Bearer).'),
    usernameKey: SecretKey('Key of the basic-auth user name in the Secret (with passwordKey).'),
    passwordKey: SecretKey('Key of the basic-auth password in the Secret (with usernameKey).'),
  },
  {
    description:
      '(new) Credentials sent to every address: a bearer token (bearerTokenKey) or basic auth ' +
      '(usernameKey and passwordKey), read from a Secret the operator is allowed to get (docs/credentials.md).',
    ...rules(
      {
        rule: '!has(self.bearerTokenKey) || (!has(self.usernameKey) && !has(self.passwordKey))',
        message: 'set either bearerTokenKey or usernameKey and passwordKey, not both',
      },
      {
        rule: 'has(self.bearerTokenKey) || (has(self.usernameKey) && has(self.passwordKey))',
        message: 'set bearerTokenKey, or both usernameKey and passwordKey',
      },
    ),
  },
);

export const PrometheusTls = object(tlsFields, {
  description:
    "(new) TLS settings for https addresses; certificates come from Secrets in the Consumer's namespace.",
});

export const KafkaTls = object(
  {
    enabled: Type.Boolean({ description: 'Connect to the brokers with TLS.' }),
    ...tlsFields,
  },
  {
    description: "(new) TLS to the brokers; certificates come from Secrets in the Consumer's namespace.",
    ...rules({
      rule:
        'self.enabled || (!has(self.insecureSkipVerify) && !has(self.caSecretRef) && ' +
        '!has(self.certSecretRef) && !has(self.serverName))',
      message: 'insecureSkipVerify, caSecretRef, certSecretRef and serverName need enabled: true',
    }),
  },
);

export const KafkaSasl = object(
  {
    mechanism: StringEnum(['plain', 'scram-sha-256', 'scram-sha-512'], {
      description: 'SASL mechanism (plain sends the password as is: use it with TLS).',
    }),
    secretRef: SecretRef("Secret in the Consumer's namespace holding the user name and password."),
    usernameKey: SecretKey('Key of the user name in the Secret (default username).'),
    passwordKey: SecretKey('Key of the password in the Secret (default password).'),
  },
  { description: '(new) SASL authentication to the brokers, credentials read from a Secret.' },
);

/** How the metrics turn into resources; the same fields in every provider's section. */
const estimationFields = {
  minSyncPeriod: positiveDuration('Minimum time between two metric queries.'),
  fallbackStrategy: Type.Optional(
    StringEnum(['min', 'max', ''], {
      description: 'What to allocate when metrics are missing: the policy minimum (default) or maximum.',
    }),
  ),
  ratePerCore: Type.Integer({
    description: 'Messages per second one full CPU core processes.',
    format: 'int64',
    minimum: 1,
  }),
  ramPerCore: {
    ...Quantity,
    description: 'Memory per whole core of the CPU limit.',
    ...rules({ rule: `${q('self')}.isGreaterThan(quantity('0'))`, message: 'must be greater than zero' }),
  },
  cpuIncrement: Type.Optional({
    ...Quantity,
    description: 'CPU request granularity (default 100m); requests are rounded up to a multiple of it.',
    ...rules({ rule: `${q('self')}.compareTo(quantity('1m')) >= 0`, message: 'must be at least 1m' }),
  }),
  // 0 would make every instance lag forever (lag >= 0), so nothing could ever scale down.
  tolerableLag: wholeSecondsDuration('Lag (in time) at and above which an instance counts as lagging.'),
  criticalLag: Duration('Lag at and above which an instance gets its policy maximum.'),
  recoveryTime: wholeSecondsDuration(
    'Time in which a backlog should be drained while keeping up with production.',
  ),
};

const lagOrder = rules({
  rule: 'duration(self.tolerableLag) <= duration(self.criticalLag)',
  message: 'tolerableLag must not be greater than criticalLag',
  fieldPath: '.tolerableLag',
});

export const PrometheusAutoscaler = object(
  {
    address: Type.Array(
      Type.String({
        pattern: '^https?://[^\\s]+$',
        maxLength: 2048,
        ...rules({
          rule: "isURL(self) && url(self).getHostname() != '' && (url(self).getPort() == '' || (int(url(self).getPort()) >= 1 && int(url(self).getPort()) <= 65535))",
          message: 'must be an http(s) URL with a host name and a port from 1 to 65535',
        }),
      }),
      {
        description: 'Prometheus base URLs (e.g. http://prometheus:9090), queried in parallel.',
        minItems: 1,
        maxItems: 16,
      },
    ),
    offset: { ...Query, description: 'Messages behind (lag in messages) per partition.' },
    production: { ...Query, description: 'Produced messages per second per partition.' },
    consumption: { ...Query, description: 'Consumed messages per second per partition.' },
    auth: Type.Optional(PrometheusAuth),
    tls: Type.Optional(PrometheusTls),
    ...estimationFields,
  },
  { description: 'Prometheus metrics provider settings.', ...lagOrder },
);

export const KafkaAutoscaler = object(
  {
    brokers: Type.Array(
      Type.String({
        pattern: '^[^\\s:/]+:[0-9]{1,5}$',
        maxLength: 512,
        ...rules({
          rule: "int(self.substring(self.lastIndexOf(':') + 1)) >= 1 && int(self.substring(self.lastIndexOf(':') + 1)) <= 65535",
          message: 'the port must be from 1 to 65535',
        }),
      }),
      {
        description:
          'Bootstrap brokers (host:port). Offsets are read with the Kafka admin API; no Prometheus needed.',
        minItems: 1,
        maxItems: 32,
      },
    ),
    topic: Type.String({
      description: 'The topic the group consumes.',
      minLength: 1,
      maxLength: 249,
      pattern: '^[a-zA-Z0-9._-]+$',
    }),
    groupId: Type.String({
      description: 'The consumer group whose committed offsets give the lag.',
      minLength: 1,
      maxLength: 255,
    }),
    tls: Type.Optional(KafkaTls),
    sasl: Type.Optional(KafkaSasl),
    ...estimationFields,
  },
  {
    description: '(new) Kafka admin API metrics provider: lag and rates straight from the brokers.',
    ...lagOrder,
  },
);

const StaticSample = object({
  production: Type.Optional(Type.Number({ minimum: 0, description: 'Produced messages per second.' })),
  consumption: Type.Optional(Type.Number({ minimum: 0, description: 'Consumed messages per second.' })),
  behind: Type.Optional(Type.Number({ minimum: 0, description: 'Messages behind.' })),
});

export const StaticAutoscaler = object(
  {
    partitions: StringMap(StaticSample, {
      description: 'Metrics per partition number; partitions not listed are unknown.',
      maxProperties: 10000,
      ...rules({
        rule: "self.all(k, k.matches('^(0|[1-9][0-9]{0,5})$'))",
        message: 'keys must be partition numbers (0, 1, 2, ...)',
      }),
    }),
    ...estimationFields,
  },
  { description: '(new) Inline metrics, for demos, tests and what-if runs.', ...lagOrder },
);

const sectionRequired = (mode: string): Rule => ({
  rule: `self.mode != '${mode}' || has(self.${mode})`,
  message: `mode ${mode} requires the ${mode} section`,
  fieldPath: `.${mode}`,
  reason: 'FieldValueRequired',
});

export const Autoscaler = object(
  {
    mode: StringEnum(['prometheus', 'kafka', 'static', 'none', 'vpa', ''], {
      description:
        'Metrics source: "prometheus" (PromQL queries), "kafka" (the brokers\' admin API) or "static" (inline ' +
        'values); "none" (and the legacy "vpa" and "") only runs the instances with the resource policy fallback.',
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
    dryRun: Type.Optional(
      Type.Boolean({
        description:
          '(new) Read metrics and decide, but change nothing: the recommendations appear in status.instances.',
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
    prometheus: Type.Optional(PrometheusAutoscaler),
    kafka: Type.Optional(KafkaAutoscaler),
    static: Type.Optional(StaticAutoscaler),
  },
  {
    description: 'How resources are estimated.',
    ...rules(sectionRequired('prometheus'), sectionRequired('kafka'), sectionRequired('static')),
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

export const ConsumerSpec = object(
  {
    numPartitions: Type.Integer({
      description: 'Number of partitions of the topic.',
      format: 'int32',
      minimum: 1,
      maximum: 100000,
    }),
    numPartitionsPerInstance: Type.Optional(
      Type.Integer({
        description: 'Partitions per instance (Deployment); 0 or unset means 1.',
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
    deploymentTemplate: Type.Unsafe<V1DeploymentSpec>(deploymentTemplateSchema as TSchema),
    resourcePolicy: ResourcePolicy,
  },
  {
    description: 'Desired state of a Kafka consumer group run as one Deployment per partition bucket.',
    ...rules(
      {
        // The operator writes these itself; a partition list under one of their names would be
        // overwritten by it (GOMAXPROCS) or overwrite it.
        rule: `!has(self.partitionEnvKey) || !(self.partitionEnvKey in ${JSON.stringify(RESERVED_ENV).replaceAll('"', "'")})`,
        message: `partitionEnvKey must not be one of the variables the operator sets itself (${RESERVED_ENV.join(', ')})`,
        fieldPath: '.partitionEnvKey',
      },
      {
        rule:
          '!has(self.autoscaler.static) || ' +
          "self.autoscaler.static.partitions.all(k, !k.matches('^[0-9]{1,6}$') || int(k) < self.numPartitions)",
        message: 'autoscaler.static.partitions names a partition not below numPartitions',
        fieldPath: '.autoscaler.static.partitions',
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
      description: 'What this read did (or, in dry-run, would do).',
    }),
  ),
});
export type InstanceStatus = Static<typeof InstanceStatus>;

const count = (description: string) => Type.Optional(Type.Integer({ format: 'int32', description }));

export const ConsumerStatus = object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({ format: 'int64', description: 'metadata.generation of the spec last reconciled.' }),
    ),
    expected: count('Number of instances the spec asks for.'),
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
          'otherwise at most every 5 minutes (or minSyncPeriod, if longer), so a steady Consumer costs no status writes.',
      }),
    ),
    lastSyncState: Type.Optional(
      StringMap(PartitionState, {
        description:
          'The metrics read at lastSyncTime, keyed by partition number (warm start after a restart).',
      }),
    ),
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
export type PrometheusAutoscaler = Static<typeof PrometheusAutoscaler>;
export type KafkaAutoscaler = Static<typeof KafkaAutoscaler>;

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
  };
  spec: ConsumerSpec;
  status?: ConsumerStatus;
}

export const schemas: Record<string, TSchema> = { ConsumerSpec, ConsumerStatus };
