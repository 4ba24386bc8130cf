// What every simulated autoscaler implements: set up the group's pods at time 0, then look at
// the world at every step and change it through World.resize / World.regroup.
import type { SimParams } from './params.js';
import type { OracleOptions } from './policies/oracle.js';
import type { OursOptions } from './policies/ours.js';
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
  /**
   * How a worker thread builds the same policy, for one that is not a benchmark policy (those
   * are found by id): see `policyRef` in policies/index.ts.
   */
  ref?: PolicyRef;
  /** What a step costs next to other policies' (1 when unset); only to share work among threads. */
  cost?: number;
  label: string;
  /** One sentence for the report. */
  description: string;
  create(context: PolicyContext): SimPolicy;
}

/**
 * A policy as a worker thread can rebuild it: a benchmark policy by id, or our policy's or the
 * oracle's options.
 */
export type PolicyRef = { id: string } | { ours: OursOptions } | { oracle: OracleOptions };
