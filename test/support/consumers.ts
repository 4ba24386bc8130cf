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
