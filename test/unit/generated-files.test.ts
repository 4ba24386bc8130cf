// Files generated from the code (scripts/generated-files.ts) are committed as generated: the Helm
// chart's CRD template and alert rules, docs/install.md's sizing table and docs/api.md. (deploy/*.yaml is
// checked by manifests.test.ts.) And the operator's shipped memory sizes follow the benchmark.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CHART_DIR, generatedFiles, readMeasuredMemory, sizingTable } from '../../scripts/generated-files.js';
import { OPERATOR_MEMORY, operatorMemory, SIZED_FOR_DEPLOYMENTS } from '../../src/cli/sizing.js';
import { VERSION } from '../../src/cli/version.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';

describe('generated files', async () => {
  const files = await generatedFiles();
  for (const [path, content] of Object.entries(files)) {
    if (path.startsWith('deploy/') && !path.startsWith(CHART_DIR)) continue;
    it(`${path} is what \`npm run gen\` writes`, () => {
      const file = join(REPO_ROOT, path);
      assert.ok(existsSync(file), `${path} is missing: run \`npm run gen\``);
      assert.ok(
        readFileSync(file, 'utf8') === content,
        `${path} is stale: run \`npm run gen\` and commit it`,
      );
    });
  }
});

describe("the operator's memory", () => {
  const measured = readMeasuredMemory();

  it('the shipped request, limit and heap cap are the sizes for the stated count, from the benchmark', () => {
    const { requestMiB, limitMiB, heapMiB } = operatorMemory(SIZED_FOR_DEPLOYMENTS, measured);
    assert.deepEqual(
      { requestMiB, limitMiB, heapMiB },
      { ...OPERATOR_MEMORY },
      'the benchmark figures changed: set OPERATOR_MEMORY in src/cli/sizing.ts and the chart values to these',
    );
  });

  it('the request covers the measured peak, and the limit is above it', () => {
    assert.ok(OPERATOR_MEMORY.requestMiB >= measured.peakRssDuringCreateMiB);
    assert.ok(OPERATOR_MEMORY.limitMiB > OPERATOR_MEMORY.requestMiB);
    assert.ok(OPERATOR_MEMORY.heapMiB < OPERATOR_MEMORY.limitMiB);
  });

  it('grows with the number of managed Deployments', () => {
    const small = operatorMemory(100, measured);
    const large = operatorMemory(20_000, measured);
    assert.ok(small.estimatedPeakMiB < large.estimatedPeakMiB);
    assert.ok(small.requestMiB <= large.requestMiB && small.limitMiB <= large.limitMiB);
    assert.equal(operatorMemory(0, measured).estimatedPeakMiB, measured.baselineRssMiB);
  });

  it("the sizing table has the default's row", () => {
    const row = sizingTable(measured)
      .split('\n')
      .find((line) =>
        line.startsWith(`| ${SIZED_FOR_DEPLOYMENTS.toLocaleString('en-US')} **(the default)** |`),
      );
    assert.ok(row, 'a row for the default count');
    const { requestMiB, limitMiB, heapMiB } = OPERATOR_MEMORY;
    assert.ok(
      row.includes(`| ${Math.round(measured.peakRssDuringCreateMiB)} MiB`),
      `the measured peak in ${row}`,
    );
    assert.ok(
      row.endsWith(`| ${requestMiB}Mi | ${limitMiB}Mi | ${heapMiB} |`),
      `the shipped sizes in ${row}`,
    );
  });

  it("the Helm chart's default values are the same sizes", () => {
    const values = parse(readFileSync(join(REPO_ROOT, CHART_DIR, 'values.yaml'), 'utf8')) as {
      resources: { requests: { memory: string }; limits: { memory: string } };
      heapMiB: number;
    };
    assert.equal(values.resources.requests.memory, `${OPERATOR_MEMORY.requestMiB}Mi`);
    assert.equal(values.resources.limits.memory, `${OPERATOR_MEMORY.limitMiB}Mi`);
    assert.equal(values.heapMiB, OPERATOR_MEMORY.heapMiB);
  });
});

describe('the Helm chart', () => {
  it("its version and appVersion are the operator's", () => {
    const chart = parse(readFileSync(join(REPO_ROOT, CHART_DIR, 'Chart.yaml'), 'utf8')) as {
      version: string;
      appVersion: string;
    };
    assert.equal(chart.version, VERSION);
    assert.equal(chart.appVersion, VERSION);
  });
});
