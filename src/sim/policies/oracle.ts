// The oracle: knows each partition's production and each consumer's throughput for the coming
// step, and changes resources for free (no restart, no delay). It allocates exactly what drains
// everything within the step, rounded up to cpuIncrement and never below the policy minimum —
// the same granularity every other policy has — and exactly the memory in use. It knows the node
// headroom too: it requests only what, with the headroom on top, drains the step (a limit at what
// drains it). No policy can be cheaper without lag: it is the lower bound of the cost ratios.
//
// It ignores the policy maximum unless told to keep within it: after a stall it drains the whole
// backlog within one step, which may take more CPU than maxAllowed gives any other policy. Kept
// within it (request and limit), it is the most a policy held to maxAllowed can reach.
import type { PolicySpec, SimPolicy } from '../policy.js';
import { type World } from '../world.js';

export interface OracleOptions {
  /** Keep the CPU request and limit within the Consumer's maxAllowed, as every other policy does. */
  withinMaxAllowed?: boolean;
}

const ceilTo = (x: number, step: number) => Math.ceil(x / step - 1e-9) * step;

export function oracle(options: OracleOptions = {}): PolicySpec {
  const capped = options.withinMaxAllowed === true;
  return {
    id: capped ? 'oracle-within-max-allowed' : 'oracle',
    ...(capped ? { ref: { oracle: options } } : {}),
    label: capped ? 'Oracle within maxAllowed' : 'Oracle (knows the future)',
    description:
      'Knows the next step’s production and throughput; resizes for free; CPU rounded up to cpuIncrement and at least the policy minimum' +
      (capped ? ', at most its maximum' : '') +
      '; memory exactly what is used.',
    create({ setup, params }): SimPolicy {
      const step = setup.config.settings.cpuIncrementMillis;
      const seconds = params.tickMs / 1000;
      const maxCpu = capped ? setup.maxCpuMillis : Infinity;
      const atLeastMinimum = (millis: number) => Math.max(setup.minCpuMillis, step, millis);
      const cpuFor = (world: World, partitions: readonly number[]) => {
        const produced = world.production(); // this step's rate × its length, per partition
        let cores = 0;
        for (const p of partitions) {
          if (world.stalled(p)) continue;
          const messages = world.backlog[p]! + produced[p]!;
          cores += messages / (params.ratePerCore * world.noise[p]!) / seconds;
        }
        return atLeastMinimum(ceilTo(cores * 1000, step));
      };
      /** The request that, with the node headroom on top, gives `needed` millicores. */
      const requestFor = (world: World, needed: number) => {
        const lean = Math.max(needed / (1 + world.headroom), needed - params.nodeFreeCpuMillis);
        return atLeastMinimum(ceilTo(lean, step));
      };
      /**
       * Request, limit and memory for a step. Kept within maxAllowed, the request is the one for
       * the whole need, capped: above the cap it is the cap itself, which the pod then gets whatever
       * CPU its node has free.
       */
      const sizeFor = (world: World, partitions: readonly number[]) => {
        const needed = cpuFor(world, partitions);
        const limit = Math.min(maxCpu, needed);
        const request = Math.min(maxCpu, requestFor(world, needed));
        const memory = params.memoryBaseBytes + params.memoryPerBusyCoreBytes * (limit / 1000);
        return { request, limit, memory };
      };
      return {
        start(world) {
          world.units = setup.buckets.map((partitions) => {
            const { request, limit, memory } = sizeFor(world, partitions);
            return world.newUnit(partitions, request, memory, limit);
          });
        },
        step(world) {
          for (const unit of world.units) {
            const { request, limit, memory } = sizeFor(world, unit.partitions);
            world.resize(unit, request, memory, 'free', limit);
          }
        },
      };
    },
  };
}

export const oraclePolicy = oracle();

/** The oracle held to the Consumer's maxAllowed CPU: the ceiling for any policy under it. */
export const oracleWithinMaxAllowed = oracle({ withinMaxAllowed: true });
