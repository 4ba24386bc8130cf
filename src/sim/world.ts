// The simulated system: partitions that producers fill and consumer units drain. A unit is a
// pod (an instance Deployment of one or more partitions, or one replica of a horizontally scaled
// group) with a CPU request that sets its throughput, plus what its node's idle CPU lets it use
// above the request within its CPU limit (the node headroom). Changing a unit costs what it costs in a
// cluster: a rollout restart (the old pod keeps going until the new one has started, then a
// hand-over pause and a warm-up), an in-place resize (a short delay; when the pod's node has too
// little unrequested CPU left for the growth, the node defers it and the operator rolls the pod
// out once the deferral has lasted its bound, as InPlaceOrRollout does), or a rebalance of the
// whole group. All figures are accumulated here, so every policy is measured the same way.
import { LagClock } from './lag.js';
import { StepInputs } from './step-inputs.js';
import { MetricsPipeline, type Reading } from './metrics-pipeline.js';
import type { SimParams } from './params.js';
import { inWindow, rateAt, type Trace } from './trace.js';

export type ChangeMode = 'restart' | 'in-place' | 'free';

export interface Unit {
  partitions: number[];
  /** Requested CPU allocated to the pod (what is paid for), millicores. */
  cpuMillis: number;
  /** Memory request = limit, bytes. */
  memoryBytes: number;
  /** The CPU limit that goes with `cpuMillis`, millicores (Infinity: no CPU limit). */
  cpuLimitMillis: number;
  /** The CPU request that sets throughput now (the old size until a change takes effect). */
  activeCpuMillis: number;
  /** The CPU limit in force now. */
  activeCpuLimitMillis: number;
  /**
   * The memory limit in force now: what an OOM kill is decided against. It changes with the CPU,
   * when a change takes effect (a rollout's new pod starts with both; a resize applies both), not
   * when it is decided: until then the running pod keeps the limit it has.
   */
  activeMemoryBytes: number;
  pendingCpuMillis: number | undefined;
  pendingCpuLimitMillis: number;
  pendingMemoryBytes: number;
  pendingAtMs: number;
  /** How the pending change takes effect: a restart (a rollout, or one after a deferred resize), or in place. */
  pendingRestart: 'rollout' | 'fallback' | undefined;
  /** Unrequested CPU left on the pod's node, millicores: what an in-place resize may grow by. */
  nodeFreeMillis: number;
  /** Since when the node defers an in-place resize of this pod (undefined: it does not). */
  deferredSinceMs: number | undefined;
  /**
   * The resources of a deferred in-place resize: the node has not allocated them, so the pod
   * keeps (and is charged for) `cpuMillis`/`memoryBytes` until the fallback rollout starts.
   */
  deferred: { cpuMillis: number; memoryBytes: number; cpuLimitMillis: number } | undefined;
  pausedUntilMs: number;
  warmStartMs: number;
  warmEndMs: number;
  /** Cores busy in the last step (what a CPU-usage recommender sees). */
  usageCores: number;
  /** Memory in use in the last step, bytes. */
  usageBytes: number;
  oomKills: number;
}

/** Why a partition's consumption was interrupted. */
export type DisruptionCause = 'rollout' | 'fallback' | 'oom' | 'rebalance';

export interface WorldCounters {
  /** Applied resource changes (vertical) or replica-count changes (horizontal). */
  scaleActions: number;
  /** Partitions whose consumption was interrupted (restarts, OOM kills, rebalances). */
  disruptions: number;
  /** The same, by cause. */
  disruptionsBy: Record<DisruptionCause, number>;
  oomKills: number;
}

export interface SeriesPoint {
  timeMs: number;
  cpuCores: number;
  memoryGiB: number;
  /** Worst partition's lag, seconds. */
  maxLagSeconds: number;
}

