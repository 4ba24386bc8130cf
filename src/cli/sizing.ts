// The operator's own memory request and limit, derived from the control-plane benchmark's
// measurements (docs/benchmarks/control-plane.json: resident memory with nothing managed, and the
// peak while it created N Deployments). Pure: the figures come in, the sizes go out. The
// manifests use the sizes for SIZED_FOR_DEPLOYMENTS; docs/install.md's table is generated from the
// same function (`npm run gen`) and test/unit/operator-sizing.test.ts checks both against the file.

/** The benchmark's memory figures (the `memory` object of control-plane.json). */
export interface MeasuredMemory {
  /** Deployments the operator created in the measurement. */
  deployments: number;
  /** Resident memory with nothing managed, MiB. */
  baselineRssMiB: number;
  /** Highest resident memory while it created them, MiB (above the steady state after). */
  peakRssDuringCreateMiB: number;
}

export interface OperatorMemory {
  /** The estimated peak resident memory, MiB (the measured line through the two points). */
  estimatedPeakMiB: number;
  /** Memory request: the estimated peak, rounded up to 64 MiB, so the node reserves what it uses. */
  requestMiB: number;
  /** Memory limit: 1.5 × the estimated peak, rounded up to 128 MiB (headroom for GC and bursts). */
  limitMiB: number;
  /** V8's old-space cap (--max-old-space-size): 3/4 of the limit, so the limit binds first. */
  heapMiB: number;
}

/** The number of managed Deployments the shipped manifests are sized for (the measured point). */
export const SIZED_FOR_DEPLOYMENTS = 10_000;

const ceilTo = (value: number, step: number) => Math.ceil(value / step) * step;

/** The memory sizes for an operator that manages `deployments` instance Deployments. */
export function operatorMemory(deployments: number, measured: MeasuredMemory): OperatorMemory {
  const perDeployment = (measured.peakRssDuringCreateMiB - measured.baselineRssMiB) / measured.deployments;
  const estimatedPeakMiB = measured.baselineRssMiB + perDeployment * deployments;
  const requestMiB = ceilTo(estimatedPeakMiB, 64);
  const limitMiB = ceilTo(estimatedPeakMiB * 1.5, 128);
  return { estimatedPeakMiB, requestMiB, limitMiB, heapMiB: Math.floor((limitMiB * 3) / 4) };
}

/**
 * What the shipped manifests and the Helm chart's defaults use: operatorMemory(SIZED_FOR_DEPLOYMENTS)
 * of the committed benchmark figures. Constants, because the image has no docs/ to read; the unit
 * test recomputes them from the figures and fails when the benchmark moved.
 */
export const OPERATOR_MEMORY = { requestMiB: 192, limitMiB: 384, heapMiB: 288 } as const;
/** The CPU request: the benchmark measured no CPU figure that would justify another number. */
export const OPERATOR_CPU_REQUEST = '100m';
