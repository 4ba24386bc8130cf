// Builders of Consumer objects for tests.
import type { Consumer, ConsumerSpec } from '../../src/api/schema.js';

export function baseSpec(overrides: Partial<ConsumerSpec> = {}): ConsumerSpec {
  return {
    numPartitions: 10,
    numPartitionsPerInstance: 3,
    name: 'orders',
    namespace: 'default',
    autoscaler: { mode: 'none' },
    deploymentTemplate: {
      replicas: 1,
      selector: { matchLabels: { app: 'orders-consumer' } },
      template: {
        metadata: { labels: { app: 'orders-consumer' } },
        spec: {
          containers: [
            {
              name: 'consumer',
              image: 'example.com/orders-consumer:1.0',
              env: [{ name: 'TEST_KEY', value: 'test-value' }],
            },
          ],
        },
      },
    },
    resourcePolicy: {
      containerPolicies: [
        {
          containerName: 'consumer',
          minAllowed: { cpu: '100m', memory: '100M' },
          maxAllowed: { cpu: '1', memory: '1G' },
        },
      ],
    },
    ...overrides,
  };
}

/** Messages per second per core of a closed loop on the plane's Kafka (the simulated group's too). */
export const KAFKA_LOOP_RATE_PER_CORE = 100;

/**
 * The autoscaler of a closed loop on the plane's Kafka: offsets read from the brokers every 2 s,
 * KAFKA_LOOP_RATE_PER_CORE msg/s per core, lag bars in seconds, no pending periods, down after 2 lag-free syncs.
 */
export function kafkaLoopAutoscaler(
  brokers: string,
  topic: string,
  groupId: string,
  extra: Partial<ConsumerSpec['autoscaler']> = {},
): ConsumerSpec['autoscaler'] {
  return {
    mode: 'kafka',
    pendingScaleUpDuration: '0s',
    pendingScaleDownDuration: '0s',
    scaleDownAfterLagFreeSyncs: 2,
    ...extra,
    kafka: {
      brokers: [brokers],
      topic,
      groupId,
      minSyncPeriod: '2s',
      ratePerCore: KAFKA_LOOP_RATE_PER_CORE,
      ramPerCore: '100M',
      tolerableLag: '5s',
      criticalLag: '1h',
      recoveryTime: '20s',
    },
  };
}

/** The `consumer` container's policy: from 100m and 64M up to `maxCpu` and `maxMemory`. */
export function consumerPolicy(
  maxCpu: string,
  maxMemory = '1G',
): NonNullable<ConsumerSpec['resourcePolicy']> {
  return {
    containerPolicies: [
      {
        containerName: 'consumer',
        minAllowed: { cpu: '100m', memory: '64M' },
        maxAllowed: { cpu: maxCpu, memory: maxMemory },
      },
    ],
  };
}

export function consumer(
  spec: ConsumerSpec = baseSpec(),
  name = 'orders',
  namespace = spec.namespace,
): Consumer {
  return {
    apiVersion: 'konsumerator.lwolf.org/v1',
    kind: 'Consumer',
    metadata: { name, namespace, uid: `uid-${name}`, generation: 1 },
    spec,
  };
}