export function newUnit(
  partitions: number[],
  cpuMillis: number,
  memoryBytes: number,
  nodeFreeMillis = Infinity,
  cpuLimitMillis = Infinity,
): Unit {
  return {
    partitions,
    cpuMillis,
    memoryBytes,
    cpuLimitMillis,
    activeCpuMillis: cpuMillis,
    activeCpuLimitMillis: cpuLimitMillis,
    activeMemoryBytes: memoryBytes,
    pendingCpuMillis: undefined,
    pendingCpuLimitMillis: cpuLimitMillis,
    pendingMemoryBytes: memoryBytes,
    pendingAtMs: 0,
    pendingRestart: undefined,
    nodeFreeMillis,
    deferredSinceMs: undefined,
    deferred: undefined,
    pausedUntilMs: 0,
    warmStartMs: 0,
    warmEndMs: 0,
    usageCores: 0,
    usageBytes: 0,
    oomKills: 0,
  };
}

const GI = 1024 ** 3;

export class World {
  readonly partitions: number;
  readonly produced: Float64Array;
  readonly consumed: Float64Array;
  /** Messages waiting, kept separately from the counters (the conservation test checks both). */
  readonly backlog: Float64Array;
  /** Current throughput multiplier per partition (noise around 1). */
  readonly noise: Float64Array;
  units: Unit[] = [];
  readonly counters: WorldCounters = {
    scaleActions: 0,
    disruptions: 0,
    disruptionsBy: { rollout: 0, fallback: 0, oom: 0, rebalance: 0 },
    oomKills: 0,
  };
  readonly metrics: MetricsPipeline;
  nowMs = 0;
  // Cost integrals, millicore-ms and byte-ms.
  cpuMilliMs = 0;
  memoryByteMs = 0;
  /** Worst lag of each partition in each minute, seconds (views of one buffer, partition after partition). */
  readonly lagByMinute: Float32Array[];
  /**
   * With `params.partitionSeries`: the CPU and memory requested by the pod of each partition,
   * averaged over each minute (cores, GiB); empty otherwise.
   */
  readonly cpuByMinute: Float32Array[] = [];
  readonly memoryByMinute: Float32Array[] = [];
  readonly series: SeriesPoint[] = [];

  private readonly lag: LagClock;
  private readonly minuteMax: Float64Array;
  /** Sums over the current minute of each partition's pod's requests (with `partitionSeries`). */
  private readonly partitionCpu: Float64Array | undefined;
  private readonly partitionMemory: Float64Array | undefined;
  private minuteTicks = 0;
  private readonly ticks: number;
  private tick = 0;
  private seriesCpu = 0;
  private seriesMemory = 0;
  private seriesLag = 0;
  private seriesTicks = 0;
  /** Scratch for sharing a unit among its partitions (reused at every step). */
  private readonly open: number[] = [];
  private readonly cheapestFirst: (a: number, b: number) => number;
  /** Share of its request a pod may use on top of it from its node's idle CPU (trace, else params). */
  readonly headroom: number;

  /** `inputs`: shared by the worlds stepped together with this one (the same trace and params). */
  constructor(
    readonly trace: Trace,
    readonly params: SimParams,
    private readonly inputs = new StepInputs(trace, params),
  ) {
    this.partitions = trace.rates.length;
    this.headroom = trace.nodeHeadroom ?? params.nodeHeadroom;
    const n = this.partitions;
    this.produced = new Float64Array(n);
    this.consumed = new Float64Array(n);
    this.backlog = new Float64Array(n);
    this.noise = inputs.noise;
    this.ticks = Math.ceil(trace.durationMs / params.tickMs);
    this.lag = new LagClock(n, params.tickMs);
    this.minuteMax = new Float64Array(n);
    const minutes = Math.ceil(trace.durationMs / 60_000);
    const lagBuffer = new Float32Array(n * minutes);
    this.lagByMinute = Array.from({ length: n }, (_, p) =>
      lagBuffer.subarray(p * minutes, (p + 1) * minutes),
    );
    if (params.partitionSeries) {
      this.partitionCpu = new Float64Array(n);
      this.partitionMemory = new Float64Array(n);
      const cpuBuffer = new Float32Array(n * minutes);
      const memoryBuffer = new Float32Array(n * minutes);
      for (let p = 0; p < n; p++) {
        this.cpuByMinute.push(cpuBuffer.subarray(p * minutes, (p + 1) * minutes));
        this.memoryByMinute.push(memoryBuffer.subarray(p * minutes, (p + 1) * minutes));
      }
    }
    this.metrics = new MetricsPipeline(n, params.scrapeIntervalMs, params.rateWindowMs, trace.gaps);
    const backlog = this.backlog;
    const noise = this.noise;
    this.cheapestFirst = (a, b) => backlog[a]! / noise[a]! - backlog[b]! / noise[b]!;
  }

