// The physical model of the simulator: how fast instances consume, what a change costs, how the
// metric pipeline sees the world. Defaults are documented (and argued) in docs/simulator.md.

export interface RestartCost {
  /** The new pod is scheduled and starts; the old one still consumes at the old size. */
  startMs: number;
  /** The old pod stops and the new one joins the group: nothing is consumed. */
  pauseMs: number;
  /** The new pod's throughput ramps from `warmupFloor` to 100 % (JIT, caches, connections). */
  warmupMs: number;
  warmupFloor: number;
}

export interface SimParams {
  seed: number;
  /** Simulation step. */
  tickMs: number;
  /** True messages per second one core processes on average. */
  ratePerCore: number;
  /** Standard deviation of the per-partition throughput noise (a share of ratePerCore). */
  throughputNoise: number;
  /** Correlation time of that noise (an AR(1) process). */
  noiseCorrelationMs: number;
  /** Prometheus scrape interval of the offsets exporter. */
  scrapeIntervalMs: number;
  /** Window of `rate()` in the production and consumption queries. */
  rateWindowMs: number;
  restart: RestartCost;
  /** An in-place resize takes effect after this long, without downtime. */
  inPlaceDelayMs: number;
  /**
   * CPU of a pod's node that no pod requests, millicores, when the pod is scheduled: an in-place
   * resize may grow the pod by this much in all; a larger growth is deferred by the node.
   */
  nodeFreeCpuMillis: number;
  /**
   * The share of its CPU request a pod may use on top of it from its node's idle CPU, up to its
   * CPU limit (without one: unbounded but for this) and to the unrequested CPU left on its node;
   * for a trace that sets no `nodeHeadroom` of its own. 0: throughput follows the request only.
   */
  nodeHeadroom: number;
  /** How long the operator lets a node defer a resize before it rolls the pod out instead. */
  resizePendingBoundMs: number;
  /** A consumer-group rebalance (a replica joins or leaves): every member stops this long. */
  rebalancePauseMs: number;
  /** Memory in use = base + perCore × cores busy (bytes). Above the memory limit: OOM kill. */
  memoryBaseBytes: number;
  memoryPerBusyCoreBytes: number;
  /** For the figures: lag above this counts against the SLO. */
  tolerableLagMs: number;
  /** Time series for plots: one point per this long. */
  seriesStepMs: number;
  /** Record each partition's pod's CPU and memory per minute (`simulate --series`). */
  partitionSeries: boolean;
}

const GI = 1024 ** 3;

export function defaultParams(overrides: Partial<SimParams> = {}): SimParams {
  return {
    seed: 1,
    tickMs: 5000,
    ratePerCore: 1000,
    throughputNoise: 0.05,
    noiseCorrelationMs: 10 * 60_000,
    scrapeIntervalMs: 15_000,
    rateWindowMs: 2 * 60_000,
    restart: { startMs: 20_000, pauseMs: 15_000, warmupMs: 60_000, warmupFloor: 0.5 },
    inPlaceDelayMs: 5000,
    nodeFreeCpuMillis: 2000,
    nodeHeadroom: 0.25,
    // The operator's default --resize-pending-timeout (a unit test keeps them equal; importing the
    // controller would load the Kubernetes client into every simulation thread).
    resizePendingBoundMs: 5 * 60_000,
    rebalancePauseMs: 20_000,
    memoryBaseBytes: 0.2 * GI,
    memoryPerBusyCoreBytes: 0.5 * GI,
    tolerableLagMs: 5 * 60_000,
    seriesStepMs: 60_000,
    partitionSeries: false,
    ...overrides,
  };
}
