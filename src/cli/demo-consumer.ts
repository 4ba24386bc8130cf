// What the demo runs: a topic whose partitions are badly unbalanced, with the hot spot moving.
import type { ConsumerSpec } from '../api/schema.js';
import type { LoadProfile } from '../loadgen/index.js';

export const DEMO_PARTITIONS = 6;
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
export const DEMO_RATE_PER_CORE = 100;

/** Partition 0 is hot; after 90 s it cools down and partition 4 takes over. */
export const DEMO_LOAD: LoadProfile = {
  rates: [150, 10, 10, 10, 10, 10],
  steps: [
    { atSeconds: 90, factor: 1 / 15, partitions: [0] },
    { atSeconds: 90, factor: 15, partitions: [4] },
  ],
};

const estimation = {
  minSyncPeriod: '5s',
  ratePerCore: DEMO_RATE_PER_CORE,
  ramPerCore: '256M',
  tolerableLag: '10s',
  criticalLag: '30m',
  recoveryTime: '1m',
};

export type DemoMetrics = { kafka: { brokers: string[]; topic: string; groupId: string } } | { static: true };

export function demoConsumerSpec(namespace: string, metrics: DemoMetrics): ConsumerSpec {
  const autoscaler: ConsumerSpec['autoscaler'] =
    'kafka' in metrics
      ? { mode: 'kafka', kafka: { ...metrics.kafka, ...estimation } }
      : {
          mode: 'static',
          static: {
            // Without a broker: fixed numbers, partition 0 ten minutes behind.
            partitions: {
              '0': { production: 150, consumption: 100, behind: 90_000 },
              ...Object.fromEntries(
                [1, 2, 3, 4, 5].map((p) => [String(p), { production: 10, consumption: 10, behind: 0 }]),
              ),
            },
            ...estimation,
          },
        };
  return {
    numPartitions: DEMO_PARTITIONS,
    numPartitionsPerInstance: 2,
    name: 'orders-consumer',
    namespace,
    autoscaler: {
      ...autoscaler,
      pendingScaleUpDuration: '10s',
      pendingScaleDownDuration: '20s',
      scaleDownAfterLagFreeSyncs: 2,
    },
    deploymentTemplate: {
      replicas: 1,
      selector: { matchLabels: { app: 'orders-consumer' } },
      template: {
        metadata: { labels: { app: 'orders-consumer' } },
        spec: {
          containers: [
            {
              name: 'consumer',
              // The pause image runs anywhere and does nothing: the consuming is simulated (the
              // demo's consumer group commits at the speed of the CPU the operator gives).
              image: PAUSE_IMAGE,
              env: [{ name: 'TOPIC', value: 'orders' }],
            },
            {
              name: 'metrics-sidecar',
              image: PAUSE_IMAGE,
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
          minAllowed: { cpu: '100m', memory: '128M' },
          maxAllowed: { cpu: '4', memory: '2G' },
        },
        { containerName: 'metrics-sidecar', mode: 'Off' },
      ],
    },
  };
}