  get tickCount(): number {
    return this.ticks;
  }

  rate(partition: number, timeMs = this.nowMs): number {
    return rateAt(this.trace, partition, timeMs);
  }

  /** Messages each partition produces in the current step: its rate × the step's length. */
  production(): Float64Array {
    return this.inputs.productionAt(this.nowMs);
  }

  stalled(partition: number, timeMs = this.nowMs): boolean {
    for (const s of this.trace.stalls) {
      if (s.partition === partition && inWindow(s, timeMs)) return true;
    }
    return false;
  }

  read(): Reading {
    return this.metrics.read(this.nowMs);
  }

  /**
   * A new pod for `partitions`, on a node with the usual unrequested CPU; `cpuLimitMillis`
   * Infinity when the container has no CPU limit.
   */
  newUnit(partitions: number[], cpuMillis: number, memoryBytes: number, cpuLimitMillis = Infinity): Unit {
    return newUnit(partitions, cpuMillis, memoryBytes, this.params.nodeFreeCpuMillis, cpuLimitMillis);
  }

  /**
   * Change a unit's resources. The cost changes when the new requests are allocated: at once for
   * a rollout (the new pod is created with them) and for a resize the node grants; a resize the
   * node defers allocates nothing, so the pod keeps its old requests until the fallback rollout
   * starts. `cpuLimitMillis`: Infinity when the container has no CPU limit.
   */
  resize(
    unit: Unit,
    cpuMillis: number,
    memoryBytes: number,
    mode: ChangeMode,
    cpuLimitMillis = Infinity,
  ): void {
    const wanted = unit.deferred ?? unit;
    if (
      cpuMillis === wanted.cpuMillis &&
      memoryBytes === wanted.memoryBytes &&
      cpuLimitMillis === wanted.cpuLimitMillis
    )
      return;
    this.counters.scaleActions++;
    const rollingOut =
      unit.pendingRestart === 'rollout' || (unit.pendingRestart === 'fallback' && !unit.deferred);
    const running =
      unit.pendingRestart === undefined
        ? (unit.pendingCpuMillis ?? unit.activeCpuMillis)
        : unit.activeCpuMillis;
    const allocate = () => {
      unit.cpuMillis = cpuMillis;
      unit.memoryBytes = memoryBytes;
      unit.cpuLimitMillis = cpuLimitMillis;
      unit.deferred = undefined;
      unit.deferredSinceMs = undefined;
    };
    if (mode === 'free') {
      allocate();
      unit.activeCpuMillis = cpuMillis;
      unit.activeCpuLimitMillis = cpuLimitMillis;
      unit.activeMemoryBytes = memoryBytes;
      unit.pendingCpuMillis = undefined;
      return;
    }
    if (mode === 'restart' || rollingOut) {
      // A rollout, or a new size carried by the rollout already under way (the template has it).
      allocate();
      unit.pendingCpuMillis = cpuMillis;
      unit.pendingCpuLimitMillis = cpuLimitMillis;
      unit.pendingMemoryBytes = memoryBytes;
      if (!rollingOut) {
        unit.pendingRestart = 'rollout';
        unit.pendingAtMs = this.nowMs + this.params.restart.startMs;
      }
      return;
    }
    // In place: the node grants growth while it has unrequested CPU; beyond that it defers the
    // resize, and the operator rolls the pod out once the deferral has lasted its bound.
    const growth = cpuMillis - running;
    if (growth <= unit.nodeFreeMillis) {
      allocate();
      unit.nodeFreeMillis -= growth;
      unit.pendingCpuMillis = cpuMillis;
      unit.pendingCpuLimitMillis = cpuLimitMillis;
      unit.pendingMemoryBytes = memoryBytes;
      unit.pendingRestart = undefined;
      unit.pendingAtMs = this.nowMs + this.params.inPlaceDelayMs;
      return;
    }
    // Deferred: nothing new is allocated; the pod keeps what it has (and what was granted).
    if (unit.pendingRestart === undefined && unit.pendingCpuMillis !== undefined) {
      unit.activeCpuMillis = unit.pendingCpuMillis;
      unit.activeCpuLimitMillis = unit.pendingCpuLimitMillis;
      unit.activeMemoryBytes = unit.pendingMemoryBytes;
    }
    unit.pendingCpuMillis = undefined;
    unit.deferred = { cpuMillis, memoryBytes, cpuLimitMillis };
    unit.deferredSinceMs ??= this.nowMs;
    unit.pendingRestart = 'fallback';
  }

