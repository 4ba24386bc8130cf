// The simulator's inputs: a user's traffic CSV and Consumer YAML, with an error naming the line
// or field for every mistake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { parseTraceCsv, traceToCsv, TraceCsvError } from '../../src/sim/csv.js';
import { parseConsumerYaml, ConsumerFileError } from '../../src/sim/consumer-file.js';
import { benchmarkConsumer } from '../../src/sim/bench-consumer.js';
import { rateAt } from '../../src/sim/trace.js';

test('CSV: rates per partition hold until the next row; comments, blank lines and ISO times are fine', () => {
  const trace = parseTraceCsv('# orders topic\ntime,1,0\n\n0,10,20\n60,11,21\n180,12,22\n');
  assert.equal(trace.rates.length, 2);
  assert.equal(trace.stepMs, 60_000);
  assert.equal(trace.durationMs, 240_000);
  assert.equal(rateAt(trace, 0, 0), 20, 'columns are matched by partition number');
  assert.equal(rateAt(trace, 1, 0), 10);
  assert.equal(rateAt(trace, 1, 150_000), 11, 'a row holds until the next');
  assert.equal(rateAt(trace, 1, 200_000), 12);
  const iso = parseTraceCsv('time,0\n2026-01-01T00:00:00Z,5\n2026-01-01T00:00:30Z,6\n');
  assert.equal(iso.stepMs, 30_000);
  assert.deepEqual(Array.from(iso.rates[0]!), [5, 6]);
  const roundTrip = parseTraceCsv(traceToCsv(trace));
  assert.deepEqual(
    roundTrip.rates.map((r) => Array.from(r)),
    trace.rates.map((r) => Array.from(r)),
  );
});

test('CSV: every mistake is reported with its line', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['partition,0\n0,1\n', /line 1: the first column must be "time"/],
    ['time\n0\n', /names no partition column/],
    ['time,0,x\n0,1,2\n', /line 1: column "x" is not a partition number/],
    ['time,0,2\n0,1,2\n', /must be 0\.\.1, each once/],
    ['time,0\n', /no data rows/],
    ['time,0,1\n0,1\n', /line 2: expected 3 values/],
    ['time,0\n0,1\n60,-3\n', /line 3: the rate of partition 0 must be a number ≥ 0/],
    ['time,0\n0,1\n60,\n', /line 3: the rate of partition 0/],
    ['time,0\n60,1\n0,1\n', /line 3: times must increase/],
    ['time,0\nyesterday,1\n', /line 2: time "yesterday"/],
    ['time,0\n0,1\n0.5,1\n', /at least 1 second apart/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseTraceCsv(text),
      (e: unknown) => e instanceof TraceCsvError && message.test(e.message),
      text,
    );
  }
});

test('Consumer YAML: a whole Consumer or its spec; bad fields are named', () => {
  const spec = benchmarkConsumer(4);
  assert.equal(
    parseConsumerYaml(stringify({ kind: 'Consumer', metadata: { name: 'a' }, spec })).numPartitions,
    4,
  );
  assert.equal(parseConsumerYaml(stringify(spec)).numPartitions, 4);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a spec bent out of shape on purpose
  type Loose = Record<string, any>;
  const broken = (change: (s: Loose) => void) => {
    const copy = structuredClone(spec) as Loose;
    change(copy);
    return stringify(copy);
  };
  const cases: [string, RegExp][] = [
    ['a: [1, 2', /not valid YAML/],
    ['- 1\n- 2\n', /must hold a Consumer/],
    [stringify({ kind: 'Deployment', spec: {} }), /holds a Deployment, not a Consumer/],
    [broken((s) => (s.numPartitions = 0)), /^c\.yaml: spec\.numPartitions: must be at least 1, got 0$/],
    [
      broken((s) => (s.autoscaler.mode = 'none')),
      /spec\.autoscaler\.mode: must be prometheus, kafka or static/,
    ],
    [
      broken((s) => delete s.autoscaler.prometheus),
      /^c\.yaml: spec\.autoscaler\.prometheus: mode prometheus requires the prometheus section$/,
    ],
    [broken((s) => (s.autoscaler.prometheus.tolerableLag = 'five minutes')), /tolerableLag: must match/],
    [
      broken((s) => (s.autoscaler.prometheus.ratePerCore = 'fast')),
      /ratePerCore: must be a number, got string/,
    ],
    [broken((s) => (s.autoscaler.prometheus.ramPerCore = '1 gig')), /ramPerCore: must match/],
    [broken((s) => (s.autoscaler.predictor = 'magic')), /predictor: must be one of "proactive", "naive"/],
    [
      broken((s) => (s.resourcePolicy.containerPolicies[0].maxAllowed.cpu = 'lots')),
      /maxAllowed\.cpu: must match/,
    ],
    [
      broken((s) => (s.deploymentTemplate.template.spec.containers = [])),
      /containers: must have at least 1 item/,
    ],
    // Refused only by the CRD's CEL rules and structural schema, with the API server's messages.
    [
      broken((s) => (s.autoscaler.prometheus.tolerableLag = '2h')),
      /^c\.yaml: spec\.autoscaler\.prometheus\.tolerableLag: tolerableLag must not be greater than criticalLag$/,
    ],
    [
      broken((s) => (s.resourcePolicy.containerPolicies[0].minAllowed.cpu = '100')),
      /minAllowed: minAllowed\.cpu must not be greater than maxAllowed\.cpu/,
    ],
    [
      broken((s) => (s.autoscaler.surprise = 1)),
      /^c\.yaml: spec\.autoscaler\.surprise: is not a known field$/,
    ],
    [stringify({ kind: 'Consumer', spec: { ...spec, extra: true } }), /spec\.extra: is not a known field/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseConsumerYaml(text, 'c.yaml'),
      (e: unknown) => e instanceof ConsumerFileError && message.test(e.message),
      text,
    );
  }
});
