// `konsumerator simulate --plot`: the benchmark report's charts for the user's own traffic, in one
// SVG. Rendering needs vega (a development dependency): `simulate.ts` loads this module only for
// --plot, by a name the build does not follow, so the image's `konsumerator simulate` stays without
// it and says so.
import { costLagChart, cpuChart, lagChart, renderSvg, stackCharts } from '../sim/charts.js';
import type { SimulatedPolicy } from './simulate-output.js';

/** CPU and lag over time for every policy, and cost vs lag when the oracle ran. */
export async function renderPlot(
  title: string,
  policies: readonly SimulatedPolicy[],
  tolerableLagSeconds: number,
): Promise<string> {
  const series = policies.map(({ name, result }) => ({ policy: name, label: name, points: result.series }));
  const oracle = policies.find((p) => p.name === 'oracle')?.result.figures;
  const charts = [cpuChart(title, series), lagChart(title, series, tolerableLagSeconds)];
  if (oracle)
    charts.push(
      costLagChart(
        title,
        policies.map(({ name, result }) => ({
          label: name,
          costRatio: result.figures.coreHours / oracle.coreHours,
          withinSlo: 100 * (1 - result.figures.sloViolationShare),
        })),
      ),
    );
  return renderSvg(stackCharts(charts));
}