  /**
   * The operator gives up waiting for a deferred resize (the policy decides when, as the operator's
   * bound does) and rolls the pod out: the new pod starts with the new requests.
   */
  rollOutDeferred(unit: Unit): void {
    const deferred = unit.deferred;
    if (!deferred) return;
    unit.cpuMillis = deferred.cpuMillis;
    unit.memoryBytes = deferred.memoryBytes;
    unit.cpuLimitMillis = deferred.cpuLimitMillis;
    unit.pendingCpuMillis = deferred.cpuMillis;
    unit.pendingCpuLimitMillis = deferred.cpuLimitMillis;
    unit.pendingMemoryBytes = deferred.memoryBytes;
    unit.deferred = undefined;
    unit.pendingRestart = 'fallback';
    unit.pendingAtMs = this.nowMs + this.params.restart.startMs;
  }

  /**
   * Replace the group's members (a horizontal scaler changed the replica count): new members
   * start first, then every member stops for a rebalance. The cost changes at once.
   */
  regroup(
    groups: number[][],
    cpuMillis: number,
    memoryBytes: number,
    startDelayMs: number,
    cpuLimitMillis = Infinity,
  ): void {
    this.counters.scaleActions++;
    const at = this.nowMs + startDelayMs;
    const pausedUntil = at + this.params.rebalancePauseMs;
    this.pendingRegroup = { at, pausedUntil, groups, cpuMillis, memoryBytes, cpuLimitMillis };
    // Pay for the new pods from now (they are being started), keep the old ones running.
    this.extraCostMillis = Math.max(0, groups.length * cpuMillis - this.units.length * cpuMillis);
    this.extraCostBytes = Math.max(0, groups.length * memoryBytes - this.units.length * memoryBytes);
  }

  private pendingRegroup:
    | {
        at: number;
        pausedUntil: number;
        groups: number[][];
        cpuMillis: number;
        memoryBytes: number;
        cpuLimitMillis: number;
      }
    | undefined;
  private extraCostMillis = 0;
  private extraCostBytes = 0;

  /** Whether a regroup is still waiting to take effect. */
  get regrouping(): boolean {
    return this.pendingRegroup !== undefined;
  }

  private restartUnit(unit: Unit, fromMs: number, cause: DisruptionCause): void {
    const r = this.params.restart;
    // A new pod, scheduled where it fits: its node has the usual unrequested CPU.
    if (cause !== 'oom') unit.nodeFreeMillis = this.params.nodeFreeCpuMillis;
    unit.deferredSinceMs = undefined;
    unit.pausedUntilMs = fromMs + r.pauseMs;
    unit.warmStartMs = unit.pausedUntilMs;
    unit.warmEndMs = unit.pausedUntilMs + r.warmupMs;
    this.counters.disruptions += unit.partitions.length;
    this.counters.disruptionsBy[cause] += unit.partitions.length;
  }

  private throughputFactor(unit: Unit, timeMs: number): number {
    if (timeMs < unit.pausedUntilMs) return 0;
    if (timeMs >= unit.warmEndMs) return 1;
    const r = this.params.restart;
    return (
      r.warmupFloor +
      ((1 - r.warmupFloor) * (timeMs - unit.warmStartMs)) / (unit.warmEndMs - unit.warmStartMs)
    );
  }

