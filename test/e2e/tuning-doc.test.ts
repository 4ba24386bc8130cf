// docs/tuning.md works as written, against the test plane: every complete Consumer in it is
// accepted by the CRD (server-side dry run, strict field validation) and by the operator's own
// validation; every PromQL query in it is valid for the real Prometheus; and `export-traffic`
// turns the plane's real traffic into a CSV that `simulate` replays with the doc's kafka Consumer.
import { after, before, describe, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiException, CustomObjectsApi } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import type { Consumer } from '../../src/api/schema.js';
import { validateConsumer } from '../../src/api/validate.js';
import { runExportTraffic } from '../../src/cli/export-traffic.js';
import { runSimulate } from '../../src/cli/simulate.js';
import { runLoad } from '../../src/loadgen/index.js';
import { parseTraceCsv } from '../../src/sim/csv.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { installCrd } from '../support/crd.js';
import { deleteTestNamespaces, kubeConfig, metricsPlane, newNamespace } from '../support/env.js';

const plane = metricsPlane();
const DOC = readFileSync(join(REPO_ROOT, 'docs', 'tuning.md'), 'utf8');

/** The fenced code blocks of a language in the doc. */
function blocks(language: string): string[] {
  return [...DOC.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

const consumers = (): Consumer[] =>
  blocks('yaml')
    .flatMap((text) => parseAllDocuments(text).map((d) => d.toJS() as Consumer))
    .filter((o) => o?.kind === 'Consumer');

describe('docs/tuning.md', () => {
  const custom = kubeConfig().makeApiClient(CustomObjectsApi);
  let namespace = '';
  let workDir = '';

  before(async () => {
    await installCrd(kubeConfig());
    namespace = await newNamespace('tuning-doc');
    workDir = mkdtempSync(join(REPO_ROOT, '.testplane', 'tuning-doc-'));
  });
  after(async () => {
    await deleteTestNamespaces();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  /** Server-side dry-run create in the test namespace: undefined when accepted, else the refusal. */
  async function dryRun(consumer: Consumer): Promise<string | undefined> {
    const body = structuredClone(consumer);
    body.metadata = { name: body.metadata.name, namespace } as Consumer['metadata'];
    body.spec.namespace = namespace;
    try {
      await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        body,
        dryRun: 'All',
        fieldValidation: 'Strict',
      });
      return undefined;
    } catch (err) {
      if (!(err instanceof ApiException)) throw err;
      return `${err.code}: ${typeof err.body === 'string' ? err.body : JSON.stringify(err.body)}`;
    }
  }

  test('has a complete Consumer for each metrics mode, each accepted by the CRD and the operator', async () => {
    const found = consumers();
    assert.deepEqual(
      found.map((c) => c.spec.autoscaler.mode),
      ['prometheus', 'kafka', 'static'],
    );
    for (const consumer of found) {
      assert.equal(await dryRun(consumer), undefined, `${consumer.metadata.name} refused`);
      const { errors, warnings } = validateConsumer({
        ...consumer,
        metadata: { ...consumer.metadata, uid: 'u', generation: 1 },
      });
      assert.deepEqual([...errors, ...warnings], [], `${consumer.metadata.name}: the operator's checks`);
    }
    // The dry run does validate: a broken copy is refused.
    const broken = structuredClone(found[1]!);
    broken.spec.autoscaler.kafka!.ratePerCore = 0;
    assert.match((await dryRun(broken)) ?? 'accepted', /^422: .*ratePerCore/);
  });

  test('every PromQL query is valid for Prometheus', async () => {
    const queries = blocks('promql');
    assert.equal(queries.length, 2);
    for (const query of queries) {
      const response = await fetch(`${plane.prometheusUrl}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query }),
      });
      const answer = (await response.json()) as { status: string; error?: string };
      assert.equal(answer.status, 'success', `${query}\n→ ${answer.error}`);
    }
  });

  test('export-traffic writes the CSV simulate reads, from real traffic; simulate replays it', async () => {
    const topic = `tuning-doc-${randomBytes(3).toString('hex')}`;
    const rates = [40, 10, 0];
    await runLoad({
      brokers: [plane.kafkaBootstrap],
      topic,
      rate: { rates },
      createTopic: true,
      durationSeconds: 25,
    });
    // The exporter and Prometheus (1 s scrapes) see the end of the load within seconds.
    await new Promise((r) => setTimeout(r, 5000));
    const csvFile = join(workDir, 'traffic.csv');
    await runExportTraffic({
      prometheus: plane.prometheusUrl,
      topic,
      partitionLabel: 'partition',
      since: '40s',
      step: '2s',
      rateWindow: '6s',
      partitions: '3',
      out: csvFile,
    });
    const trace = parseTraceCsv(readFileSync(csvFile, 'utf8'), 'traffic.csv');
    assert.equal(trace.rates.length, 3);
    const peak = (p: number) => Math.max(...trace.rates[p]!);
    assert.ok(peak(0) > 40 * 0.7 && peak(0) < 40 * 1.5, `partition 0 peaks near 40 msg/s: ${peak(0)}`);
    assert.ok(peak(1) > 10 * 0.7 && peak(1) < 10 * 1.5, `partition 1 peaks near 10 msg/s: ${peak(1)}`);
    assert.equal(peak(2), 0, 'partition 2 had no traffic');
    console.log(
      `export-traffic: ${trace.rates[0]!.length} rows; peaks ${[0, 1, 2].map((p) => peak(p).toFixed(1)).join(', ')} msg/s`,
    );

    const kafkaConsumer = consumers().find((c) => c.spec.autoscaler.mode === 'kafka')!;
    kafkaConsumer.spec.numPartitions = 3;
    const consumerFile = join(workDir, 'consumer.json');
    writeFileSync(consumerFile, JSON.stringify(kafkaConsumer));
    const printed: string[] = [];
    await runSimulate({ consumer: consumerFile, traffic: csvFile, compare: 'oracle', seed: '1' }, (text) =>
      printed.push(text),
    );
    const output = printed.join('');
    console.log(output);
    assert.match(output, /ratePerCore 0\.5/, 'the doc Consumer was simulated');
    assert.match(output, /^oracle +[\d.]+ +1\.00×/m, 'the oracle was run on the same traffic');
  });
});
