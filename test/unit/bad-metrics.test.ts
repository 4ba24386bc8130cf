// Bad metrics never shrink an instance: values the parser cannot trust are unknown, and an
// instance whose lag is not known for every partition keeps its resources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQueryResponse } from '../../src/metrics/prometheus-parse.js';
import { autoscale } from '../../src/autoscale/autoscale.js';
import { naivePredictor, proactivePredictor } from '../../src/autoscale/predictor.js';
import type { AutoscaleSettings } from '../../src/autoscale/settings.js';
import type { PartitionSample } from '../../src/metrics/types.js';
import { resolveSpec } from '../../src/api/resolve.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { baseSpec } from '../support/consumers.js';

const settings: AutoscaleSettings = {
  ratePerCore: 100,
  ramPerCoreBytes: 100e6,
  cpuIncrementMillis: 100,
  tolerableLagMs: 5000,
  criticalLagMs: 3_600_000,
  recoveryTimeMs: 10_000,
  pendingScaleUpMs: 0,
  pendingScaleDownMs: 0,
  scaleDownAfterLagFreeSyncs: 1,
  fallbackStrategy: 'min',
};
const big = { cpuRequest: 2000, cpuLimit: 2000, memoryRequest: 200e6, memoryLimit: 200e6 };

function step(samples: PartitionSample[], lagFreeSyncs = 5, proactive = false) {
  return autoscale({
    settings: { ...settings, proactive },
    predictor: proactive ? proactivePredictor : naivePredictor,
    now: new Date('2026-01-01T00:00:00Z'),
    samples: new Map(samples.map((s, p) => [p, s])),
    instances: [
      {
        id: 0,
        partitions: samples.map((_, p) => p),
        policy: { containerName: 'c', minAllowed: { cpu: '100m' }, maxAllowed: { cpu: '8' } },
        current: big,
        state: { status: 'RUNNING', changedAt: new Date(0), lagFreeSyncs },
        paused: false,
      },
    ],
  }).instances[0]!;
}

test('an instance whose lag is unknown for a partition does not shrink, and its lag-free count stands still', () => {
  // Little production, so less CPU would do, but partition 1's backlog is unknown (its offset
  // query failed or gave NaN): "no lag" cannot be told from "no data".
  const outcome = step([
    { production: 10, consumption: 10, behind: 0 },
    { production: 10, consumption: 10 },
  ]);
  assert.equal(outcome.decision.apply, false);
  assert.match(outcome.decision.reason, /lag of a partition is unknown/);
  assert.equal(outcome.decision.state.lagFreeSyncs, 5);
  assert.deepEqual(outcome.sizing, big);
  // The same with the backlog known: it shrinks (so the case above was a real scale-down averted).
  const known = step([
    { production: 10, consumption: 10, behind: 0 },
    { production: 10, consumption: 10, behind: 0 },
  ]);
  assert.equal(known.decision.apply, true);
  assert.equal(known.decision.direction, 'down');
  assert.equal(known.decision.state.lagFreeSyncs, 6);
});

test('the proactive default rules do not shrink an instance whose lag is unknown either', () => {
  const unknown = step(
    [
      { production: 10, consumption: 10, behind: 0 },
      { production: 10, consumption: 10 },
    ],
    5,
    true,
  );
  assert.equal(unknown.decision.apply, false);
  assert.match(unknown.decision.reason, /lag of a partition is unknown/);
  assert.equal(unknown.decision.state.lagFreeSyncs, 5);
  const known = step(
    [
      { production: 10, consumption: 10, behind: 0 },
      { production: 10, consumption: 10, behind: 0 },
    ],
    5,
    true,
  );
  assert.equal(known.decision.direction, 'down', 'with the backlog known it shrinks');
});

test('an instance lagging on a known partition still grows when another partition is unknown', () => {
  const outcome = step([
    { production: 10, consumption: 10 },
    { production: 1000, consumption: 500, behind: 600_000 },
  ]);
  assert.equal(outcome.decision.apply, true);
  assert.equal(outcome.decision.direction, 'up');
  assert.equal(outcome.decision.state.lagFreeSyncs, 0);
});

test('values beyond 2^53 are implausible: unknown, with a warning', () => {
  const body = JSON.stringify({
    status: 'success',
    data: {
      resultType: 'vector',
      result: [
        { metric: { partition: '0' }, value: [1, '1e300'] },
        { metric: { partition: '1' }, value: [1, '9007199254740993'] },
        { metric: { partition: '2' }, value: [1, '9007199254740991'] },
      ],
    },
  });
  const outcome = parseQueryResponse(
    { status: 200, contentType: 'application/json', body },
    'production_rate',
    'partition',
    3,
  );
  assert.ok(outcome.ok);
  assert.deepEqual([...outcome.values], [[2, 9007199254740991]]);
  assert.deepEqual(outcome.warnings, ['implausibly large value for partitions 0-1: unknown']);
});

test('without metrics, new instances get the fallback of the active section (kafka too, not only prometheus)', () => {
  const kafka = {
    brokers: ['k:9092'],
    topic: 't',
    groupId: 'g',
    minSyncPeriod: '1s',
    ratePerCore: 1,
    ramPerCore: '1M',
  };
  const spec = (autoscaler: object) => ({ ...baseSpec(), autoscaler }) as ConsumerSpec;
  assert.equal(
    resolveSpec(spec({ mode: 'kafka', kafka: { ...kafka, fallbackStrategy: 'max' } })).fallbackStrategy,
    'max',
  );
  assert.equal(resolveSpec(spec({ mode: 'kafka', kafka })).fallbackStrategy, 'min');
  // The original read the prometheus section whatever the mode.
  assert.equal(
    resolveSpec(spec({ mode: '', prometheus: { ...kafka, address: ['http://p'], fallbackStrategy: 'max' } }))
      .fallbackStrategy,
    'max',
  );
});