  /**
   * Start of a step, before the policy decides: scrape if due, and draw this step's throughput
   * noise (so an oracle can know it).
   */
  observe(): void {
    if (this.metrics.isScrapeDue(this.nowMs)) this.metrics.scrape(this.nowMs, this.produced, this.consumed);
    this.inputs.noiseAt(this.tick);
  }

  /** Produce and consume over one step, then account for it. */
  advance(): void {
    const dt = this.params.tickMs;
    const seconds = dt / 1000;
    const now = this.nowMs;
    const params = this.params;
    if (this.pendingRegroup && now >= this.pendingRegroup.at) {
      const g = this.pendingRegroup;
      this.units = g.groups.map((partitions) => {
        const u = this.newUnit(partitions, g.cpuMillis, g.memoryBytes, g.cpuLimitMillis);
        u.pausedUntilMs = g.pausedUntil;
        return u;
      });
      this.counters.disruptions += this.partitions;
      this.counters.disruptionsBy.rebalance += this.partitions;
      this.pendingRegroup = undefined;
      this.extraCostMillis = 0;
      this.extraCostBytes = 0;
    }
    const amounts = this.production();
    const produced = this.produced;
    const backlog = this.backlog;
    for (let p = 0; p < this.partitions; p++) {
      produced[p]! += amounts[p]!;
      backlog[p]! += amounts[p]!;
    }
    let cpu = this.extraCostMillis;
    let memory = this.extraCostBytes;
    const units = this.units;
    for (let i = 0; i < units.length; i++) {
      const unit = units[i]!;
      if (unit.pendingCpuMillis !== undefined && now >= unit.pendingAtMs) {
        unit.activeCpuMillis = unit.pendingCpuMillis;
        unit.activeCpuLimitMillis = unit.pendingCpuLimitMillis;
        unit.activeMemoryBytes = unit.pendingMemoryBytes;
        if (unit.pendingRestart) this.restartUnit(unit, unit.pendingAtMs, unit.pendingRestart);
        unit.pendingCpuMillis = undefined;
        unit.pendingRestart = undefined;
      }
      const coreSeconds = (this.usableCpuMillis(unit) / 1000) * this.throughputFactor(unit, now) * seconds;
      const used = this.consume(unit, coreSeconds, now);
      unit.usageCores = used / seconds;
      unit.usageBytes = params.memoryBaseBytes + params.memoryPerBusyCoreBytes * unit.usageCores;
      if (unit.usageBytes > unit.activeMemoryBytes && now >= unit.pausedUntilMs) {
        this.counters.oomKills++;
        unit.oomKills++;
        this.restartUnit(unit, now, 'oom');
      }
      cpu += unit.cpuMillis;
      memory += unit.memoryBytes;
      if (this.partitionCpu) {
        for (const p of unit.partitions) {
          this.partitionCpu[p]! += unit.cpuMillis;
          this.partitionMemory![p]! += unit.memoryBytes;
        }
      }
    }
    this.cpuMilliMs += cpu * dt;
    this.memoryByteMs += memory * dt;
    this.tick++;
    this.nowMs = this.tick * dt;
    this.recordLag(cpu, memory);
  }

  /**
   * The CPU a pod can use: its request, plus the node headroom (a share of the request, see
   * SimParams.nodeHeadroom) up to its CPU limit and to what its node has left unrequested.
   */
  private usableCpuMillis(unit: Unit): number {
    const request = unit.activeCpuMillis;
    const extra = Math.min(request * this.headroom, Math.max(0, unit.nodeFreeMillis));
    return Math.max(request, Math.min(unit.activeCpuLimitMillis, request + extra));
  }

