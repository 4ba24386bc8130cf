// The stage file kwok reads for in-place resizes: what it knows about the fake nodes, and that
// every jq expression and template is complete. What the stages do is shown on the plane by
// test/e2e/testplane-resize.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { FAKE_NODES, SMALL_NODE, STATIC_CPU_NODE } from '../../src/testplane/fake-nodes.js';
import { kwokNodeFacts, podStagesYaml } from '../../src/testplane/kwok-stages.js';

interface Stage {
  kind: string;
  metadata: { name: string };
  spec: {
    weight?: number;
    selector: { matchExpressions: { jq: { key: string } }[] };
    delay?: { durationFrom?: { jq: { expression: string } } };
    steps: { patch?: { template: string } }[];
  };
}

const stages = parseAllDocuments(podStagesYaml(FAKE_NODES)).map((doc) => doc.toJS() as Stage);

describe('kwok pod stages', () => {
  it('tell kwok each fake node’s allocatable, the room its neighbour holds and its CPU manager policy', () => {
    const facts = kwokNodeFacts(FAKE_NODES);
    assert.deepEqual(facts[SMALL_NODE.name], {
      allocatable: { cpu: 4000, memory: 8 * 2 ** 30 },
      usedByOthers: { cpu: 2000, memory: 4 * 2 ** 30 },
      cpuManagerPolicy: 'none',
    });
    assert.equal(facts[STATIC_CPU_NODE.name]!.cpuManagerPolicy, 'static');
    assert.equal(facts[STATIC_CPU_NODE.name]!.usedByOthers, undefined);
  });

  it('are kwok Stages for pods, each jq expression with the node facts and the jq library in front', () => {
    assert.deepEqual(
      stages.map((s) => s.metadata.name),
      [
        'pod-ready',
        'pod-resize-infeasible',
        'pod-resize-deferred-cpu',
        'pod-resize-deferred-memory',
        'pod-resize-allocate',
        'pod-resize-actuate',
        'pod-resize-pending-cleared',
        'pod-observe-generation',
      ],
    );
    for (const stage of stages) {
      assert.equal(stage.kind, 'Stage');
      const expressions = [
        ...stage.spec.selector.matchExpressions.map((e) => e.jq.key),
        ...(stage.spec.delay?.durationFrom ? [stage.spec.delay.durationFrom.jq.expression] : []),
      ];
      for (const expression of expressions) {
        assert.match(expression, /^def kwok_nodes: \{"kwok-node-0":/, stage.metadata.name);
        assert.match(expression, /def undecided_resize:/, stage.metadata.name);
      }
    }
  });

  it('fill every @NAME@ of a template from the stage’s annotations', () => {
    const templates = stages.flatMap((s) => s.spec.steps.flatMap((step) => step.patch?.template ?? []));
    assert.ok(templates.length >= stages.length);
    for (const template of templates) assert.doesNotMatch(template, /@[A-Z]+@/);
    const infeasible = stages.find((s) => s.metadata.name === 'pod-resize-infeasible')!;
    assert.match(infeasible.spec.steps[0]!.patch!.template, /"reason" `Infeasible`/);
    assert.match(infeasible.spec.steps[0]!.patch!.template, /- op: test\n {2}path: \/metadata\/generation/);
  });

  it('outrank kwok’s own stages (weight 0), except the generation-only stage, which gives way to all', () => {
    for (const stage of stages)
      assert.equal(stage.spec.weight, stage.metadata.name === 'pod-observe-generation' ? 0 : 1);
  });
});
