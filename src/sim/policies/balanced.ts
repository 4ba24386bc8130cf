// A balanced Consumer (assignment Balanced) through the operator's real decision code: one
// Deployment of R identical replicas in one consumer group, the partitions spread by Kafka's range
// assignor (R fixed: no rebalance), every replica sized by one `autoscale()` decision over the
// group (every replica sized for the k busiest partitions, k the most one replica holds), applied in place
// to every replica. R = ceil(partitions / PARTITIONS_PER_REPLICA).
import { autoscale } from '../../autoscale/autoscale.js';
import { autoscaleWith } from '../../autoscale/config.js';
import { pendingBoundMs } from '../../actuate/pending-bound.js';
import type { ScalingState } from '../../autoscale/policy.js';
import { clampToPolicy, policyFallback, type Sizing } from '../../autoscale/sizing.js';
import type { PartitionSample } from '../../metrics/types.js';
import type { PolicySpec, SimPolicy } from '../policy.js';
import type { World } from '../world.js';
import { rangeAssign } from './keda.js';

/** The replicas a balanced Consumer of P partitions runs in the benchmark: one per 4 partitions. */
export const PARTITIONS_PER_REPLICA = 4;

export const balancedPolicy: PolicySpec = {
  id: 'balanced',
  label: 'Ours, balanced',
  description: `konsumerator with \`assignment: Balanced\`: one Deployment of ceil(partitions / ${PARTITIONS_PER_REPLICA}) subscribed replicas (range assignor, no replica change), all sized alike for the busiest partitions one replica may hold, resized in place.`,
  cost: 1.2,
  create({ setup, trace, params }): SimPolicy {
    const config = setup.config;
    const partitions = Array.from({ length: trace.rates.length }, (_, p) => p);
    const replicas = Math.max(1, Math.ceil(partitions.length / PARTITIONS_PER_REPLICA));
    let sizing: Sizing = {};
    let state: ScalingState = { status: undefined, changedAt: undefined, lagFreeSyncs: 0 };
    let lastAttemptMs = -Infinity;
    /** The group's largest partition lag at the last read (what the operator knows of the instance). */
    let lagMs: number | undefined;
    // As the operator does for any instance resized in place: a replica whose node has deferred
    // its growth for the bound (none while the group lags) rolls out instead.
    const fallBack = (world: World) => {
      const bound = pendingBoundMs({
        boundMs: params.resizePendingBoundMs,
        lagMs,
        tolerableLagMs: config.settings.tolerableLagMs,
      });
      for (const unit of world.units)
        if (
          unit.deferred &&
          unit.deferredSinceMs !== undefined &&
          world.nowMs - unit.deferredSinceMs >= bound
        )
          world.rollOutDeferred(unit);
    };
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
        fallBack(world);
        if (world.nowMs - lastAttemptMs < config.minSyncPeriodMs) return;
        lastAttemptMs = world.nowMs;
        const reading = world.read();
        if (reading.error) return;
        const outcome = autoscaleWith(config, new Date(world.nowMs), reading.samples, [
          { id: 0, partitions, policy: setup.policy, current: sizing, state, paused: false, replicas },
        ]).instances[0]!;
        state = outcome.decision.state;
        lagMs = outcome.signal.maxLagMs;
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
        fallBack(world);
      },
    };
  },
};
