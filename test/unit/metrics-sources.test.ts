// The metrics sources behind one interface: the registry builds the CRD's autoscaler sections,
// each source checks what the schema cannot, its client code is loaded only when a Consumer uses
// it, and settings that need no Secret still reach the client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as https from 'node:https';
import { consumerCrd } from '../../src/api/crd.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { validateConsumer } from '../../src/api/validate.js';
import { autoscaleConfig } from '../../src/autoscale/config.js';
import { MetricsSources } from '../../src/controller/metrics-sources.js';
import { isMetricsMode, METRICS_MODES, metricsSource } from '../../src/metrics/sources/index.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { baseSpec, consumer } from '../support/consumers.js';
import { answerPartitionZero, listenLocally, selfSignedCertificate } from '../support/local-server.js';

const estimation = {
  minSyncPeriod: '2s',
  ratePerCore: 100,
  ramPerCore: '100M',
  tolerableLag: '5s',
  criticalLag: '1h',
  recoveryTime: '10s',
};
const query = { query: 'vector(1)', partitionLabel: 'partition' };

test('the registry: one section per mode in the CRD, and none, vpa and "" are no source', () => {
  assert.deepEqual(METRICS_MODES, ['prometheus', 'kafka', 'static']);
  type Node = {
    properties: Record<string, Node>;
    enum?: string[];
    'x-kubernetes-validations'?: Array<{ rule: string }>;
  };
  const crd = consumerCrd();
  const root = crd.spec.versions[0]!.schema!.openAPIV3Schema as unknown as Node;
  const autoscaler = root.properties.spec!.properties.autoscaler!;
  assert.deepEqual(autoscaler.properties.mode!.enum, [...METRICS_MODES, 'none', 'vpa', '']);
  for (const mode of METRICS_MODES) {
    assert.equal(metricsSource(mode).mode, mode);
    assert.ok(autoscaler.properties[mode], `section ${mode}`);
    assert.ok(
      autoscaler['x-kubernetes-validations']!.some(
        (r) => r.rule === `self.mode != '${mode}' || has(self.${mode})`,
      ),
      `mode ${mode} requires its section`,
    );
  }
  for (const mode of ['none', 'vpa', '', 'constructor', undefined]) assert.equal(isMetricsMode(mode), false);
});

test('each source resolves its section with the same defaults', () => {
  const settings = metricsSource('static').settings({ partitions: {}, ...estimation });
  assert.deepEqual(settings, {
    minSyncPeriodMs: 2000,
    ratePerCore: 100,
    ramPerCoreBytes: 100_000_000,
    cpuIncrementMillis: 100,
    tolerableLagMs: 5000,
    criticalLagMs: 3_600_000,
    recoveryTimeMs: 10_000,
    fallbackStrategy: 'min',
  });
  const kafka = { brokers: ['k:9092'], topic: 't', groupId: 'g', ...estimation, fallbackStrategy: 'max' };
  assert.equal(metricsSource('kafka').settings(kafka).fallbackStrategy, 'max');
});

test('source checks beyond the schema: unused TLS settings, a plain SASL password without TLS', () => {
  const prometheus = (address: string, tls?: object): ConsumerSpec =>
    baseSpec({
      autoscaler: {
        mode: 'prometheus',
        prometheus: {
          address: [address],
          offset: query,
          production: query,
          consumption: query,
          ...estimation,
          ...(tls ? { tls } : {}),
        },
      },
    });
  const warned = (spec: ConsumerSpec) => validateConsumer(consumer(spec)).warnings;
  assert.deepEqual(warned(prometheus('http://prometheus:9090', { insecureSkipVerify: true })), [
    {
      field: 'spec.autoscaler.prometheus.tls',
      message: 'is set, but every address is http://: the TLS settings are not used',
    },
  ]);
  assert.deepEqual(warned(prometheus('https://prometheus:9090', { insecureSkipVerify: true })), []);
  assert.deepEqual(warned(prometheus('http://prometheus:9090')), []);

  const kafka = (extra: object): ConsumerSpec =>
    baseSpec({
      autoscaler: {
        mode: 'kafka',
        kafka: { brokers: ['k:9092'], topic: 't', groupId: 'g', ...estimation, ...extra },
      },
    });
  const sasl = { mechanism: 'plain' as const, secretRef: { name: 'user' } };
  assert.deepEqual(warned(kafka({ sasl })), [
    {
      field: 'spec.autoscaler.kafka.sasl.mechanism',
      message: 'is plain without tls.enabled: the password crosses the network unencrypted',
    },
  ]);
  assert.deepEqual(warned(kafka({ sasl, tls: { enabled: true } })), []);
  assert.deepEqual(warned(kafka({ sasl: { ...sasl, mechanism: 'scram-sha-512' } })), []);
  // A section the mode does not use is not checked.
  const unused = kafka({ sasl });
  unused.autoscaler.mode = 'none';
  assert.deepEqual(warned(unused), []);
});

