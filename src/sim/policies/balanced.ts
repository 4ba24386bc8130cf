// A balanced Consumer (assignment Balanced) through the operator's real decision code: one
// Deployment of R identical replicas in one consumer group, the partitions spread by Kafka's range
// assignor (R fixed: no rebalance), every replica sized by one `autoscale()` decision over the
// group (the replica holding the busiest partition and its share of the others), applied in place
// to every replica. R = ceil(partitions / PARTITIONS_PER_REPLICA).
import { autoscale } from '../../autoscale/autoscale.js';
import { autoscaleWith } from '../../autoscale/config.js';
import type { ScalingState } from '../../autoscale/policy.js';
import { clampToPolicy, policyFallback, type Sizing } from '../../autoscale/sizing.js';
import type { PartitionSample } from '../../metrics/types.js';
import type { PolicySpec, SimPolicy } from '../policy.js';
import { rangeAssign } from './keda.js';

/** The replicas a balanced Consumer of P partitions runs in the benchmark: one per 4 partitions. */
export const PARTITIONS_PER_REPLICA = 4;

export const balancedPolicy: PolicySpec = {
  id: 'balanced',
  label: 'Ours, balanced',
  description: `konsumerator with \`assignment: Balanced\`: one Deployment of ceil(partitions / ${PARTITIONS_PER_REPLICA}) subscribed replicas (range assignor, no replica change), all sized alike for the replica holding the busiest partition, resized in place.`,
  cost: 1.2,
  create({ setup, trace }): SimPolicy {
    const config = setup.config;
    const partitions = Array.from({ length: trace.rates.length }, (_, p) => p);
    const replicas = Math.max(1, Math.ceil(partitions.length / PARTITIONS_PER_REPLICA));
    let sizing: Sizing = {};
    let state: ScalingState = { status: undefined, changedAt: undefined, lagFreeSyncs: 0 };
    let lastAttemptMs = -Infinity;
    return {
      start(world) {
        const samples = new Map<number, PartitionSample>(
          partitions.map((p) => [p, { production: world.rate(p), consumption: world.rate(p), behind: 0 }]),
        );
        const fallback = policyFallback(setup.policy, config.settings.fallbackStrategy);
        const outcome = autoscale({
          settings: config.settings,
          predictor: config.predictor,
          now: new Date(world.nowMs),
          samples,
          instances: [
            {
              id: 0,
              partitions,
              policy: setup.policy,
              current: clampToPolicy(fallback, setup.policy),
              state,
              paused: false,
              isNew: true,
              replicas,
            },
          ],
        }).instances[0]!;
        sizing = outcome.sizing;
        state = outcome.decision.state;
        world.units = rangeAssign(partitions.length, replicas).map((group) =>
          world.newUnit(group, sizing.cpuRequest!, sizing.memoryRequest!, setup.cpuLimitFor(sizing)),
        );
        lastAttemptMs = world.nowMs;
      },
      step(world) {
        if (world.nowMs - lastAttemptMs < config.minSyncPeriodMs) return;
        lastAttemptMs = world.nowMs;
        const reading = world.read();
        if (reading.error) return;
        const outcome = autoscaleWith(config, new Date(world.nowMs), reading.samples, [
          { id: 0, partitions, policy: setup.policy, current: sizing, state, paused: false, replicas },
        ]).instances[0]!;
        state = outcome.decision.state;
        if (!outcome.decision.apply) return;
        sizing = outcome.sizing;
        for (const unit of world.units)
          world.resize(
            unit,
            sizing.cpuRequest ?? 0,
            sizing.memoryRequest ?? 0,
            'in-place',
            setup.cpuLimitFor(sizing),
          );
      },
    };
  },
};
