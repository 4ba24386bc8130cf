// Consumers for the CRD's validation tests (test/e2e/crd-validation.test.ts against the test
// plane's API server, test/e2e/oldest-apiserver.test.ts against the oldest supported one): a
// valid spec with every section, and a table of invalid ones with the field each refusal names.
import { GROUP, VERSION } from '../../src/api/constants.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const clone = <T>(value: T): T => structuredClone(value);

/** Sets (or, with DELETE, removes) the value at a dotted path such as `a.b.0.c`. */
export const DELETE = Symbol('delete');
export function setPath(target: JsonObject, path: string, value: Json | typeof DELETE): void {
  const keys = path.split('.');
  let node: Json = target;
  for (const key of keys.slice(0, -1)) {
    const next: Json | undefined = (node as Record<string, Json>)[key];
    if (next === undefined || next === null || typeof next !== 'object')
      throw new Error(`test bug: ${path} has no ${key}`);
    node = next;
  }
  const last = keys.at(-1)!;
  const parent = node as Record<string, Json>;
  if (value === DELETE) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else parent[last] = value;
}

export const podTemplate = (): JsonObject => ({
  metadata: { labels: { app: 'orders-consumer' } },
  spec: {
    containers: [
      {
        name: 'consumer',
        image: 'example.com/orders-consumer:1.0',
        ports: [{ containerPort: 9000, name: 'metrics' }],
        env: [{ name: 'TEST_KEY', value: 'test-value' }],
      },
      { name: 'sidecar', image: 'example.com/sidecar:1.0' },
    ],
  },
});

/** A valid spec in the shape of the original's samples, with every section present. */
export function baseSpec(namespace: string): JsonObject {
  const query = (q: string): JsonObject => ({ query: q, partitionLabel: 'partition' });
  return {
    numPartitions: 10,
    numPartitionsPerInstance: 2,
    name: 'orders-consumer',
    namespace,
    partitionEnvKey: 'PARTITIONS',
    autoscaler: {
      mode: 'prometheus',
      pendingScaleUpDuration: '5m',
      pendingScaleDownDuration: '15m',
      prometheus: {
        address: ['http://prometheus:9090'],
        minSyncPeriod: '1m',
        offset: query('sum(kafka_consumergroup_lag) by (partition)'),
        production: query('sum(rate(kafka_topic_partition_current_offset[2m])) by (partition)'),
        consumption: query('sum(rate(kafka_consumergroup_current_offset[2m])) by (partition)'),
        fallbackStrategy: 'max',
        ratePerCore: 10000,
        ramPerCore: '256Mi',
        cpuIncrement: '100m',
        tolerableLag: '5m',
        criticalLag: '30m',
        recoveryTime: '30m',
      },
    },
    replicas: 1,
    deploymentMetadata: {
      labels: { team: 'payments', 'example.com/tier': 'backend' },
      annotations: { 'example.com/owner': 'payments@example.com' },
    },
    deploymentTemplate: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { app: 'orders-consumer' } },
      template: podTemplate(),
    },
    resourcePolicy: {
      globalPolicy: { maxAllowed: { cpu: '20', memory: '40Gi' } },
      containerPolicies: [
        {
          containerName: 'consumer',
          mode: 'Auto',
          minAllowed: { cpu: '100m', memory: '128Mi' },
          maxAllowed: { cpu: '2', memory: '2Gi' },
        },
        { containerName: 'sidecar', mode: 'Off' },
      ],
    },
  };
}

/** A complete kafka section with `extra` fields. */
export const kafkaSection = (extra: JsonObject): JsonObject => ({
  brokers: ['kafka:9092'],
  topic: 'orders',
  groupId: 'orders-consumer',
  minSyncPeriod: '1m',
  ratePerCore: 10000,
  ramPerCore: '256Mi',
  tolerableLag: '5m',
  criticalLag: '30m',
  recoveryTime: '30m',
  ...extra,
});

export const consumerObject = (name: string, spec: JsonObject): JsonObject => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'Consumer',
  metadata: { name },
  spec,
});

export interface InvalidCase {
  title: string;
  /** Paths under spec, and their new value (DELETE removes the field). */
  change: Array<[string, Json | typeof DELETE]>;
  /** The field the message must name. */
  field: string;
}