test('the Kafka client is loaded only when a Consumer uses mode kafka', () => {
  // A fresh process: the operator and every source definition imported, providers of the other
  // modes made; the Kafka client library is resolved only when a kafka provider first reads. It is an
  // ES module, so a resolve hook sees it where the CommonJS module cache would not.
  const script = `
    import { registerHooks } from 'node:module';
    let loaded = false;
    registerHooks({
      resolve(specifier, context, next) {
        const result = next(specifier, context);
        if (/\\/node_modules\\/(@platformatic\\/kafka|kafkajs)\\//.test(result.url)) loaded = true;
        return result;
      },
    });
    const kafkajs = () => loaded;
    const seen = {};
    await import('./src/controller/operator.ts');
    const { metricsSource } = await import('./src/metrics/sources/index.ts');
    const { noopObserver } = await import('./src/metrics/index.ts');
    const context = { consumerName: 'c', observer: noopObserver };
    seen.operator = kafkajs();
    await metricsSource('static').create({ partitions: {} }, undefined, context);
    const q = { query: 'x', partitionLabel: 'p' };
    const prometheus = await metricsSource('prometheus').create(
      { address: ['http://127.0.0.1:1'], offset: q, production: q, consumption: q }, {}, context);
    await prometheus.close?.();
    seen.others = kafkajs();
    const kafka = await metricsSource('kafka').create({ brokers: ['127.0.0.1:1'], topic: 't', groupId: 'g' }, {}, context);
    await kafka.read(1, AbortSignal.timeout(2000)).catch(() => undefined); // nothing listens there
    await kafka.close?.();
    seen.kafka = kafkajs();
    console.log(JSON.stringify(seen));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1)!), {
    operator: false,
    others: false,
    kafka: true,
  });
});

test('TLS settings that need no Secret reach the client (insecureSkipVerify against a self-signed Prometheus)', async () => {
  const server = https.createServer(selfSignedCertificate('prometheus.test'), (req, res) => {
    req.resume();
    answerPartitionZero(res, '7');
  });
  const { url, close } = await listenLocally(server);
  const sources = new MetricsSources();
  const specWith = (tls: object) =>
    baseSpec({
      numPartitions: 1,
      numPartitionsPerInstance: 1,
      autoscaler: {
        mode: 'prometheus',
        prometheus: {
          address: [url],
          offset: query,
          production: query,
          consumption: query,
          ...estimation,
          tls,
        },
      },
    });
  try {
    const verified = consumer(specWith({}), 'verified');
    const refused = await sources.sync(verified, autoscaleConfig(verified.spec)!, new Date());
    assert.match(refused.error!, /the server's certificate is self-signed \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    const insecure = consumer(specWith({ insecureSkipVerify: true }), 'insecure');
    const read = await sources.sync(insecure, autoscaleConfig(insecure.spec)!, new Date());
    assert.equal(read.error, undefined);
    assert.deepEqual(read.reading!.partitions.get(0), { production: 7, consumption: 7, behind: 7 });
  } finally {
    await sources.closeAll();
    await close();
  }
});
