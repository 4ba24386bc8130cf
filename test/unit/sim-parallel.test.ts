// Simulations on several threads: the results are those of one thread, in the order of the jobs,
// whatever the number of threads; a failure names its job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchmarkConsumer } from '../../src/sim/bench-consumer.js';
import { groupJobs, simulateAll, type SimJob } from '../../src/sim/parallel.js';
import { defaultParams } from '../../src/sim/params.js';
import {
  benchmarkPolicies,
  oraclePolicy,
  originalPolicy,
  oursDefault,
  policyFromRef,
  policyRef,
} from '../../src/sim/policies/index.js';
import { oursPolicy } from '../../src/sim/policies/ours.js';
import type { PolicySpec } from '../../src/sim/policy.js';
import { simulate } from '../../src/sim/run.js';
import { simSetup } from '../../src/sim/setup.js';
import type { Trace } from '../../src/sim/trace.js';
import { burstsTrace, gapsTrace } from '../../src/sim/traces.js';

const MINUTE = 60_000;

const cut = (trace: Trace, minutes: number): Trace => ({
  ...trace,
  durationMs: minutes * MINUTE,
  rates: trace.rates.map((r) => r.slice(0, minutes)),
});

/** Every benchmark policy and a custom one, on two short traces (shared and single instances). */
function jobs(): SimJob[] {
  const custom = oursPolicy({
    id: 'custom',
    label: 'naive in place',
    description: '',
    mode: 'in-place',
    predictor: 'naive',
  });
  const traces = [
    cut(burstsTrace({ seed: 3, partitions: 4, peakRate: 2000 }), 120),
    cut(gapsTrace({ seed: 3, partitions: 3, peakRate: 1500 }), 9 * 60),
  ];
  return traces.flatMap((trace, t) =>
    [...benchmarkPolicies, custom].map((policy) => ({
      trace,
      spec: { ...benchmarkConsumer(trace.rates.length), numPartitionsPerInstance: t + 1 },
      params: defaultParams({ seed: 11 }),
      policy,
    })),
  );
}

test('the results do not depend on the number of threads', async () => {
  const all = jobs();
  const inThisThread = all.map((job) => simulate(job.trace, job.policy, simSetup(job.spec), job.params));
  for (const threads of [1, 2, 4]) {
    const finished: number[] = [];
    const results = await simulateAll(all, { threads, onResult: (index) => finished.push(index) });
    assert.equal(results.length, all.length);
    results.forEach((result, i) => {
      const expected = inThisThread[i]!;
      assert.equal(result.policy, all[i]!.policy.id, `${threads} threads: job ${i} in its place`);
      assert.deepEqual(
        result.figures,
        expected.figures,
        `${threads} threads: ${result.trace} / ${result.policy}`,
      );
      assert.deepEqual(result.series, expected.series);
      assert.deepEqual(result.totals, expected.totals);
      assert.deepEqual(
        result.lagByMinute.map((a) => Array.from(a)),
        expected.lagByMinute.map((a) => Array.from(a)),
      );
    });
    assert.deepEqual(
      [...finished].sort((a, b) => a - b),
      all.map((_, i) => i),
      'each job reported once',
    );
  }
});

test('a job that fails names itself', async () => {
  const [good] = jobs();
  const broken: SimJob = {
    ...good!,
    spec: { ...good!.spec, autoscaler: { mode: 'none' } } as SimJob['spec'],
  };
  await assert.rejects(
    simulateAll([good!, broken, good!], { threads: 2 }),
    /simulation of bursts \/ oracle: spec\.autoscaler\.mode must be prometheus, kafka or static/,
  );
});

test('a policy reaches a worker by id, or by the options it was made from', () => {
  for (const policy of benchmarkPolicies) assert.equal(policyFromRef(policyRef(policy)), policy);
  const custom = oursPolicy({ id: 'c', label: 'c', description: '', mode: 'restart', predictor: 'naive' });
  assert.deepEqual(policyRef(custom), {
    ours: { id: 'c', label: 'c', description: '', mode: 'restart', predictor: 'naive' },
  });
  assert.equal(policyFromRef(policyRef(custom)).label, 'c');
  const unknown: PolicySpec = { ...oursDefault, id: 'elsewhere', ref: undefined };
  assert.throws(() => policyRef(unknown), /policy "elsewhere" cannot be rebuilt in a worker thread/);
});

test('jobs on the same trace run together; split across threads by cost when there are few traces', () => {
  const [a, b] = [jobs()[0]!.trace, jobs()[10]!.trace];
  const params = defaultParams({ seed: 11 });
  const job = (trace: Trace, policy: PolicySpec, p = params): SimJob => ({
    trace,
    spec: benchmarkConsumer(trace.rates.length),
    params: p,
    policy,
  });
  const three = [job(a, oursDefault), job(a, oraclePolicy), job(a, originalPolicy)];
  assert.deepEqual(groupJobs(three, 0), [[0, 1, 2]], 'one thread: all together');
  assert.deepEqual(groupJobs(three, 2), [[0], [1, 2]], 'two threads: ours (the costliest) alone');
  const mixed = [
    job(a, oraclePolicy),
    job(b, oraclePolicy),
    job(a, originalPolicy),
    job(a, oraclePolicy, defaultParams({ seed: 2 })),
  ];
  assert.deepEqual(groupJobs(mixed, 2), [[0, 2], [3], [1]], 'by trace, then by params');
});
