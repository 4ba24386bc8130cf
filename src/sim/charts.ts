// Charts of the benchmark as SVG files: Vega-Lite specs compiled and rendered headless by vega
// (pure JavaScript, no browser, no native binary).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { SeriesPoint } from './world.js';

export interface PolicySeries {
  policy: string;
  label: string;
  points: SeriesPoint[];
}

const WIDTH = 760;

const policyColor = (labels: string[], field = 'policy') => ({
  field,
  type: 'nominal' as const,
  sort: labels,
  scale: { scheme: 'category10', domain: labels },
  legend: { labelLimit: 320, title: 'policy' },
});

/** At most `max` points: each bucket keeps its mean CPU and memory and its worst lag. */
export function downsample(points: SeriesPoint[], max: number): SeriesPoint[] {
  if (points.length <= max) return points;
  const size = Math.ceil(points.length / max);
  const out: SeriesPoint[] = [];
  for (let i = 0; i < points.length; i += size) {
    const chunk = points.slice(i, i + size);
    out.push({
      timeMs: chunk[chunk.length - 1]!.timeMs,
      cpuCores: chunk.reduce((s, p) => s + p.cpuCores, 0) / chunk.length,
      memoryGiB: chunk.reduce((s, p) => s + p.memoryGiB, 0) / chunk.length,
      maxLagSeconds: Math.max(...chunk.map((p) => p.maxLagSeconds)),
    });
  }
  return out;
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

function rows(series: PolicySeries[], maxPoints: number) {
  return series.flatMap((s) =>
    downsample(s.points, maxPoints).map((p) => ({
      hours: Math.round((p.timeMs / 3_600_000) * 1000) / 1000,
      cpu: Math.round(p.cpuCores * 100) / 100,
      lag: Math.round(p.maxLagSeconds),
      policy: s.label,
    })),
  );
}

/** Allocated CPU (sum of requests) over time, one line per policy. */
export function cpuChart(
  title: string,
  series: PolicySeries[],
  labels = series.map((s) => s.label),
  maxPoints = 600,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${title}: allocated CPU`,
    width: WIDTH,
    height: 260,
    background: 'white',
    data: { values: rows(series, maxPoints) },
    mark: { type: 'line', strokeWidth: 1.2, interpolate: 'step-after' },
    encoding: {
      x: { field: 'hours', type: 'quantitative', title: 'hours' },
      y: { field: 'cpu', type: 'quantitative', title: 'cores requested (all instances)' },
      color: policyColor(labels),
    },
  };
}

/** Worst partition lag over time (symlog scale), with tolerableLag as a rule. */
export function lagChart(
  title: string,
  series: PolicySeries[],
  tolerableLagSeconds: number,
  labels = series.map((s) => s.label),
  maxPoints = 600,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${title}: worst partition lag (tolerableLag dashed)`,
    width: WIDTH,
    height: 260,
    background: 'white',
    layer: [
      {
        data: { values: rows(series, maxPoints) },
        mark: { type: 'line', strokeWidth: 1.2 },
        encoding: {
          x: { field: 'hours', type: 'quantitative', title: 'hours' },
          y: {
            field: 'lag',
            type: 'quantitative',
            title: 'lag, seconds (symlog)',
            scale: { type: 'symlog', constant: 10 },
          },
          color: policyColor(labels),
        },
      },
      {
        data: { values: [{ lag: tolerableLagSeconds }] },
        mark: { type: 'rule', strokeDash: [6, 4], color: 'black' },
        encoding: { y: { field: 'lag', type: 'quantitative' } },
      },
    ],
  };
}

export interface CostLagPoint {
  label: string;
  costRatio: number;
  /** % of partition-minutes within tolerableLag. */
  withinSlo: number;
}

/** Cost (core-hours / oracle) against the share of partition-minutes within tolerableLag. */
export function costLagChart(title: string, points: CostLagPoint[]): TopLevelSpec {
  const data = points.map((p) => ({
    ...p,
    costRatio: Math.round(p.costRatio * 1000) / 1000,
    withinSlo: Math.round(p.withinSlo * 100) / 100,
  }));
  const ratios = data.map((d) => d.costRatio).filter((r) => r > 0 && Number.isFinite(r));
  const domain = [Math.min(...ratios) * 0.95, Math.max(...ratios) * 1.05];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${title}: cost vs lag SLO (up-left is better)`,
    width: 520,
    height: 300,
    background: 'white',
    data: { values: data },
    mark: { type: 'point', filled: true, size: 90, opacity: 0.85 },
    encoding: {
      x: {
        field: 'costRatio',
        type: 'quantitative',
        title: 'core-hours / oracle (log)',
        scale: { type: 'log', domain },
      },
      y: {
        field: 'withinSlo',
        type: 'quantitative',
        title: '% partition-minutes within tolerableLag',
        scale: { zero: false },
      },
      color: policyColor(
        data.map((d) => d.label),
        'label',
      ),
      shape: {
        field: 'label',
        type: 'nominal',
        sort: data.map((d) => d.label),
        legend: { labelLimit: 320, title: 'policy' },
      },
    },
  };
}

/** Several charts one above the other in one SVG, each with its own scales and legend. */
export function stackCharts(charts: readonly TopLevelSpec[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    vconcat: charts.map((chart) => {
      const {
        $schema: _schema,
        background: _background,
        ...rest
      } = chart as unknown as Record<string, unknown>;
      return rest;
    }),
    resolve: { scale: { color: 'independent', shape: 'independent' }, legend: { color: 'independent' } },
  } as unknown as TopLevelSpec;
}
