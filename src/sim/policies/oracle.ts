// The oracle: knows each partition's production and each consumer's throughput for the coming
// step, and changes resources for free (no restart, no delay). It allocates exactly what drains
// everything within the step, rounded up to cpuIncrement and never below the policy minimum —
// the same granularity every other policy has — and exactly the memory in use. It knows the node
// headroom too: it requests only what, with the headroom on top, drains the step (a limit at what
// drains it). No policy can be cheaper without lag: it is the lower bound of the cost ratios.
import type { PolicySpec, SimPolicy } from '../policy.js';
import { type World } from '../world.js';

const ceilTo = (x: number, step: number) => Math.ceil(x / step - 1e-9) * step;

export const oraclePolicy: PolicySpec = {
  id: 'oracle',
  label: 'Oracle (knows the future)',
  description:
    'Knows the next step’s production and throughput; resizes for free; CPU rounded up to cpuIncrement and at least the policy minimum; memory exactly what is used.',
  create({ setup, params }): SimPolicy {
    const step = setup.config.settings.cpuIncrementMillis;
    const seconds = params.tickMs / 1000;
    const cpuFor = (world: World, partitions: readonly number[]) => {
      const produced = world.production(); // this step's rate × its length, per partition
      let cores = 0;
      for (const p of partitions) {
        if (world.stalled(p)) continue;
        const messages = world.backlog[p]! + produced[p]!;
        cores += messages / (params.ratePerCore * world.noise[p]!) / seconds;
      }
      return Math.max(setup.minCpuMillis, step, ceilTo(cores * 1000, step));
    };
    /** The request that, with the node headroom on top, gives `needed` millicores. */
    const requestFor = (world: World, needed: number) => {
      const lean = Math.max(needed / (1 + world.headroom), needed - params.nodeFreeCpuMillis);
      return Math.max(setup.minCpuMillis, step, ceilTo(lean, step));
    };
    const memoryFor = (cpu: number) => params.memoryBaseBytes + params.memoryPerBusyCoreBytes * (cpu / 1000);
    return {
      start(world) {
        world.units = setup.buckets.map((partitions) => {
          const cpu = cpuFor(world, partitions);
          return world.newUnit(partitions, requestFor(world, cpu), memoryFor(cpu), cpu);
        });
      },
      step(world) {
        for (const unit of world.units) {
          const cpu = cpuFor(world, unit.partitions);
          world.resize(unit, requestFor(world, cpu), memoryFor(cpu), 'free', cpu);
        }
      },
    };
  },
};
