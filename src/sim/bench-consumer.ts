// The Consumer every benchmark trace runs against: the original's sample settings (minSyncPeriod
// 1m, tolerableLag 5m, criticalLag 60m, recoveryTime 30m, the default 5m/15m pending durations),
// 1,000 msg/s per core, 1 GiB per core, one partition per instance, 100m–16 cores.
import type { ConsumerSpec } from '../api/schema.js';

export function benchmarkConsumer(partitions: number, ratePerCore = 1000): ConsumerSpec {
  return {
    numPartitions: partitions,
    name: 'bench',
    namespace: 'bench',
    autoscaler: {
      mode: 'prometheus',
      prometheus: {
        address: ['http://prometheus:9090'],
        offset: { query: 'offset', partitionLabel: 'partition' },
        production: { query: 'production', partitionLabel: 'partition' },
        consumption: { query: 'consumption', partitionLabel: 'partition' },
        minSyncPeriod: '1m',
        tolerableLag: '5m',
        criticalLag: '60m',
        recoveryTime: '30m',
        ratePerCore,
        ramPerCore: '1Gi',
      },
    },
    deploymentTemplate: {
      selector: { matchLabels: { app: 'bench' } },
      template: {
        metadata: { labels: { app: 'bench' } },
        spec: { containers: [{ name: 'consumer', image: 'consumer:1' }] },
      },
    },
    resourcePolicy: {
      containerPolicies: [
        {
          containerName: 'consumer',
          minAllowed: { cpu: '100m', memory: '128Mi' },
          maxAllowed: { cpu: '16', memory: '32Gi' },
        },
      ],
    },
  } as ConsumerSpec;
}