export const P = 'autoscaler.prometheus';
export const POLICY = 'resourcePolicy.containerPolicies.0';
export const CONTAINER = 'deploymentTemplate.template.spec.containers.0';
export const INVALID: InvalidCase[] = [
  { title: 'missing autoscaler', change: [['autoscaler', DELETE]], field: 'spec.autoscaler' },
  {
    title: 'mode prometheus without the prometheus section',
    change: [[`${P}`, DELETE]],
    field: 'spec.autoscaler.prometheus',
  },
  {
    title: 'unknown autoscaler mode',
    change: [['autoscaler.mode', 'kafka-lag']],
    field: 'spec.autoscaler.mode',
  },
  { title: 'numPartitions 0', change: [['numPartitions', 0]], field: 'spec.numPartitions' },
  { title: 'negative numPartitions', change: [['numPartitions', -4]], field: 'spec.numPartitions' },
  {
    title: 'negative numPartitionsPerInstance',
    change: [['numPartitionsPerInstance', -1]],
    field: 'spec.numPartitionsPerInstance',
  },
  { title: 'recoveryTime 0', change: [[`${P}.recoveryTime`, '0s']], field: `spec.${P}.recoveryTime` },
  {
    title: 'unparseable recoveryTime',
    change: [[`${P}.recoveryTime`, 'half an hour']],
    field: `spec.${P}.recoveryTime`,
  },
  { title: 'ratePerCore 0', change: [[`${P}.ratePerCore`, 0]], field: `spec.${P}.ratePerCore` },
  {
    title: 'ratePerCore below 0.001',
    change: [[`${P}.ratePerCore`, 0.0005]],
    field: `spec.${P}.ratePerCore`,
  },
  {
    title: 'a Prometheus header that auth sets (Authorization, any case)',
    change: [[`${P}.headers`, [{ name: 'authorization', value: 'Bearer x' }]]],
    field: `spec.${P}.headers[0].name`,
  },
  {
    title: 'a Prometheus header with both value and valueFrom',
    change: [
      [
        `${P}.headers`,
        [{ name: 'X-Api-Key', value: 'x', valueFrom: { secretKeyRef: { name: 'prom', key: 'k' } } }],
      ],
    ],
    field: `spec.${P}.headers[0]`,
  },
  {
    title: 'a Prometheus header value with a line break',
    change: [[`${P}.headers`, [{ name: 'X-Scope-OrgID', value: 'a\r\nX-Other: b' }]]],
    field: `spec.${P}.headers[0].value`,
  },
  { title: 'cpuIncrement 0', change: [[`${P}.cpuIncrement`, '0']], field: `spec.${P}.cpuIncrement` },
  { title: 'ramPerCore 0', change: [[`${P}.ramPerCore`, '0Mi']], field: `spec.${P}.ramPerCore` },
  {
    title: 'unparseable minSyncPeriod',
    change: [[`${P}.minSyncPeriod`, 'every minute']],
    field: `spec.${P}.minSyncPeriod`,
  },
  {
    title: 'tolerableLag greater than criticalLag',
    change: [
      [`${P}.tolerableLag`, '2h'],
      [`${P}.criticalLag`, '1h'],
    ],
    field: `spec.${P}.tolerableLag`,
  },
  {
    title: 'unparseable pendingScaleUpDuration',
    change: [['autoscaler.pendingScaleUpDuration', '5 minutes']],
    field: 'spec.autoscaler.pendingScaleUpDuration',
  },
  {
    title: 'unknown fallbackStrategy',
    change: [[`${P}.fallbackStrategy`, 'average']],
    field: `spec.${P}.fallbackStrategy`,
  },
  {
    title: 'minAllowed.cpu greater than maxAllowed.cpu',
    change: [[`${POLICY}.minAllowed.cpu`, '3']],
    field: 'spec.resourcePolicy.containerPolicies[0].minAllowed',
  },
  {
    title: 'minAllowed.memory greater than maxAllowed.memory',
    change: [[`${POLICY}.minAllowed.memory`, '3Gi']],
    field: 'spec.resourcePolicy.containerPolicies[0].minAllowed',
  },
  {
    title: 'negative quantity in a container policy',
    change: [[`${POLICY}.maxAllowed.cpu`, '-1']],
    field: 'spec.resourcePolicy.containerPolicies[0].maxAllowed',
  },
  {
    title: 'negative integer quantity in the global policy',
    change: [['resourcePolicy.globalPolicy.maxAllowed.cpu', -8]],
    field: 'spec.resourcePolicy.globalPolicy.maxAllowed',
  },
  {
    title: 'bad quantity string',
    change: [[`${POLICY}.maxAllowed.memory`, 'two gigs']],
    field: 'spec.resourcePolicy.containerPolicies[0].maxAllowed.memory',
  },
  {
    title: 'unknown container policy mode',
    change: [[`${POLICY}.mode`, 'Manual']],
    field: 'spec.resourcePolicy.containerPolicies[0].mode',
  },
  { title: 'empty address list', change: [[`${P}.address`, []]], field: `spec.${P}.address` },
  {
    title: 'address that is not an http(s) URL',
    change: [[`${P}.address`, ['prometheus:9090']]],
    field: `spec.${P}.address[0]`,
  },
  { title: 'empty query', change: [[`${P}.offset.query`, '']], field: `spec.${P}.offset.query` },
  {
    title: 'invalid partitionLabel',
    change: [[`${P}.production.partitionLabel`, 'partition-id']],
    field: `spec.${P}.production.partitionLabel`,
  },
  {
    title: 'prometheus auth with both a bearer token and basic auth keys',
    change: [[`${P}.auth`, { secretRef: { name: 'prom' }, bearerTokenKey: 'token', usernameKey: 'user' }]],
    field: `spec.${P}.auth`,
  },
  {
    title: 'prometheus auth with a username key but no password key',
    change: [[`${P}.auth`, { secretRef: { name: 'prom' }, usernameKey: 'user' }]],
    field: `spec.${P}.auth`,
  },
  {
    title: 'prometheus auth without a secretRef',
    change: [[`${P}.auth`, { bearerTokenKey: 'token' }]],
    field: `spec.${P}.auth.secretRef`,
  },
  {
    title: 'a Secret name that is not a DNS subdomain',
    change: [[`${P}.tls`, { caSecretRef: { name: 'Prom_CA' } }]],
    field: `spec.${P}.tls.caSecretRef.name`,
  },
  {
    title: 'kafka TLS settings with enabled false',
    change: [
      ['autoscaler.kafka', kafkaSection({ tls: { enabled: false, caSecretRef: { name: 'kafka-ca' } } })],
    ],
    field: 'spec.autoscaler.kafka.tls',
  },
  {
    title: 'unknown SASL mechanism',
    change: [
      [
        'autoscaler.kafka',
        kafkaSection({ sasl: { mechanism: 'gssapi', secretRef: { name: 'kafka-user' } } }),
      ],
    ],
    field: 'spec.autoscaler.kafka.sasl.mechanism',
  },
  { title: 'invalid name (uppercase)', change: [['name', 'OrdersConsumer']], field: 'spec.name' },
  { title: 'invalid namespace', change: [['namespace', 'Not_A_Namespace']], field: 'spec.namespace' },
  {
    title: 'invalid partitionEnvKey',
    change: [['partitionEnvKey', '1 PARTITION']],
    field: 'spec.partitionEnvKey',
  },
  {
    title: 'assignment Balanced with numPartitionsPerInstance 2',
    change: [
      ['assignment', 'Balanced'],
      ['partitionEnvKey', DELETE],
    ],
    field: 'spec.numPartitionsPerInstance',
  },
  {
    title: 'assignment Balanced with a partitionEnvKey',
    change: [
      ['assignment', 'Balanced'],
      ['numPartitionsPerInstance', DELETE],
    ],
    field: 'spec.partitionEnvKey',
  },
  { title: 'unknown assignment', change: [['assignment', 'RoundRobin']], field: 'spec.assignment' },
  {
    title: 'duplicate containerName in containerPolicies',
    change: [['resourcePolicy.containerPolicies.1.containerName', 'consumer']],
    field: 'spec.resourcePolicy.containerPolicies[1]',
  },
  {
    title: 'invalid containerName in containerPolicies',
    change: [[`${POLICY}.containerName`, 'Consumer_1']],
    field: 'spec.resourcePolicy.containerPolicies[0].containerName',
  },
  {
    title: 'missing deploymentTemplate.selector',
    change: [['deploymentTemplate.selector', DELETE]],
    field: 'spec.deploymentTemplate.selector',
  },
  {
    title: 'missing deploymentTemplate.template',
    change: [['deploymentTemplate.template', DELETE]],
    field: 'spec.deploymentTemplate.template',
  },
  { title: 'missing resourcePolicy', change: [['resourcePolicy', DELETE]], field: 'spec.resourcePolicy' },
  // The pod template: an invalid one is refused at apply, not when the Deployment is created,
  // because the schema is the real DeploymentSpec.
  {
    title: 'pod template without containers',
    change: [['deploymentTemplate.template.spec.containers', DELETE]],
    field: 'spec.deploymentTemplate.template.spec.containers',
  },
  {
    title: 'pod template with an empty container list',
    change: [['deploymentTemplate.template.spec.containers', []]],
    field: 'spec.deploymentTemplate.template.spec.containers',
  },
  {
    title: 'pod template whose containers is not a list',
    change: [['deploymentTemplate.template.spec.containers', 'consumer']],
    field: 'spec.deploymentTemplate.template.spec.containers',
  },
  {
    title: 'container without a name',
    change: [[`${CONTAINER}.name`, DELETE]],
    field: 'spec.deploymentTemplate.template.spec.containers[0].name',
  },
  {
    title: 'containerPort given as a string',
    change: [[`${CONTAINER}.ports.0.containerPort`, 'metrics']],
    field: 'spec.deploymentTemplate.template.spec.containers[0].ports[0].containerPort',
  },
  {
    title: 'duplicate env var in a container',
    change: [[`${CONTAINER}.env.1`, { name: 'TEST_KEY', value: 'again' }]],
    field: 'spec.deploymentTemplate.template.spec.containers[0].env[1]',
  },
  {
    title: 'unknown imagePullPolicy',
    change: [[`${CONTAINER}.imagePullPolicy`, 'Sometimes']],
    field: 'spec.deploymentTemplate.template.spec.containers[0].imagePullPolicy',
  },
  {
    title: 'bad quantity in the template resources',
    change: [[`${CONTAINER}.resources`, { limits: { memory: 'plenty' } }]],
    field: 'spec.deploymentTemplate.template.spec.containers[0].resources.limits.memory',
  },
  {
    title: 'restartPolicy other than Always',
    change: [['deploymentTemplate.template.spec.restartPolicy', 'OnFailure']],
    field: 'spec.deploymentTemplate.template.spec.restartPolicy',
  },
  {
    title: 'ephemeral containers in the pod template',
    change: [['deploymentTemplate.template.spec.ephemeralContainers', [{ name: 'debug', image: 'busybox' }]]],
    field: 'spec.deploymentTemplate.template.spec.ephemeralContainers',
  },
  {
    title: 'replicas of the wrong type',
    change: [['deploymentTemplate.replicas', 'one']],
    field: 'spec.deploymentTemplate.replicas',
  },
  { title: 'negative pods per instance', change: [['replicas', -1]], field: 'spec.replicas' },
  {
    title: 'a Deployment label the operator sets itself',
    change: [['deploymentMetadata', { labels: { controller: 'mine' } }]],
    field: 'spec.deploymentMetadata.labels',
  },
  {
    title: 'a Deployment annotation under the operator prefix',
    change: [['deploymentMetadata', { annotations: { 'konsumerator.lwolf.org/scaling-status': 'RUNNING' } }]],
    field: 'spec.deploymentMetadata.annotations',
  },
  {
    title: 'a Deployment label key that is no qualified name',
    change: [['deploymentMetadata', { labels: { 'team name': 'a' } }]],
    field: 'spec.deploymentMetadata.labels',
  },
];

/** The one default the CRD keeps (a list-map key): containers[].ports[].protocol = TCP. */
export function withPortProtocol(spec: JsonObject): JsonObject {
  const copy = clone(spec);
  const containers = ((copy.deploymentTemplate as JsonObject).template as JsonObject).spec as JsonObject;
  for (const container of containers.containers as JsonObject[]) {
    for (const port of (container.ports as JsonObject[] | undefined) ?? []) port.protocol ??= 'TCP';
  }
  return copy;
}
