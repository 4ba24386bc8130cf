// What the operator under test may connect to. The test plane runs everything on 127.0.0.1, which
// the operator's endpoint policy denies by default (loopback), so e2e tests give it an explicit,
// small allowance: the plane's own Prometheus, Kafka broker and kafka_exporter (their address and
// port, nothing else on 127.0.0.1), and FIXTURE_HOST, the loopback address on which tests run the
// servers a Consumer points at (fault proxies, stand-ins). The plane's API server, etcd and
// anything else on 127.0.0.1 stay denied, as do the operator's own ports.
import { EndpointPolicy } from '../../src/net/endpoint-policy.js';
import type { ReadLimits } from '../../src/controller/metrics-sources.js';
import { testEnv } from './env.js';

/** Where tests run the servers Consumers point at (on Linux, all of 127.0.0.0/8 is loopback). */
export const FIXTURE_HOST = '127.0.0.2';

/** `host:port` of a URL (`http://127.0.0.1:9090` → `127.0.0.1:9090`). */
const hostPort = (url: string) => new URL(url).host;

/** The plane's Prometheus, Kafka and exporter, and the fixtures' address; plus `extra` rules. */
export function testAllowance(extra: readonly string[] = []): string[] {
  const env = testEnv();
  return [
    ...(env.prometheusUrl ? [hostPort(env.prometheusUrl)] : []),
    ...(env.kafkaBootstrap ? [env.kafkaBootstrap] : []),
    ...(env.exporterUrl ? [hostPort(env.exporterUrl)] : []),
    FIXTURE_HOST,
    ...extra,
  ];
}

export function testEndpointPolicy(extra: readonly string[] = []): EndpointPolicy {
  return EndpointPolicy.fromFlags(testAllowance(extra), []);
}

/** Tests read metrics as often as their Consumers ask (down to 1 s), not the operator's default floor. */
export const TEST_READ_LIMITS: Partial<ReadLimits> = { minSyncPeriodMs: 1000 };
