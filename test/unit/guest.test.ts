// Guest mode's pure parts: which data key holds the spec, decoding and schema checks of the spec,
// status to annotations and back, owner references and the leader Lease name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import {
  DEFAULT_SPEC_KEY,
  GuestAnnotation,
  consumerFromConfigMap,
  specKeyOf,
  statusAnnotationPatch,
  statusFromAnnotations,
  statusToAnnotations,
} from '../../src/api/guest.js';
import type { ConsumerStatus } from '../../src/api/schema.js';
import { ownerReference } from '../../src/plan/render.js';
import { leaseOf } from '../../src/cli/run.js';
import { guestManifests } from '../../src/cli/manifests.js';
import { baseSpec, consumer } from '../support/consumers.js';

const MANAGED = { [GuestAnnotation.managed]: 'true' };

function configMap(data: Record<string, string>, annotations: Record<string, string> = MANAGED): V1ConfigMap {
  return {
    metadata: { name: 'orders', namespace: 'team', uid: 'uid-cm', resourceVersion: '7', annotations },
    data,
  };
}

const specYaml = (overrides = {}) => stringify(baseSpec({ namespace: 'team', ...overrides }));

describe('guest mode: the data key', () => {
  it('is the only key, whatever it is called', () => {
    assert.deepEqual(specKeyOf(configMap({ 'anything.json': '{}' })), { key: 'anything.json' });
  });

  it(`is ${DEFAULT_SPEC_KEY} among several keys`, () => {
    assert.deepEqual(specKeyOf(configMap({ 'z.yaml': '', [DEFAULT_SPEC_KEY]: '', 'a.yaml': '' })), {
      key: DEFAULT_SPEC_KEY,
    });
  });

  it('is the key the spec-key annotation names, before any other rule', () => {
    const cm = configMap(
      { [DEFAULT_SPEC_KEY]: '', 'orders.yaml': '' },
      { ...MANAGED, [GuestAnnotation.specKey]: 'orders.yaml' },
    );
    assert.deepEqual(specKeyOf(cm), { key: 'orders.yaml' });
  });

  it('is an error naming the keys when there are several and none is chosen (never a guess)', () => {
    for (const data of [
      { 'b.yaml': '', 'a.yaml': '' },
      { 'a.yaml': '', 'b.yaml': '' },
    ]) {
      const found = specKeyOf(configMap(data));
      assert.ok('problem' in found);
      assert.equal(found.problem.field, 'data');
      assert.match(found.problem.message, /several keys \(a\.yaml, b\.yaml\)/);
      assert.match(found.problem.message, new RegExp(GuestAnnotation.specKey.replace(/\./g, '\\.')));
    }
  });

  it('is an error when the annotation names a missing key, or there is no data', () => {
    const named = specKeyOf(configMap({ 'a.yaml': '' }, { ...MANAGED, [GuestAnnotation.specKey]: 'b.yaml' }));
    assert.ok('problem' in named);
    assert.match(
      named.problem.message,
      /names data key "b\.yaml", which the ConfigMap does not have \(keys: a\.yaml\)/,
    );
    const empty = specKeyOf({ metadata: { annotations: MANAGED }, binaryData: { 'x.bin': 'AA==' } });
    assert.ok('problem' in empty);
    assert.match(empty.problem.message, /is empty.*binaryData is not read: x\.bin/);
  });
});

