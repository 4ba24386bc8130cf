// The Prometheus provider against the test plane's real Prometheus, scraping exposition text this
// process serves (like the original's "faker": production/consumption offset gauges per partition
// advancing at set rates), registered as a file_sd target.
import { after, before, describe, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrometheusProvider, type PrometheusProviderOptions } from '../../src/metrics/prometheus.js';
import type { ProviderObserver } from '../../src/metrics/instrumentation.js';
import type { MetricsReading } from '../../src/metrics/types.js';
import { metricsPlane, waitFor } from '../support/env.js';

const env = metricsPlane();

const job = `metrics-provider-${randomBytes(3).toString('hex')}`;
const sel = `{job="${job}"}`;

/** Per partition: production and consumption offsets advance at these rates (msg/s); lag at start. */
const PARTITIONS = [
  { production: 100, consumption: 100, lag: 500 }, // steady lag
  { production: 40, consumption: 40, lag: 0 }, // caught up
  { production: 20, consumption: 10, lag: 50 }, // falling behind by 10 msg/s
  { production: 0, consumption: 0, lag: 1000 }, // idle topic, stalled consumer: real zeros
];
const BASE = 1_000_000;

const queries = {
  offset: {
    query:
      `max(konsumerator_messages_production_offset${sel}) by (partition) - ` +
      `max(konsumerator_messages_consumption_offset${sel}) by (partition)`,
    partitionLabel: 'partition',
  },
  production: {
    query: `sum(rate(konsumerator_messages_production_offset${sel}[15s])) by (partition)`,
    partitionLabel: 'partition',
  },
  consumption: {
    query: `sum(rate(konsumerator_messages_consumption_offset${sel}[15s])) by (partition)`,
    partitionLabel: 'partition',
  },
} satisfies Pick<PrometheusProviderOptions, 'offset' | 'production' | 'consumption'>;

const t0 = Date.now();
const elapsed = () => (Date.now() - t0) / 1000;
const lagAt = (p: number, seconds: number) => {
  const s = PARTITIONS[p]!;
  return s.lag + Math.floor(s.production * seconds) - Math.floor(s.consumption * seconds);
};

function exposition(): string {
  const s = elapsed();
  const lines = [
    '# TYPE konsumerator_messages_production_offset gauge',
    ...PARTITIONS.map(
      (p, i) =>
        `konsumerator_messages_production_offset{partition="${i}"} ${BASE + Math.floor(p.production * s)}`,
    ),
    '# TYPE konsumerator_messages_consumption_offset gauge',
    ...PARTITIONS.map(
      (p, i) =>
        `konsumerator_messages_consumption_offset{partition="${i}"} ${BASE - p.lag + Math.floor(p.consumption * s)}`,
    ),
    // Series a provider must not turn into numbers.
    '# TYPE konsumerator_test_weird gauge',
    'konsumerator_test_weird{partition="0"} NaN',
    'konsumerator_test_weird{partition="1"} -1',
    'konsumerator_test_weird{partition="2"} +Inf',
    'konsumerator_test_weird{shard="2"} 5',
    'konsumerator_test_weird{partition="x"} 5',
    'konsumerator_test_weird{partition="3"} 7',
  ];
  return `${lines.join('\n')}\n`;
}

/** The exporter, plus routes that misbehave like broken Prometheus front ends. */
const server = http.createServer((req, res) => {
  if (req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(exposition());
  } else if (req.url?.startsWith('/html/')) {
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>');
  } else if (req.url?.startsWith('/hang/')) {
    // Never answers: the provider's per-request timeout must end it.
  } else {
    res.writeHead(404).end();
  }
});
let exporterPort = 0;
let closedPort = 0;

async function listen(s: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
}

