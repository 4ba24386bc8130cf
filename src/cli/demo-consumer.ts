// The Consumer the demo applies: ten partitions, three per instance, a consumer and a sidecar.
import type { ConsumerSpec } from '../api/schema.js';

export function demoConsumerSpec(namespace: string): ConsumerSpec {
  return {
    numPartitions: 10,
    numPartitionsPerInstance: 3,
    name: 'orders-consumer',
    namespace,
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
              image: 'registry.example/orders-consumer:1.0',
              env: [{ name: 'TOPIC', value: 'orders' }],
            },
            {
              name: 'metrics-sidecar',
              image: 'registry.example/exporter:1.0',
              resources: { requests: { cpu: '10m', memory: '16Mi' } },
            },
          ],
        },
      },
    },
    resourcePolicy: {
      containerPolicies: [
        {
          containerName: 'consumer',
          minAllowed: { cpu: '200m', memory: '256M' },
          maxAllowed: { cpu: '4', memory: '4G' },
        },
        { containerName: 'metrics-sidecar', mode: 'Off' },
      ],
    },
  };
}
