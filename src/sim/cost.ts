// The combined cost of a run, as the benchmark report and `konsumerator simulate` show it.
import type { SimFigures } from './run.js';

/**
 * An assumption, for the combined cost only: one vCPU-hour costs as much as this many GiB-hours.
 * On-demand list prices put it between about 7.5 (Google Compute Engine E2/N2 per-vCPU and per-GiB
 * prices) and 9 (AWS Fargate, GKE Autopilot); 8 is a round figure between them.
 */
export const CPU_TO_MEMORY_PRICE_RATIO = 8;

/** Cost in GiB-hour units: core-hours × CPU_TO_MEMORY_PRICE_RATIO + GiB-hours. */
export function combinedCost(figures: Pick<SimFigures, 'coreHours' | 'gibHours'>): number {
  return figures.coreHours * CPU_TO_MEMORY_PRICE_RATIO + figures.gibHours;
}