async function promQuery(
  query: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${env.prometheusUrl}/api/v1/query`, {
    method: 'POST',
    body: new URLSearchParams({ query }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json()) as {
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  return body.data.result;
}

function provider(options: Partial<PrometheusProviderOptions> = {}): PrometheusProvider {
  return new PrometheusProvider({ addresses: [env.prometheusUrl], ...queries, ...options });
}

function assertGoodReading(r: MetricsReading, readAt: number): void {
  assert.equal(r.partitions.size, PARTITIONS.length);
  for (const [p, spec] of PARTITIONS.entries()) {
    const sample = r.partitions.get(p)!;
    for (const field of ['production', 'consumption'] as const) {
      const value = sample[field];
      assert.ok(value !== undefined, `partition ${p} ${field} known`);
      assert.ok(
        // rate() over late scrapes on a busy machine reads up to ~6 % off; the partitions' rates
        // differ by far more than 10 %, so this still tells them apart.
        Math.abs(value - spec[field]) <= 0.1 * spec[field] + 0.01,
        `partition ${p} ${field}: ${value} ≈ ${spec[field]}`,
      );
    }
    if (spec.production === spec.consumption) {
      assert.equal(sample.behind, spec.lag, `partition ${p}: exact lag`);
    } else {
      // The last scrape happened within the last few seconds before the read.
      const behind = sample.behind!;
      assert.ok(
        behind >= lagAt(p, readAt - 4) && behind <= lagAt(p, readAt),
        `partition ${p} behind ${behind}`,
      );
    }
  }
}

describe('Prometheus provider against a real Prometheus', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'metrics-provider-'));
  const sdFile = join(env.prometheusFileSdDir, `${job}.json`);

  before(async () => {
    exporterPort = await listen(server);
    const probe = http.createServer();
    closedPort = await listen(probe);
    await new Promise((resolve) => probe.close(resolve));
    writeFileSync(
      `${sdFile}.tmp`,
      JSON.stringify([{ targets: [`127.0.0.1:${exporterPort}`], labels: { job } }]),
    );
    renameSync(`${sdFile}.tmp`, sdFile);
    await waitFor(
      `prometheus scraping ${job}`,
      async () => (await promQuery(`up${sel} == 1`)).length > 0,
      60_000,
    );
  });

  after(async () => {
    rmSync(sdFile, { force: true });
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(tmp, { recursive: true, force: true });
  });

  test("the original's sample queries give per-partition lag and rates", async () => {
    const requests: Array<[string, string, boolean]> = [];
    const samples: Array<[string, number]> = [];
    const queries: Array<[string, number]> = [];
    const observer: ProviderObserver = {
      onRequest: (type, addr, seconds, ok) => {
        assert.ok(seconds >= 0 && seconds < 10);
        requests.push([type, addr, ok]);
      },
      onSamples: (type, count) => samples.push([type, count]),
      onQuery: (type, seconds) => queries.push([type, seconds]),
      // Called by the controller's MetricsSources, not by a provider.
      onValue: () => assert.fail('a provider reported a value'),
    };
    const p = provider({ observer });
    try {
      // rate() over [15s] is exact once the series span the window.
      let reading: MetricsReading | undefined;
      let readAt = 0;
      await waitFor(
        'rates over a full window',
        async () => {
          readAt = elapsed();
          reading = await p.read(PARTITIONS.length);
          const production = reading.partitions.get(0)?.production;
          return production !== undefined && Math.abs(production - 100) < 2;
        },
        60_000,
      );
      assertGoodReading(reading!, readAt);
      assert.deepEqual(reading!.warnings, []);
      assert.ok(Math.abs(reading!.time.getTime() - Date.now()) < 15_000);
      assert.deepEqual(requests.slice(-3).sort(), [
        ['consumption_rate', env.prometheusUrl, true],
        ['offset', env.prometheusUrl, true],
        ['production_rate', env.prometheusUrl, true],
      ]);
      assert.deepEqual(samples.slice(-3), [
        ['production_rate', 4],
        ['consumption_rate', 4],
        ['offset', 4],
      ]);
      // One duration per type and read (the per-type summary), as long as the read took at most.
      const lastQueries = queries.slice(-3);
      assert.deepEqual(lastQueries.map(([type]) => type).sort(), [
        'consumption_rate',
        'offset',
        'production_rate',
      ]);
      for (const [, seconds] of lastQueries) assert.ok(seconds >= 0 && seconds < 10, `${seconds} s`);
    } finally {
      await p.close();
    }
  });

  test('an unreachable address, an HTML error page and a hanging one lose to the good answer, with warnings', async () => {
    const bad = [
      `http://127.0.0.1:${closedPort}`,
      `http://127.0.0.1:${exporterPort}/html`,
      `http://127.0.0.1:${exporterPort}/hang`,
    ];
    const p = provider({ addresses: [...bad, env.prometheusUrl], timeoutMs: 1500 });
    try {
      const readAt = elapsed();
      const r = await p.read(PARTITIONS.length);
      assertGoodReading(r, readAt);
      assert.deepEqual(r.warnings, [
        `prometheus ${bad[0]}: connection refused (ECONNREFUSED)`,
        `prometheus ${bad[1]}: HTTP 502: not a Prometheus API answer (text/html, 91 bytes)`,
        `prometheus ${bad[2]}: timed out after 1500 ms`,
      ]);
      // What the servers said is kept for the operator's log only.
      assert.deepEqual(r.details, [
        `prometheus ${bad[0]} production_rate: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
        `prometheus ${bad[0]} consumption_rate: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
        `prometheus ${bad[0]} offset: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
        `prometheus ${bad[1]} production_rate: text/html: 502 Bad Gateway nginx`,
        `prometheus ${bad[1]} consumption_rate: text/html: 502 Bad Gateway nginx`,
        `prometheus ${bad[1]} offset: text/html: 502 Bad Gateway nginx`,
      ]);
    } finally {
      await p.close();
    }
  });

  test('all addresses unusable: the read rejects, naming each address and why', async () => {
    const p = provider({
      addresses: [`http://127.0.0.1:${closedPort}`, `http://127.0.0.1:${exporterPort}/hang/`],
      timeoutMs: 500,
    });
    try {
      await assert.rejects(p.read(4), {
        name: 'MetricsReadError',
        message:
          `prometheus: no usable answer from 2 addresses: http://127.0.0.1:${closedPort}: connection refused ` +
          `(ECONNREFUSED); http://127.0.0.1:${exporterPort}/hang/: timed out after 500 ms`,
        // The system's own words, for the operator's log.
        details: ['production_rate', 'consumption_rate', 'offset'].map(
          (type) =>
            `prometheus http://127.0.0.1:${closedPort} ${type}: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
        ),
      });
    } finally {
      await p.close();
    }
  });

  test('NaN, negative and unlabelled series, scalar results and bad PromQL give unknowns and warnings', async () => {
    const p = provider({
      offset: { query: `konsumerator_test_weird${sel}`, partitionLabel: 'partition' },
      production: {
        query: `scalar(sum(konsumerator_messages_production_offset${sel}))`,
        partitionLabel: 'partition',
      },
      consumption: {
        query: 'sum(rate(konsumerator_messages_consumption_offset[',
        partitionLabel: 'partition',
      },
    });
    try {
      const r = await p.read(4);
      assert.deepEqual(
        [...r.partitions],
        [
          [0, {}],
          [1, {}],
          [2, {}],
          [3, { behind: 7 }],
        ],
      );
      const a = env.prometheusUrl;
      const [first, ...rest] = r.warnings;
      assert.match(
        first!,
        new RegExp(
          `^prometheus ${a}: production_rate: unsupported result type "scalar": the query must return one series ` +
            `per partition \\(e\\.g\\. "\\.\\.\\. by \\(partition\\)"\\), consumption_rate: HTTP 400: Prometheus API error "bad_data" ` +
            `\\(its message is in the operator's log\\)$`,
        ),
      );
      assert.deepEqual(rest, [
        `prometheus: production_rate unknown for every partition: no address answered it`,
        `prometheus: consumption_rate unknown for every partition: no address answered it`,
        `prometheus ${a} offset: 1 series without label "partition" skipped (aggregate with "by (partition)")`,
        `prometheus ${a} offset: 1 series with a non-integer "partition" label skipped`,
        `prometheus ${a} offset: value NaN for partitions 0: unknown`,
        `prometheus ${a} offset: negative value for partitions 1: unknown (kafka_exporter's -1: nothing committed)`,
        `prometheus ${a} offset: value +Inf for partitions 2: unknown`,
      ]);
      // The labels and Prometheus's error text: for the operator's log only.
      assert.deepEqual(
        r.details?.filter((d) => !d.includes('consumption_rate')),
        [
          `prometheus ${a} offset: a series without label "partition": {__name__="konsumerator_test_weird",instance="127.0.0.1:${exporterPort}",job="${job}",shard="2"}`,
          `prometheus ${a} offset: non-integer "partition" labels: "x"`,
        ],
      );
      assert.match(
        r.details!.find((d) => d.includes('consumption_rate'))!,
        /consumption_rate: bad_data: .*parse error/,
      );
    } finally {
      await p.close();
    }
  });

  test('matrix results use the last sample of each series; a query without "by (partition)" takes the max', async () => {
    const p = provider({
      offset: { query: `konsumerator_messages_production_offset${sel}[5s]`, partitionLabel: 'partition' },
      production: {
        // Keeps the old partition in "orig" (so the series stay distinct), then sets partition="0".
        query: `label_replace(label_replace(konsumerator_messages_production_offset${sel}, "orig", "$1", "partition", "(.*)"), "partition", "0", "", "")`,
        partitionLabel: 'partition',
      },
    });
    try {
      const readAt = elapsed();
      const r = await p.read(4);
      for (const [i, s] of PARTITIONS.entries()) {
        const offset = r.partitions.get(i)!.behind!;
        assert.ok(
          offset >= BASE + Math.floor(s.production * (readAt - 4)) && offset <= BASE + s.production * readAt,
        );
      }
      // Every series relabelled to partition 0: the max is the fastest partition's offset.
      const max = r.partitions.get(0)!.production!;
      assert.ok(max >= BASE + Math.floor(100 * (readAt - 4)), `max ${max}`);
      assert.equal(r.partitions.get(1)!.production, undefined);
      assert.ok(
        r.warnings.includes(
          `prometheus ${env.prometheusUrl} production_rate: several series for partitions 0: took the max (does the query lack "by (partition)"?)`,
        ),
        r.warnings.join('\n'),
      );
    } finally {
      await p.close();
    }
  });

  test('behind a TLS reverse proxy with bearer auth, a path prefix and POST refused (405)', async () => {
    const cert = join(tmp, 'cert.pem');
    const key = join(tmp, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=prometheus.test',
        '-addext',
        'subjectAltName=DNS:prometheus.test,IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    let posts = 0;
    const proxy = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
      if (req.headers.authorization !== 'Bearer s3cret') {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized');
        return;
      }
      if (req.method !== 'GET' || !req.url?.startsWith('/prom/api/v1/query?')) {
        posts++;
        res.writeHead(405, { 'content-type': 'text/plain' }).end('method not allowed');
        return;
      }
      const upstream = http.request(`${env.prometheusUrl}${req.url.slice('/prom'.length)}`, (up) => {
        res.writeHead(up.statusCode ?? 502, { 'content-type': up.headers['content-type'] ?? '' });
        up.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end();
    });
    const port = await listen(proxy);
    const address = `https://127.0.0.1:${port}/prom`;
    const providers: PrometheusProvider[] = [];
    const make = (o: Partial<PrometheusProviderOptions>) => {
      const p = provider({ addresses: [address], ...o });
      providers.push(p);
      return p;
    };
    try {
      const ca = readFileSync(cert, 'utf8');
      const readAt = elapsed();
      const good = make({ tls: { ca }, auth: { bearerToken: 's3cret' } });
      assertGoodReading(await good.read(4), readAt);
      assert.equal(posts, 3, 'one refused POST per query, then GET');
      await good.read(4);
      assert.equal(posts, 3, 'the address is remembered as GET-only');

      const skipVerify = make({ tls: { insecureSkipVerify: true }, auth: { bearerToken: 's3cret' } });
      assert.equal((await skipVerify.read(4)).partitions.get(1)!.behind, 0);

      await assert.rejects(
        make({ auth: { bearerToken: 's3cret' } }).read(4),
        /the server's certificate is self-signed \(DEPTH_ZERO_SELF_SIGNED_CERT\)/,
      );
      await assert.rejects(make({ tls: { ca }, auth: { username: 'u', password: 'p' } }).read(4), {
        name: 'MetricsReadError',
        message: `prometheus: no usable answer from 1 address: ${address}: HTTP 401: not a Prometheus API answer (text/plain, 12 bytes)`,
        details: ['production_rate', 'consumption_rate', 'offset'].map(
          (type) => `prometheus ${address} ${type}: text/plain: unauthorized`,
        ),
      });
      await assert.rejects(
        make({ tls: { ca, serverName: 'other.test' }, auth: { bearerToken: 's3cret' } }).read(4),
        /the server's certificate is not for this host name \(ERR_TLS_CERT_ALTNAME_INVALID\)/,
      );
    } finally {
      await Promise.all(providers.map((p) => p.close()));
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  test('an aborted read rejects at once', async () => {
    const p = provider({ addresses: [`http://127.0.0.1:${exporterPort}/hang`] });
    try {
      const controller = new AbortController();
      const started = Date.now();
      const reading = p.read(4, controller.signal);
      setTimeout(() => controller.abort(), 100);
      await assert.rejects(reading, { name: 'AbortError' });
      assert.ok(Date.now() - started < 2000);
    } finally {
      await p.close();
    }
  });
});
