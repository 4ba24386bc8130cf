import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseQueryResponse,
  parseSampleValue,
  type QueryOutcome,
} from '../../src/metrics/prometheus-parse.js';
import {
  chooseAnswers,
  combineAnswers,
  rankAnswers,
  type AddressAnswer,
} from '../../src/metrics/prometheus-choose.js';
import { displayAddress, queryUrl } from '../../src/metrics/prometheus.js';
import { MetricsReadError, type MetricType } from '../../src/metrics/types.js';

const json = (body: unknown, status = 200) => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(body),
});
const vector = (series: Array<[Record<string, string>, string, number?]>) =>
  json({
    status: 'success',
    data: {
      resultType: 'vector',
      result: series.map(([metric, value, ts]) => ({ metric, value: [ts ?? 1700000000.5, value] })),
    },
  });
const ok = (outcome: QueryOutcome) => {
  assert.ok(outcome.ok, `expected success, got ${JSON.stringify(outcome)}`);
  return outcome;
};
const failed = (outcome: QueryOutcome) => {
  assert.ok(!outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome.error;
};

test('vector: values keyed by the partition label, with the sample timestamp', () => {
  const a = ok(
    parseQueryResponse(
      vector([
        [{ partition: '0' }, '12.5', 1700000000.25],
        [{ partition: '2' }, '0', 1700000001.75],
        [{ partition: '1', topic: 't' }, '3e2'],
      ]),
      'production_rate',
      'partition',
      3,
    ),
  );
  assert.deepEqual([...a.values].sort(), [
    [0, 12.5],
    [1, 300],
    [2, 0],
  ]);
  assert.equal(a.series, 3);
  assert.equal(a.timestamp, 1700000001.75);
  assert.deepEqual(a.warnings, []);
});

test('matrix: the last sample of each series', () => {
  const a = ok(
    parseQueryResponse(
      json({
        status: 'success',
        data: {
          resultType: 'matrix',
          result: [
            {
              metric: { p: '0' },
              values: [
                [10, '1'],
                [20, '2'],
                [30, '7'],
              ],
            },
            { metric: { p: '1' }, values: [[10, '5']] },
            { metric: { p: '2' }, values: [] },
          ],
        },
      }),
      'offset',
      'p',
      3,
    ),
  );
  assert.deepEqual([...a.values].sort(), [
    [0, 7],
    [1, 5],
  ]);
  assert.equal(a.timestamp, 30);
  assert.match(a.warnings.join('\n'), /1 malformed series skipped/);
});

test('scalar and string results are failures, never success with zeros', () => {
  for (const resultType of ['scalar', 'string']) {
    const error = failed(
      parseQueryResponse(
        json({ status: 'success', data: { resultType, result: [1700000000, '5'] } }),
        'offset',
        'partition',
        4,
      ),
    );
    assert.match(error, new RegExp(`unsupported result type "${resultType}".*by \\(partition\\)`));
  }
});

test('NaN, ±Inf and negative values are unknown with a warning', () => {
  const a = ok(
    parseQueryResponse(
      vector([
        [{ partition: '0' }, 'NaN'],
        [{ partition: '1' }, '+Inf'],
        [{ partition: '2' }, '-Inf'],
        [{ partition: '3' }, '-1'],
        [{ partition: '4' }, '4'],
      ]),
      'offset',
      'partition',
      5,
    ),
  );
  assert.deepEqual([...a.values], [[4, 4]]);
  const w = a.warnings.join('\n');
  assert.match(w, /value NaN for partitions 0: unknown/);
  assert.match(w, /value \+Inf for partitions 1: unknown/);
  assert.match(w, /value -Inf for partitions 2: unknown/);
  assert.match(w, /negative value for partitions 3: unknown \(kafka_exporter's -1: nothing committed\)/);
});

test('missing, non-integer and out-of-range partition labels are skipped with warnings', () => {
  const a = ok(
    parseQueryResponse(
      vector([
        [{ job: 'x' }, '1'],
        [{ partition: 'abc' }, '2'],
        [{ partition: '-1' }, '2'],
        [{ partition: '1.5' }, '2'],
        [{ partition: '9' }, '3'],
        [{ partition: '0' }, '5'],
      ]),
      'consumption_rate',
      'partition',
      2,
    ),
  );
  assert.deepEqual([...a.values], [[0, 5]]);
  const w = a.warnings.join('\n');
  assert.match(w, /1 series without label "partition" skipped \(aggregate with "by \(partition\)"\)/);
  assert.match(w, /3 series with a non-integer "partition" label skipped/);
  assert.match(w, /partitions 9 ignored: beyond numPartitions 2/);
  assert.match(w, /no series for partitions 1: unknown/);
  // Label values are the server's words: only in the details, for the operator's log.
  assert.doesNotMatch(w, /job|abc|1\.5/);
  assert.deepEqual(a.details, [
    'a series without label "partition": {job="x"}',
    'non-integer "partition" labels: "abc", "-1", "1.5"',
  ]);
});

test('duplicate series for a partition: the max, with a warning about the missing aggregation', () => {
  const a = ok(
    parseQueryResponse(
      vector([
        [{ partition: '0', pod: 'a' }, '3'],
        [{ partition: '0', pod: 'b' }, '8'],
        [{ partition: '0', pod: 'c' }, 'NaN'],
        [{ partition: '1' }, '1'],
      ]),
      'offset',
      'partition',
      2,
    ),
  );
  assert.deepEqual([...a.values].sort(), [
    [0, 8],
    [1, 1],
  ]);
  const w = a.warnings.join('\n');
  assert.match(
    w,
    /several series for partitions 0: took the max \(does the query lack "by \(partition\)"\?\)/,
  );
  assert.doesNotMatch(w, /NaN/, 'a partition with a valid series is not reported unknown');
});

test('an empty result is success with every partition unknown, and says so', () => {
  const a = ok(parseQueryResponse(vector([]), 'production_rate', 'partition', 3));
  assert.equal(a.values.size, 0);
  assert.equal(a.timestamp, undefined);
  assert.match(a.warnings.join('\n'), /no series: every partition is unknown/);
});

test('HTML error pages, API errors and HTTP errors are failures that name the status and the kind of answer, never its text', () => {
  const html = {
    status: 502,
    contentType: 'text/html; charset=utf-8',
    body: '<html><head><title>502 Bad Gateway</title><style>p{}</style></head><body><h1>Bad Gateway</h1></body></html>',
  };
  const page = parseQueryResponse(html, 'offset', 'partition', 1);
  assert.equal(failed(page), 'HTTP 502: not a Prometheus API answer (text/html, 107 bytes)');
  assert.equal(!page.ok && page.detail, 'text/html; charset=utf-8: 502 Bad Gateway Bad Gateway');
  assert.equal(
    failed(
      parseQueryResponse({ status: 200, contentType: 'text/plain', body: '' }, 'offset', 'partition', 1),
    ),
    'HTTP 200: not a Prometheus API answer (text/plain, empty body)',
  );
  // A content type that is no media type is not repeated either.
  assert.equal(
    failed(
      parseQueryResponse(
        { status: 200, contentType: 'the secret is 42', body: 'x' },
        'offset',
        'partition',
        1,
      ),
    ),
    'HTTP 200: not a Prometheus API answer (an unusual content type, 1 bytes)',
  );
  const apiError = parseQueryResponse(
    json({ status: 'error', errorType: 'bad_data', error: 'parse error at char 5' }, 400),
    'offset',
    'partition',
    1,
  );
  assert.equal(
    failed(apiError),
    `HTTP 400: Prometheus API error "bad_data" (its message is in the operator's log)`,
  );
  assert.equal(!apiError.ok && apiError.detail, 'bad_data: parse error at char 5');
  // An errorType the API does not define is the server's text: not shown.
  assert.equal(
    failed(
      parseQueryResponse(
        json({ status: 'error', errorType: 'secret-token-123', error: 'x' }, 500),
        'offset',
        'partition',
        1,
      ),
    ),
    "HTTP 500: Prometheus API error (its message is in the operator's log)",
  );
  assert.equal(
    failed(parseQueryResponse(json({ message: 'unauthorized' }, 401), 'offset', 'partition', 1)),
    'HTTP 401',
  );
  const redirect = parseQueryResponse(
    { status: 302, contentType: 'text/html', body: '<a href="http://169.254.169.254/">moved</a>' },
    'offset',
    'partition',
    1,
  );
  assert.equal(
    failed(redirect),
    'HTTP 302: a redirect, which is not followed (the address must be the Prometheus API itself)',
  );
  const weird = parseQueryResponse(
    json({ status: 'success', data: { resultType: 'weird', result: [] } }),
    'offset',
    'p',
    1,
  );
  assert.equal(failed(weird), 'malformed response: unknown result type');
  assert.equal(!weird.ok && weird.detail, 'result type "weird"');
});

test("Prometheus's own warnings are counted, their text kept for the operator's log", () => {
  const body = json({
    status: 'success',
    warnings: ['PromQL info: metric might not be a counter'],
    data: { resultType: 'vector', result: [{ metric: { partition: '0' }, value: [1, '1'] }] },
  });
  const a = ok(parseQueryResponse(body, 'production_rate', 'partition', 1));
  assert.deepEqual(a.warnings, ["Prometheus answered with 1 warning (their text is in the operator's log)"]);
  assert.deepEqual(a.details, ['Prometheus warning: PromQL info: metric might not be a counter']);
});

test('sample values as Prometheus formats them', () => {
  assert.equal(parseSampleValue('1.5e3'), 1500);
  assert.equal(parseSampleValue('+Inf'), Infinity);
  assert.equal(parseSampleValue('-Inf'), -Infinity);
  assert.ok(Number.isNaN(parseSampleValue('NaN')));
  assert.ok(Number.isNaN(parseSampleValue('')));
  assert.ok(Number.isNaN(parseSampleValue(5)));
});

// --- choosing between addresses ---

const answer = (values: Array<[number, number]>, timestamp?: number): QueryOutcome => ({
  ok: true,
  values: new Map(values),
  series: values.length,
  ...(timestamp !== undefined ? { timestamp } : {}),
  warnings: [],
  details: [],
});
const failure = (error: string): QueryOutcome => ({ ok: false, error });
const addr = (
  address: string,
  outcomes: Partial<Record<MetricType, QueryOutcome>>,
  fallback: QueryOutcome = failure('connection refused'),
): AddressAnswer => ({
  address,
  outcomes: {
    production_rate: outcomes.production_rate ?? fallback,
    consumption_rate: outcomes.consumption_rate ?? fallback,
    offset: outcomes.offset ?? fallback,
  },
});
const all = (outcome: QueryOutcome) => ({
  production_rate: outcome,
  consumption_rate: outcome,
  offset: outcome,
});

test('a complete answer beats a fresher incomplete one', () => {
  const answers = [
    addr('http://a', { offset: answer([[0, 1]], 200) }),
    addr('http://b', all(answer([[0, 2]], 100))),
  ];
  assert.deepEqual(rankAnswers(answers), [1, 0]);
  assert.deepEqual(chooseAnswers(answers), { production_rate: 1, consumption_rate: 1, offset: 1 });
});

test('among complete answers the freshest wins; ties by coverage, then address order', () => {
  const stale = addr('http://a', all(answer([[0, 1]], 100)));
  const fresh = addr('http://b', all(answer([[0, 2]], 160)));
  assert.deepEqual(rankAnswers([stale, fresh]), [1, 0]);
  const same1 = addr('http://a', all(answer([[0, 1]], 100)));
  const same2 = addr('http://b', all(answer([[0, 1]], 100)));
  assert.deepEqual(rankAnswers([same1, same2]), [0, 1]);
  const wider = addr(
    'http://c',
    all(
      answer(
        [
          [0, 1],
          [1, 1],
        ],
        100,
      ),
    ),
  );
  assert.deepEqual(rankAnswers([same1, same2, wider]), [2, 0, 1]);
  const empty = addr('http://d', all(answer([])));
  assert.deepEqual(rankAnswers([empty, same1]), [1, 0], 'an answer with no sample is the least fresh');
});

test('with no complete answer, each query comes from the best address that answered it', () => {
  const answers = [
    addr('http://a', { offset: answer([[0, 5]], 100), production_rate: answer([[0, 1]], 100) }),
    addr('http://b', { consumption_rate: answer([[0, 2]], 300) }),
  ];
  assert.deepEqual(chooseAnswers(answers), { production_rate: 0, consumption_rate: 1, offset: 0 });
  const { reading } = combineAnswers(answers, 2, new Date(0));
  assert.deepEqual(reading.partitions.get(0), { production: 1, consumption: 2, behind: 5 });
  assert.deepEqual(reading.partitions.get(1), {});
  assert.deepEqual(reading.warnings, [
    'prometheus http://a: consumption_rate: connection refused',
    'prometheus http://b: production_rate: connection refused, offset: connection refused',
  ]);
});

test('a failed address is reported even when another one answered everything', () => {
  const answers = [addr('http://down', {}), addr('http://up', all(answer([[0, 3]], 1)))];
  const { reading, chosen } = combineAnswers(answers, 1, new Date(0));
  assert.deepEqual(chosen, { production_rate: 1, consumption_rate: 1, offset: 1 });
  assert.deepEqual(reading.partitions.get(0), { production: 3, consumption: 3, behind: 3 });
  assert.deepEqual(reading.warnings, ['prometheus http://down: connection refused']);
});

test('no usable answer at all rejects, naming every address and its reason', () => {
  const answers = [
    addr('http://a', {}),
    addr('http://b', { offset: failure('unsupported result type "scalar"') }, failure('HTTP 503')),
  ];
  assert.throws(
    () => combineAnswers(answers, 1, new Date(0)),
    new MetricsReadError(
      'prometheus: no usable answer from 2 addresses: http://a: connection refused; ' +
        'http://b: production_rate: HTTP 503, consumption_rate: HTTP 503, offset: unsupported result type "scalar"',
    ),
  );
});

test('a query that no address answered is unknown everywhere, with a warning', () => {
  const answers = [addr('http://a', { offset: answer([[0, 4]], 1) }, failure('HTTP 422: execution: boom'))];
  const { reading } = combineAnswers(answers, 1, new Date(0));
  assert.deepEqual(reading.partitions.get(0), { behind: 4 });
  assert.match(
    reading.warnings.join('\n'),
    /production_rate unknown for every partition: no address answered it/,
  );
});

test('the chosen answers carry their warnings with address and query type', () => {
  const withWarning: QueryOutcome = {
    ...answer([[0, 1]], 1),
    warnings: ['value NaN for partitions 1: unknown'],
  } as QueryOutcome;
  const { reading } = combineAnswers([addr('http://a', all(withWarning))], 2, new Date(0));
  assert.ok(reading.warnings.includes('prometheus http://a offset: value NaN for partitions 1: unknown'));
});

test('query URLs keep a path prefix; addresses are shown without credentials', () => {
  assert.equal(queryUrl('http://prom:9090').toString(), 'http://prom:9090/api/v1/query');
  assert.equal(queryUrl('https://h/prometheus/').toString(), 'https://h/prometheus/api/v1/query');
  assert.equal(queryUrl('https://h/prometheus?x=1').toString(), 'https://h/prometheus/api/v1/query');
  assert.throws(() => queryUrl('prom:9090x'), /invalid address/);
  assert.throws(() => queryUrl('ftp://h'), /protocol ftp:/);
  assert.equal(displayAddress('http://user:secret@h:9090'), 'http://h:9090');
  assert.equal(displayAddress('http://h:9090/'), 'http://h:9090/');
});
