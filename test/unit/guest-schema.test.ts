// Guest mode checks ConfigMap specs itself, with the schema the CRD is generated from, CEL rules
// included: the specs the API server refuses in test/e2e/crd-validation.test.ts are refused here,
// naming the same field, and the original's samples (its guest-mode ConfigMap too) are accepted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsumerSpec } from '../../src/api/schema.js';
import { checkStructural } from '../../src/api/structural.js';
import { MAX_CEL_VALUES, evaluateRule, parseCel } from '../../src/api/cel.js';
import { consumerFromConfigMap } from '../../src/api/guest.js';
import { GO_DURATION_PATTERN } from '../../src/util/units.js';
import { originalExampleConsumers, originalGuestConfigMap } from '../fixtures/original/consumers.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const schema = JSON.parse(JSON.stringify(ConsumerSpec)) as JsonObject;
const check = (spec: unknown) => checkStructural(schema, spec, 'spec');

const query = (q: string): JsonObject => ({ query: q, partitionLabel: 'partition' });

/** The base spec of crd-validation.test.ts: every section present. */
function baseSpec(): JsonObject {
  return {
    numPartitions: 10,
    numPartitionsPerInstance: 2,
    name: 'orders-consumer',
    namespace: 'team',
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
    deploymentTemplate: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { app: 'orders-consumer' } },
      template: {
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
      },
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

const basePrometheus = () => (baseSpec().autoscaler as JsonObject).prometheus as JsonObject;

const kafkaSection = (extra: JsonObject): JsonObject => ({
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

const DELETE = Symbol('delete');
function setPath(target: JsonObject, path: string, value: Json | typeof DELETE): void {
  const keys = path.split('.');
  let node = target as Record<string, Json>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, Json>;
  const last = keys.at(-1)!;
  if (value === DELETE) delete node[last];
  else node[last] = value;
}

const P = 'autoscaler.prometheus';
const POLICY = 'resourcePolicy.containerPolicies.0';
const CONTAINER = 'deploymentTemplate.template.spec.containers.0';

/** [title, changes, field named]: the same cases and fields as the API server's refusals. */
const INVALID: [string, [string, Json | typeof DELETE][], string][] = [
  ['unparseable minSyncPeriod', [[`${P}.minSyncPeriod`, 'every minute']], `spec.${P}.minSyncPeriod`],
  ['minSyncPeriod 0 (CEL)', [[`${P}.minSyncPeriod`, '0s']], `spec.${P}.minSyncPeriod`],
  [
    'tolerableLag greater than criticalLag (CEL)',
    [
      [`${P}.tolerableLag`, '2h'],
      [`${P}.criticalLag`, '1h'],
    ],
    `spec.${P}.tolerableLag`,
  ],
  ['recoveryTime 0 (CEL)', [[`${P}.recoveryTime`, '0s']], `spec.${P}.recoveryTime`],
  ['ratePerCore 0', [[`${P}.ratePerCore`, 0]], `spec.${P}.ratePerCore`],
  ['ratePerCore below 0.001', [[`${P}.ratePerCore`, 0.0005]], `spec.${P}.ratePerCore`],
  [
    'a Prometheus header that auth sets (Authorization, any case)',
    [[`${P}.headers`, [{ name: 'authorization', value: 'Bearer x' }]]],
    `spec.${P}.headers[0].name`,
  ],
  [
    'a Prometheus header with both value and valueFrom',
    [
      [
        `${P}.headers`,
        [{ name: 'X-Api-Key', value: 'x', valueFrom: { secretKeyRef: { name: 'prom', key: 'k' } } }],
      ],
    ],
    `spec.${P}.headers[0]`,
  ],
  [
    'a Prometheus header value with a line break',
    [[`${P}.headers`, [{ name: 'X-Scope-OrgID', value: 'a\r\nX-Other: b' }]]],
    `spec.${P}.headers[0].value`,
  ],
  ['cpuIncrement 0 (CEL)', [[`${P}.cpuIncrement`, '0']], `spec.${P}.cpuIncrement`],
  ['ramPerCore 0 (CEL)', [[`${P}.ramPerCore`, '0Mi']], `spec.${P}.ramPerCore`],
  ['mode prometheus without its section (CEL)', [[P, DELETE]], `spec.${P}`],
  ['mode kafka without its section (CEL)', [['autoscaler.mode', 'kafka']], 'spec.autoscaler.kafka'],
  ['unknown fallbackStrategy', [[`${P}.fallbackStrategy`, 'average']], `spec.${P}.fallbackStrategy`],
  [
    'minAllowed.cpu greater than maxAllowed.cpu (CEL)',
    [[`${POLICY}.minAllowed.cpu`, '3']],
    'spec.resourcePolicy.containerPolicies[0].minAllowed',
  ],
  [
    'minAllowed.memory greater than maxAllowed.memory (CEL)',
    [[`${POLICY}.minAllowed.memory`, '3Gi']],
    'spec.resourcePolicy.containerPolicies[0].minAllowed',
  ],
  [
    'negative quantity in a container policy (CEL)',
    [[`${POLICY}.maxAllowed.cpu`, '-1']],
    'spec.resourcePolicy.containerPolicies[0].maxAllowed',
  ],
  [
    'negative integer quantity in the global policy (CEL)',
    [['resourcePolicy.globalPolicy.maxAllowed.cpu', -8]],
    'spec.resourcePolicy.globalPolicy.maxAllowed',
  ],
  [
    'bad quantity string',
    [[`${POLICY}.maxAllowed.memory`, 'two gigs']],
    'spec.resourcePolicy.containerPolicies[0].maxAllowed.memory',
  ],
  ['empty address list', [[`${P}.address`, []]], `spec.${P}.address`],
  ['address not an http(s) URL', [[`${P}.address`, ['prometheus:9090']]], `spec.${P}.address[0]`],
  ['empty query', [[`${P}.offset.query`, '']], `spec.${P}.offset.query`],
  [
    'prometheus auth with both a bearer token and basic auth keys (CEL)',
    [[`${P}.auth`, { secretRef: { name: 'prom' }, bearerTokenKey: 'token', usernameKey: 'user' }]],
    `spec.${P}.auth`,
  ],
  [
    'prometheus auth with a username key but no password key (CEL)',
    [[`${P}.auth`, { secretRef: { name: 'prom' }, usernameKey: 'user' }]],
    `spec.${P}.auth`,
  ],
  [
    'kafka TLS settings with enabled false (CEL)',
    [['autoscaler.kafka', kafkaSection({ tls: { enabled: false, caSecretRef: { name: 'kafka-ca' } } })]],
    'spec.autoscaler.kafka.tls',
  ],
  ['invalid name (uppercase)', [['name', 'OrdersConsumer']], 'spec.name'],
  ['invalid partitionEnvKey', [['partitionEnvKey', '1 PARTITION']], 'spec.partitionEnvKey'],
  [
    'duplicate containerName in containerPolicies',
    [['resourcePolicy.containerPolicies.1.containerName', 'consumer']],
    'spec.resourcePolicy.containerPolicies[1]',
  ],
  [
    'missing deploymentTemplate.selector',
    [['deploymentTemplate.selector', DELETE]],
    'spec.deploymentTemplate.selector',
  ],
  ['missing resourcePolicy', [['resourcePolicy', DELETE]], 'spec.resourcePolicy'],
  [
    'pod template with an empty container list',
    [['deploymentTemplate.template.spec.containers', []]],
    'spec.deploymentTemplate.template.spec.containers',
  ],
  [
    'container without a name',
    [[`${CONTAINER}.name`, DELETE]],
    'spec.deploymentTemplate.template.spec.containers[0].name',
  ],
  [
    'containerPort given as a string',
    [[`${CONTAINER}.ports.0.containerPort`, 'metrics']],
    'spec.deploymentTemplate.template.spec.containers[0].ports[0].containerPort',
  ],
  [
    'duplicate env var in a container',
    [[`${CONTAINER}.env.1`, { name: 'TEST_KEY', value: 'again' }]],
    'spec.deploymentTemplate.template.spec.containers[0].env[1]',
  ],
  [
    'bad quantity in the template resources',
    [[`${CONTAINER}.resources`, { limits: { memory: 'plenty' } }]],
    'spec.deploymentTemplate.template.spec.containers[0].resources.limits.memory',
  ],
  [
    'restartPolicy other than Always',
    [['deploymentTemplate.template.spec.restartPolicy', 'OnFailure']],
    'spec.deploymentTemplate.template.spec.restartPolicy',
  ],
  [
    'ephemeral containers in the pod template',
    [['deploymentTemplate.template.spec.ephemeralContainers', [{ name: 'debug', image: 'busybox' }]]],
    'spec.deploymentTemplate.template.spec.ephemeralContainers',
  ],
  [
    'an unknown field of the pod template (strict field validation)',
    [[`${CONTAINER}.imagePullPolicyy`, 'Always']],
    'spec.deploymentTemplate.template.spec.containers[0].imagePullPolicyy',
  ],
  [
    'a Deployment label the operator sets itself (CEL)',
    [['deploymentMetadata', { labels: { partitions: '0-3' } }]],
    'spec.deploymentMetadata.labels',
  ],
  [
    'a Deployment annotation under the operator prefix (CEL)',
    [['deploymentMetadata', { annotations: { 'konsumerator.lwolf.org/generation': '1' } }]],
    'spec.deploymentMetadata.annotations',
  ],
  [
    'a Deployment annotation key that is no qualified name (CEL)',
    [['deploymentMetadata', { annotations: { 'a/b/c': 'x' } }]],
    'spec.deploymentMetadata.annotations',
  ],
];

describe('guest mode: the CRD schema without the API server', () => {
  it('accepts the base spec', () => {
    assert.deepEqual(check(baseSpec()), []);
  });

  for (const [title, changes, field] of INVALID) {
    it(`refuses ${title}, naming ${field}`, () => {
      const spec = baseSpec();
      for (const [path, value] of changes) setPath(spec, path, value);
      const problems = check(spec);
      assert.ok(
        problems.some((p) => p.field === field),
        `expected a problem at ${field}, got ${JSON.stringify(problems)}`,
      );
    });
  }

  it('accepts Deployment labels and annotations of its own', () => {
    const spec = baseSpec();
    setPath(spec, 'deploymentMetadata', {
      labels: { team: 'payments', 'example.com/tier': 'backend', empty: '' },
      annotations: { 'example.com/owner': 'payments@example.com', note: 'any text: even / and spaces' },
    });
    assert.deepEqual(check(spec), []);
  });

  it('accepts a fractional ratePerCore and Prometheus headers, plain and from a Secret', () => {
    const spec = baseSpec();
    setPath(spec, `${P}.ratePerCore`, 0.5);
    setPath(spec, `${P}.headers`, [
      { name: 'X-Scope-OrgID', value: 'team-a' },
      { name: 'X-Api-Key', valueFrom: { secretKeyRef: { name: 'prom-key', key: 'api-key' } } },
    ]);
    assert.deepEqual(check(spec), []);
  });

  it("accepts the original's sample Consumers and its guest-mode ConfigMap", () => {
    for (const { title, consumer } of originalExampleConsumers()) {
      assert.deepEqual(check(consumer.spec), [], title);
    }
    const configMap = originalGuestConfigMap() as never;
    const decoded = consumerFromConfigMap({
      ...(configMap as object),
      metadata: {
        ...(configMap as { metadata: object }).metadata,
        namespace: 'konsumerator-system',
        uid: 'u',
      },
    });
    assert.deepEqual(decoded.problems, []);
    assert.equal(decoded.key, 'consumer.yaml');
    assert.equal(decoded.consumer.spec.numPartitions, 4);
  });

  it('parses every CEL rule of the schema', () => {
    const rules: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (key === 'x-kubernetes-validations')
          for (const r of value as { rule: string }[]) rules.push(r.rule);
        else walk(value);
      }
    };
    walk(schema);
    assert.ok(rules.length >= 10, `found ${rules.length} rules`);
    for (const rule of rules) assert.doesNotThrow(() => parseCel(rule), rule);
  });

  it('evaluates the rules as Kubernetes does', () => {
    assert.equal(evaluateRule("duration(self) > duration('0s')", '90s'), true);
    assert.equal(evaluateRule("duration(self) > duration('0s')", '0s'), false);
    assert.equal(evaluateRule("quantity(string(self)).compareTo(quantity('1m')) >= 0", '1m'), true);
    assert.equal(evaluateRule("quantity(string(self)).compareTo(quantity('1m')) >= 0", '0.5m'), false);
    assert.equal(
      evaluateRule("self.all(k, !quantity(string(self[k])).isLessThan(quantity('0')))", { a: 1, b: '2Gi' }),
      true,
    );
    assert.equal(
      evaluateRule("self.all(k, !quantity(string(self[k])).isLessThan(quantity('0')))", { a: 1, b: '-1' }),
      false,
    );
    assert.equal(
      evaluateRule("!has(self.a) || ('cpu' in self.a && self.b == 'x')", { a: { cpu: 1 }, b: 'x' }),
      true,
    );
    assert.equal(
      evaluateRule("!has(self.a) || ('cpu' in self.a && self.b == 'x')", { a: { memory: 1 }, b: 'x' }),
      false,
    );
    assert.equal(evaluateRule("!has(self.a) || ('cpu' in self.a && self.b == 'x')", {}), true);
    assert.equal(
      evaluateRule('!has(self.a)', { a: null }),
      true,
      'null fields are pruned, as the API server does',
    );
    assert.equal(evaluateRule("quantity(string(self)).isGreaterThan(quantity('0'))", -8), false);
    assert.equal(evaluateRule("duration(self) > duration('0s')", '1h30m'), true);
    assert.throws(() => evaluateRule('self.missing == 1', {}), /no such key/i);
    assert.throws(
      () => evaluateRule("quantity(string(self)).isGreaterThan(quantity('0'))", 'lots'),
      /quantity/,
    );
    assert.throws(() => evaluateRule('self.a', { a: 1 }), /bool/);
    assert.throws(() => parseCel('self.x =='), /CEL/);
    assert.throws(
      () => parseCel('frobnicate(self)'),
      /no matching overload/,
      'unknown functions fail at compile time',
    );
  });

  it('reads durations as Go does: "0" and "μs" yes, a unit-less number no', () => {
    const positive = "duration(self) > duration('0s')";
    const durationSchema = { pattern: GO_DURATION_PATTERN };
    assert.equal(evaluateRule(positive, '0', durationSchema), false);
    assert.equal(evaluateRule(positive, '5\u03bcs', durationSchema), true);
    assert.equal(evaluateRule(positive, '5\u00b5s', durationSchema), true);
    assert.throws(() => evaluateRule(positive, '5s0', durationSchema), /invalid duration/i);
    const lags = (tolerableLag: string) => ({ tolerableLag, criticalLag: '30m' });
    const p = schema as { properties: Record<string, { properties: Record<string, unknown> }> };
    const prometheus = p.properties.autoscaler!.properties.prometheus!;
    // "0" is read as zero (not refused as unreadable), so it meets the 1s minimum of tolerableLag.
    assert.deepEqual(checkStructural(prometheus, { ...basePrometheus(), ...lags('0') }, 'p'), [
      { field: 'p.tolerableLag', message: 'must be at least 1s' },
    ]);
    assert.deepEqual(checkStructural(prometheus, { ...basePrometheus(), ...lags('30m0s') }, 'p'), []);
    assert.equal(
      checkStructural(prometheus, { ...basePrometheus(), ...lags('30m1s') }, 'p')[0]?.field,
      'p.tolerableLag',
    );
  });

  it('treats null map entries as absent, as the API server prunes them', () => {
    const spec = baseSpec();
    setPath(spec, `${POLICY}.minAllowed.cpu`, null);
    assert.deepEqual(check(spec), []);
  });

  it('reports, never throws past structural checks, for hostile values', () => {
    const rule = "self.all(k, !quantity(string(self[k])).isLessThan(quantity('0')))";
    assert.equal(evaluateRule(rule, JSON.parse('{"__proto__": 1, "constructor": "2"}')), true);
    assert.equal(evaluateRule('has(self.constructor) || has(self.toString)', {}), false);
    const huge = Object.fromEntries(Array.from({ length: MAX_CEL_VALUES + 1 }, (_, i) => [`k${i}`, 1]));
    assert.throws(() => evaluateRule(rule, huge), /too large/);
    const problems = checkStructural(
      {
        type: 'object',
        additionalProperties: { type: 'integer' },
        'x-kubernetes-validations': [{ rule, message: 'm' }],
      },
      huge,
      'spec',
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /^m \(rule .* failed: CEL: value too large/);
  });
});