describe('guest mode: decoding the spec', () => {
  it('reads YAML and JSON into the same Consumer, named after the ConfigMap, with its annotations', () => {
    const spec = baseSpec({ namespace: 'team' });
    const annotations = { ...MANAGED, 'konsumerator.lwolf.org/disable-autoscaler': 'true' };
    for (const text of [stringify(spec), JSON.stringify(spec)]) {
      const {
        consumer: c,
        problems,
        key,
      } = consumerFromConfigMap(configMap({ 'c.yaml': text }, annotations));
      assert.deepEqual(problems, []);
      assert.equal(key, 'c.yaml');
      assert.deepEqual(c.spec, spec);
      assert.equal(c.kind, 'ConfigMap');
      assert.deepEqual(c.metadata, {
        name: 'orders',
        namespace: 'team',
        uid: 'uid-cm',
        resourceVersion: '7',
        annotations,
      });
    }
  });

  it('reports syntax errors and non-mappings with the key named', () => {
    const broken = consumerFromConfigMap(configMap({ 'c.yaml': 'numPartitions: [1,\n' }));
    assert.equal(broken.problems[0]?.field, 'data["c.yaml"]');
    assert.match(broken.problems[0]!.message, /not valid YAML or JSON/);
    const list = consumerFromConfigMap(configMap({ 'c.yaml': '- 1\n- 2\n' }));
    assert.match(list.problems[0]!.message, /must be a mapping .*got a list/);
    const nothing = consumerFromConfigMap(configMap({ 'c.yaml': '' }));
    assert.match(nothing.problems[0]!.message, /must be a mapping .*got nothing/);
    const duplicate = consumerFromConfigMap(configMap({ 'c.yaml': 'name: a\nname: b\n' }));
    assert.match(duplicate.problems[0]!.message, /not valid YAML or JSON/);
  });

  it('checks the spec against the CRD schema, naming each field', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ numPartitions: undefined }, 'spec.numPartitions', /is required/],
      [{ numPartitions: '10' }, 'spec.numPartitions', /must be an integer, got string/],
      [{ numPartitions: 0 }, 'spec.numPartitions', /at least 1/],
      [{ numPartitions: 1.5 }, 'spec.numPartitions', /must be an integer, got number/],
      [{ name: 'Orders_Consumer' }, 'spec.name', /must match/],
      [{ autoscaler: { mode: 'sometimes' } }, 'spec.autoscaler.mode', /must be one of/],
      [{ numPartitionz: 3 }, 'spec.numPartitionz', /not a known field/],
      [{ autoscaler: undefined }, 'spec.autoscaler', /is required/],
      [
        {
          resourcePolicy: {
            containerPolicies: [{ containerName: 'consumer', maxAllowed: { cpu: 'lots' } }],
          },
        },
        'spec.resourcePolicy.containerPolicies[0].maxAllowed.cpu',
        /must match/,
      ],
      [
        { deploymentTemplate: { ...baseSpec().deploymentTemplate, replicas: 'two' } },
        'spec.deploymentTemplate.replicas',
        /must be an integer/,
      ],
      [
        { deploymentTemplate: { selector: { matchLabels: { app: 'x' } } } },
        'spec.deploymentTemplate.template',
        /is required/,
      ],
    ];
    for (const [overrides, field, message] of cases) {
      const spec: Record<string, unknown> = { ...baseSpec({ namespace: 'team' }), ...overrides };
      for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete spec[k];
      const { problems } = consumerFromConfigMap(configMap({ 'c.yaml': JSON.stringify(spec) }));
      const problem = problems.find((p) => p.field === field);
      assert.ok(
        problem,
        `${JSON.stringify(overrides)}: expected a problem at ${field}, got ${JSON.stringify(problems)}`,
      );
      assert.match(problem.message, message);
    }
  });

  it('reports hostile input (alias bombs, deep nesting) instead of throwing', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
      .concat(
        Array.from(
          { length: 8 },
          (_, i) =>
            `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
              .fill(`*${String.fromCharCode(97 + i)}`)
              .join(', ')}]`,
        ),
      )
      .join('\n');
    const aliases = consumerFromConfigMap(configMap({ 'c.yaml': bomb }));
    assert.equal(aliases.problems.length, 1);
    assert.equal(aliases.problems[0]!.field, 'data["c.yaml"]');
    const deep = consumerFromConfigMap(configMap({ 'c.yaml': '['.repeat(20_000) + ']'.repeat(20_000) }));
    assert.ok(deep.problems.length > 0);
  });

  it('treats null fields as absent, as the API server prunes them', () => {
    const text = specYaml().replace(/^numPartitionsPerInstance: 3$/m, 'numPartitionsPerInstance:');
    assert.match(text, /^numPartitionsPerInstance:$/m);
    assert.deepEqual(consumerFromConfigMap(configMap({ 'c.yaml': text })).problems, []);
  });
});