  /** Share a unit's core-seconds among its partitions (water-filling on what each can use). */
  private consume(unit: Unit, coreSeconds: number, now: number): number {
    const rpc = this.params.ratePerCore;
    const backlog = this.backlog;
    const noise = this.noise;
    const partitions = unit.partitions;
    if (partitions.length === 1) {
      const p = partitions[0]!;
      if (coreSeconds <= 0 || this.stalled(p, now)) return 0;
      const perCore = rpc * noise[p]!;
      const take = Math.min(backlog[p]!, coreSeconds * perCore);
      this.take(p, take);
      // Never more than it had: (c × r) / r can come out one rounding above c, and a pod sized to
      // use exactly its CPU would then be over its memory by a rounding and OOM-killed.
      return Math.min(coreSeconds, take / perCore);
    }
    const open = this.open;
    open.length = 0;
    for (let i = 0; i < partitions.length; i++) {
      const p = partitions[i]!;
      if (!this.stalled(p, now) && backlog[p]! > 0) open.push(p);
    }
    let left = coreSeconds;
    let used = 0;
    // Cheapest partitions to empty first, so each gets an equal share of what remains.
    open.sort(this.cheapestFirst);
    for (let i = 0; i < open.length; i++) {
      const p = open[i]!;
      const perCore = rpc * noise[p]!;
      const share = left / (open.length - i);
      const need = backlog[p]! / perCore;
      const spend = Math.min(share, need);
      this.take(p, Math.min(backlog[p]!, spend * perCore));
      left -= spend;
      used += spend;
    }
    return used;
  }

  private take(partition: number, amount: number): void {
    this.consumed[partition]! += amount;
    this.backlog[partition]! -= amount;
    if (this.backlog[partition]! < 1e-9) this.backlog[partition] = 0;
  }

  /**
   * Lag of a partition = age of its oldest unconsumed message: the time since the produced
   * count passed the consumed count (see lag.ts).
   */
  lagMs(partition: number): number {
    return this.lag.lagMs(
      partition,
      this.tick,
      this.nowMs,
      this.consumed[partition]!,
      this.backlog[partition]!,
    );
  }

  private recordLag(cpuMillis: number, memoryBytes: number): void {
    let worst = 0;
    const minuteMax = this.minuteMax;
    const { produced, consumed, backlog, lag, tick, nowMs } = this;
    for (let p = 0; p < this.partitions; p++) {
      lag.record(p, tick, produced[p]!);
      const ms = lag.lagMs(p, tick, nowMs, consumed[p]!, backlog[p]!);
      if (ms > minuteMax[p]!) minuteMax[p] = ms;
      if (ms > worst) worst = ms;
    }
    this.minuteTicks++;
    if (this.nowMs % 60_000 === 0 || this.tick === this.ticks) {
      const minute = Math.ceil(this.nowMs / 60_000) - 1;
      for (let p = 0; p < this.partitions; p++) {
        if (minute < this.lagByMinute[p]!.length) this.lagByMinute[p]![minute] = minuteMax[p]! / 1000;
        minuteMax[p] = 0;
      }
      if (this.partitionCpu && this.partitionMemory) {
        for (let p = 0; p < this.partitions; p++) {
          if (minute < this.cpuByMinute[p]!.length) {
            this.cpuByMinute[p]![minute] = this.partitionCpu[p]! / this.minuteTicks / 1000;
            this.memoryByMinute[p]![minute] = this.partitionMemory[p]! / this.minuteTicks / GI;
          }
        }
        this.partitionCpu.fill(0);
        this.partitionMemory.fill(0);
      }
      this.minuteTicks = 0;
    }
    this.seriesCpu += cpuMillis;
    this.seriesMemory += memoryBytes;
    this.seriesLag = Math.max(this.seriesLag, worst);
    this.seriesTicks++;
    if (this.nowMs % this.params.seriesStepMs === 0 || this.tick === this.ticks) {
      this.series.push({
        timeMs: this.nowMs,
        cpuCores: this.seriesCpu / this.seriesTicks / 1000,
        memoryGiB: this.seriesMemory / this.seriesTicks / GI,
        maxLagSeconds: this.seriesLag / 1000,
      });
      this.seriesCpu = 0;
      this.seriesMemory = 0;
      this.seriesLag = 0;
      this.seriesTicks = 0;
    }
  }
}
