// Static peak provisioning: every instance is sized once for the highest production its
// partitions reach in the whole trace, plus 15 % headroom, and never changed (what teams do
// without an autoscaler).
import { clampToPolicy } from '../../autoscale/sizing.js';
import { sizeForRate } from '../../autoscale/predictor.js';
import type { PolicySpec } from '../policy.js';

export const STATIC_HEADROOM = 0.15;

export const staticPeakPolicy: PolicySpec = {
  id: 'static',
  label: 'Static peak',
  description:
    'Each instance sized once for its partitions’ peak production in the trace + 15 %, never changed.',
  create({ setup, trace }) {
    return {
      start(world) {
        world.units = setup.buckets.map((partitions) => {
          const steps = trace.rates[0]!.length;
          let peak = 0;
          for (let i = 0; i < steps; i++) {
            let sum = 0;
            for (const p of partitions) sum += trace.rates[p]![i]!;
            peak = Math.max(peak, sum);
          }
          const sizing = clampToPolicy(
            sizeForRate(peak * (1 + STATIC_HEADROOM), setup.config.settings),
            setup.policy,
          );
          return world.newUnit(
            partitions,
            sizing.cpuRequest!,
            sizing.memoryRequest!,
            setup.cpuLimitFor(sizing),
          );
        });
      },
      step() {},
    };
  },
};
