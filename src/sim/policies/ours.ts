// Our operator, through its real decision code: it creates the instances with `autoscale()` from
// the first reading, then every minSyncPeriod it reads the metrics (a failed read decides
// nothing, as src/controller/autoscaling.ts), runs `autoscale()` over the instances with the
// Consumer's resolved settings and predictor, and applies what it decides.
// A decision reaches the pods as the Consumer's `actuation` says: in place by default
// (InPlaceOrRollout: a resize of the running pod, or a rollout when its node defers the resize
// longer than the operator's bound), or by a rollout of the instance's Deployment (Rollout).
import { autoscale, type InstanceInput } from '../../autoscale/autoscale.js';
import { autoscaleWith, learnsCapacity } from '../../autoscale/config.js';
import { Actuation } from '../../api/constants.js';
import type { CapacityState } from '../../autoscale/capacity.js';
import type { ScalingState } from '../../autoscale/policy.js';
import { predictors } from '../../autoscale/predictor.js';
import { pendingBoundMs } from '../../actuate/pending-bound.js';
import { clampToPolicy, policyFallback, type Sizing } from '../../autoscale/sizing.js';
import type { PartitionSample } from '../../metrics/types.js';
import type { PolicySpec, SimPolicy } from '../policy.js';
import { type ChangeMode, type World } from '../world.js';

export interface OursOptions {
  id: string;
  label: string;
  description: string;
  mode: ChangeMode;
  /** Use this predictor instead of the Consumer's. */
  predictor?: string;
  /** Learn the rate per core (or not) whatever the Consumer says. */
  learnCapacity?: boolean;
}

export function oursPolicy(options: OursOptions): PolicySpec {
  return {
    id: options.id,
    ref: { ours: { ...options } },
    // autoscale() over every instance at every sync: about 1.5× the CPU of the other policies.
    cost: 1.5,
    label: options.label,
    description: options.description,
    create({ setup, params }): SimPolicy {
      const predictor = options.predictor ? predictors[options.predictor]! : setup.config.predictor;
      // Learning's default follows the actuation this policy stands for (a Rollout policy of an
      // in-place Consumer learns as that Consumer would with `actuation: Rollout`); a predictor
      // given here replaces the Consumer's, and naive never learns.
      const learnsByDefault =
        learnsCapacity(
          setup.spec,
          options.mode === 'restart' ? Actuation.rollout : Actuation.inPlaceOrRollout,
        ) && options.predictor !== 'naive';
      const config = {
        ...setup.config,
        ...(options.predictor
          ? { settings: { ...setup.config.settings, proactive: options.predictor === 'proactive' } }
          : {}),
        learnCapacity: options.learnCapacity ?? learnsByDefault,
      };
      let learned: CapacityState | undefined;
      const sizings: Sizing[] = [];
      const states: ScalingState[] = [];
      /** Each instance's largest partition lag at the last read (what the operator knows). */
      const lags: (number | undefined)[] = [];
      let lastAttemptMs = -Infinity;
      // InPlaceOrRollout: an instance whose node has deferred its resize for the operator's bound
      // (shorter while the instance lags) rolls out instead.
      const fallBack = (world: World) => {
        for (let id = 0; id < world.units.length; id++) {
          const unit = world.units[id]!;
          if (unit.deferredSinceMs === undefined || !unit.deferred) continue;
          const bound = pendingBoundMs({
            boundMs: params.resizePendingBoundMs,
            lagMs: lags[id],
            tolerableLagMs: config.settings.tolerableLagMs,
          });
          if (world.nowMs - unit.deferredSinceMs >= bound) world.rollOutDeferred(unit);
        }
      };
      return {
        start(world) {
          // New instances start where the operator starts them, from the latest reading (here:
          // the true rates).
          const samples = new Map<number, PartitionSample>(
            Array.from({ length: world.partitions }, (_, p) => [
              p,
              { production: world.rate(p), consumption: world.rate(p), behind: 0 },
            ]),
          );
          const fallback = policyFallback(setup.policy, config.settings.fallbackStrategy);
          const result = autoscale({
            settings: config.settings,
            predictor,
            now: new Date(world.nowMs),
            samples,
            instances: setup.buckets.map((partitions, id) => ({
              id,
              partitions,
              policy: setup.policy,
              current: clampToPolicy(fallback, setup.policy),
              state: { status: undefined, changedAt: undefined, lagFreeSyncs: 0 },
              paused: false,
              isNew: true,
            })),
            ...(config.budget ? { budget: config.budget } : {}),
          });
          world.units = result.instances.map((outcome) => {
            sizings.push(outcome.sizing);
            states.push(outcome.decision.state);
            return world.newUnit(
              setup.buckets[outcome.id]!,
              outcome.sizing.cpuRequest!,
              outcome.sizing.memoryRequest!,
              setup.cpuLimitFor(outcome.sizing),
            );
          });
          lastAttemptMs = world.nowMs; // the reading that created the instances
        },
        step(world) {
          if (options.mode === 'in-place') fallBack(world);
          if (world.nowMs - lastAttemptMs < config.minSyncPeriodMs) return;
          lastAttemptMs = world.nowMs;
          const reading = world.read();
          if (reading.error) return; // MetricsAvailable=False: nothing is resized
          const instances: InstanceInput[] = world.units.map((unit, id) => ({
            id,
            partitions: unit.partitions,
            policy: setup.policy,
            current: sizings[id]!,
            state: states[id]!,
            paused: false,
          }));
          const result = autoscaleWith(
            { ...config, predictor },
            new Date(world.nowMs),
            reading.samples,
            instances,
            learned,
          );
          learned = result.capacity?.state;
          for (const outcome of result.instances) {
            states[outcome.id] = outcome.decision.state;
            lags[outcome.id] = outcome.signal.maxLagMs;
            if (!outcome.decision.apply) continue;
            sizings[outcome.id] = outcome.sizing;
            world.resize(
              world.units[outcome.id]!,
              outcome.sizing.cpuRequest ?? 0,
              outcome.sizing.memoryRequest ?? 0,
              options.mode,
              setup.cpuLimitFor(outcome.sizing),
            );
          }
          if (options.mode === 'in-place') fallBack(world);
        },
      };
    },
  };
}

export const oursDefault = oursPolicy({
  id: 'ours',
  label: 'Ours (default: in place)',
  description:
    'konsumerator with the Consumer’s settings, the default predictor, capacity learning (the default) and the default actuation InPlaceOrRollout: a decision resizes the running pod; a pod whose node defers the growth for 5 minutes is rolled out instead.',
  mode: 'in-place',
});

export const oursRollout = oursPolicy({
  id: 'ours-rollout',
  label: 'Ours, actuation Rollout',
  description:
    'The same decisions with `actuation: Rollout` (the original’s way): every change rolls the instance’s pod (a restart).',
  mode: 'restart',
});

export const oursNaive = oursPolicy({
  id: 'ours-naive',
  label: 'Ours, predictor naive',
  description:
    'konsumerator with `predictor: naive` (the original formula, the original’s bugs fixed), resized in place as the default.',
  mode: 'in-place',
  predictor: 'naive',
});
