// What every simulated autoscaler implements: set up the group's pods at time 0, then look at
// the world at every step and change it through World.resize / World.regroup.
import type { SimParams } from './params.js';
import type { SimSetup } from './setup.js';
import type { Trace } from './trace.js';
import type { World } from './world.js';

export interface SimPolicy {
  start(world: World): void;
  step(world: World): void;
}

export interface PolicyContext {
  trace: Trace;
  params: SimParams;
  setup: SimSetup;
}

export interface PolicySpec {
  /** Short id used in files (`ours`, `original`, …). */
  id: string;
  label: string;
  /** One sentence for the report. */
  description: string;
  create(context: PolicyContext): SimPolicy;
}