describe('guest mode: status in annotations', () => {
  const status: ConsumerStatus = {
    expected: 4,
    running: 3,
    paused: 1,
    lagging: 0,
    missing: 0,
    outdated: 0,
    redundant: 0,
    lastSyncTime: '2026-01-02T03:04:05Z',
    lastSyncState: { '1': { productionRate: 5, messageBehind: 0 }, '0': { productionRate: 7 } },
    conditions: [
      {
        type: 'Ready',
        status: 'False',
        reason: 'InvalidSpec',
        message: 'spec.numPartitions: is required',
        lastTransitionTime: '2026-01-02T03:04:05Z',
      },
    ],
  };

  it("uses the original's keys and decimal counters, plus conditions and the error", () => {
    const a = statusToAnnotations(status);
    assert.equal(a['konsumerator.lwolf.org/status.expected'], '4');
    assert.equal(a['konsumerator.lwolf.org/status.running'], '3');
    assert.equal(a['konsumerator.lwolf.org/status.paused'], '1');
    assert.equal(a['konsumerator.lwolf.org/status.lagging'], '0');
    assert.equal(a['konsumerator.lwolf.org/status.missing'], '0');
    assert.equal(a['konsumerator.lwolf.org/status.outdated'], '0');
    assert.equal(a['konsumerator.lwolf.org/status.last-sync-time'], '2026-01-02T03:04:05Z');
    assert.deepEqual(JSON.parse(a['konsumerator.lwolf.org/status.last-sync-state']!), status.lastSyncState);
    assert.equal(a['konsumerator.lwolf.org/status.error'], 'InvalidSpec: spec.numPartitions: is required');
  });

  it('reads back what it writes', () => {
    const back = statusFromAnnotations(statusToAnnotations(status));
    const { redundant: _dropped, ...kept } = status;
    assert.deepEqual(back, kept);
  });

  it('patches only the status annotations that changed, and nothing when none did', () => {
    const current = { ...MANAGED, team: 'a', ...statusToAnnotations(status) };
    assert.equal(statusAnnotationPatch(current, status), undefined);
    const healthy: ConsumerStatus = {
      ...status,
      running: 4,
      conditions: [{ ...status.conditions![0]!, status: 'True', reason: 'AllInstancesReady', message: 'ok' }],
    };
    const patch = statusAnnotationPatch(current, healthy)!;
    assert.deepEqual(
      Object.keys(patch).sort(),
      [GuestAnnotation.error, GuestAnnotation.running, GuestAnnotation.conditions].sort(),
    );
    assert.equal(patch[GuestAnnotation.error], null);
    assert.equal(patch[GuestAnnotation.running], '4');
  });

  it('ignores unreadable status annotations instead of failing', () => {
    assert.deepEqual(
      statusFromAnnotations({
        [GuestAnnotation.expected]: '-1',
        [GuestAnnotation.running]: 'x',
        [GuestAnnotation.lastSyncState]: '{',
        [GuestAnnotation.conditions]: '"no"',
      }),
      {},
    );
  });
});

describe('guest mode: ownership, Lease and RBAC', () => {
  it('Deployments are controlled by the ConfigMap; Consumer resources are unchanged', () => {
    const fromConfigMap = consumerFromConfigMap(configMap({ 'c.yaml': specYaml() })).consumer;
    assert.deepEqual(ownerReference(fromConfigMap), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'orders',
      uid: 'uid-cm',
      controller: true,
      blockOwnerDeletion: true,
    });
    const resource = consumer();
    assert.equal(ownerReference(resource).kind, 'Consumer');
    assert.equal(ownerReference(resource).apiVersion, 'konsumerator.lwolf.org/v1');
    assert.equal(ownerReference({ ...resource, apiVersion: undefined, kind: undefined }).kind, 'Consumer');
  });

  it('names the Lease as the original: konsumerator-<ns> in the watched namespace', () => {
    assert.deepEqual(leaseOf({ namespace: 'team' }, 'ops'), { namespace: 'team', name: 'konsumerator-team' });
    assert.deepEqual(leaseOf({}, 'ops'), { namespace: 'ops', name: 'konsumerator-global' });
    assert.deepEqual(leaseOf({}, undefined), {
      namespace: 'konsumerator-system',
      name: 'konsumerator-global',
    });
    assert.deepEqual(leaseOf({ namespace: 'team', leaderElectionNamespace: 'x', leaderElectionId: 'y' }), {
      namespace: 'x',
      name: 'y',
    });
  });

  it('ships a Role in the namespace only: no ClusterRole, no CRD, no Secrets', () => {
    const objects = guestManifests({ namespace: 'team', image: 'img' });
    assert.deepEqual(
      objects.map((o) => o.kind),
      // The Service is the metrics endpoint's, in the namespace too.
      ['ServiceAccount', 'Role', 'RoleBinding', 'Deployment', 'Service'],
    );
    for (const o of objects) assert.equal(o.metadata?.namespace, 'team');
    const role = objects[1] as unknown as { rules: { resources: string[] }[] };
    const resources = role.rules.flatMap((r) => r.resources);
    assert.ok(!resources.some((r) => r.startsWith('secrets')));
    const args = (
      objects[3] as unknown as { spec: { template: { spec: { containers: { args: string[] }[] } } } }
    ).spec.template.spec.containers[0]!.args;
    assert.ok(args.includes('--namespace=team') && args.includes('--leader-elect'));
  });
});
