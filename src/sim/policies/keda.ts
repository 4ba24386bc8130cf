// A KEDA Kafka scaler with an HPA, at their defaults: one Deployment of identical replicas in one
// consumer group. Every 15 s the HPA reads the summed lag (straight from the brokers, no metric
// pipeline delay), desired = ceil(totalLag / lagThreshold), capped at the partition count, kept
// when within ±10 % of the current replicas; scale-down stabilised over 300 s (the highest
// recommendation of the window); scale-up at most max(+4, +100 %) per 15 s (the HPA's default
// behavior, no stabilisation on the way up); minReplicaCount 1.
// Partitions are spread by Kafka's range assignor. Each replica change costs a rebalance: new
// pods start first, then every member stops for the rebalance pause.
// Sizing a replica: the hottest partition's peak in the trace + 15 % (a replica may end up alone
// with it); lagThreshold = what one replica consumes in 60 s (KEDA's default of 10 messages
// would pin the group at the partition count).
import { clampToPolicy } from '../../autoscale/sizing.js';
import { sizeForRate } from '../../autoscale/predictor.js';
import type { PolicySpec, SimPolicy } from '../policy.js';
import { peakRate } from '../trace.js';

const SYNC_MS = 15_000;
const TOLERANCE = 0.1;
const STABILISATION_MS = 300_000;
/** The HPA's default scale-up policies: 100 % or 4 pods per 15 s (a change exactly 15 s ago no longer counts). */
const SCALE_UP_PERIOD_MS = 15_000;
const THRESHOLD_SECONDS = 60;

/** Kafka's range assignor for one topic: contiguous ranges, the first P mod R one larger. */
export function rangeAssign(partitions: number, replicas: number): number[][] {
  const base = Math.floor(partitions / replicas);
  const extra = partitions % replicas;
  const groups: number[][] = [];
  let next = 0;
  for (let r = 0; r < replicas; r++) {
    const n = base + (r < extra ? 1 : 0);
    groups.push(Array.from({ length: n }, (_, k) => next + k));
    next += n;
  }
  return groups.filter((g) => g.length > 0);
}

interface KedaOptions {
  id: string;
  label: string;
  description: string;
  /** lagThreshold = what one replica consumes in this many seconds. */
  thresholdSeconds: number;
  /** The HPA's scale-down stabilisation window. */
  stabilisationMs: number;
}

function kedaLike(options: KedaOptions): PolicySpec {
  const { thresholdSeconds, stabilisationMs } = options;
  return {
    id: options.id,
    label: options.label,
    description: options.description,
    create({ setup, trace, params }): SimPolicy {
      const partitions = trace.rates.length;
      let hottest = 0;
      for (let p = 0; p < partitions; p++) hottest = Math.max(hottest, peakRate(trace, p));
      const sizing = clampToPolicy(sizeForRate(hottest * 1.15, setup.config.settings), setup.policy);
      const podCpu = sizing.cpuRequest!;
      const podMemory = sizing.memoryRequest!;
      const podCpuLimit = setup.cpuLimitFor(sizing);
      const threshold = (podCpu / 1000) * params.ratePerCore * thresholdSeconds;
      let replicas = 1;
      const recommendations: { at: number; replicas: number }[] = [];
      const scaleUps: { at: number; from: number }[] = [];
      return {
        start(world) {
          let total = 0;
          for (let p = 0; p < partitions; p++) total += world.rate(p);
          replicas = Math.min(
            partitions,
            Math.max(1, Math.ceil((total * 1.15) / ((podCpu / 1000) * params.ratePerCore))),
          );
          world.units = rangeAssign(partitions, replicas).map((g) =>
            world.newUnit(g, podCpu, podMemory, podCpuLimit),
          );
        },
        step(world) {
          const now = world.nowMs;
          if (now % SYNC_MS !== 0 || now === 0) return;
          let lag = 0;
          for (let p = 0; p < partitions; p++) lag += world.backlog[p]!;
          lag = Math.min(lag, partitions * threshold);
          const ratio = lag / replicas / threshold;
          let desired = Math.abs(ratio - 1) <= TOLERANCE ? replicas : Math.ceil(lag / threshold);
          desired = Math.min(partitions, Math.max(1, desired));
          recommendations.push({ at: now, replicas: desired });
          while (recommendations.length && recommendations[0]!.at < now - stabilisationMs)
            recommendations.shift();
          if (desired < replicas)
            desired = Math.min(replicas, Math.max(...recommendations.map((r) => r.replicas)));
          if (desired > replicas) {
            while (scaleUps.length && scaleUps[0]!.at <= now - SCALE_UP_PERIOD_MS) scaleUps.shift();
            const periodStart = scaleUps.length ? scaleUps[0]!.from : replicas;
            desired = Math.min(desired, Math.max(periodStart + 4, periodStart * 2));
            if (desired > replicas) scaleUps.push({ at: now, from: replicas });
          }
          if (desired === replicas) return;
          const up = desired > replicas;
          replicas = desired;
          world.regroup(
            rangeAssign(partitions, replicas),
            podCpu,
            podMemory,
            up ? params.restart.startMs : 0,
            podCpuLimit,
          );
        },
      };
    },
  };
}

export const kedaPolicy = kedaLike({
  id: 'keda',
  label: 'KEDA-like (horizontal)',
  description:
    'Replicas = ceil(summed lag / lagThreshold) ≤ partitions, HPA 15 s sync, ±10 % tolerance, 300 s scale-down stabilisation, scale-up max(+4, +100 %)/15 s (HPA defaults); a rebalance pause on every change.',
  thresholdSeconds: THRESHOLD_SECONDS,
  stabilisationMs: STABILISATION_MS,
});

export const kedaTunedPolicy = kedaLike({
  id: 'keda-tuned',
  label: 'KEDA-like, tuned',
  description:
    'The same scaler configured for the lag SLO: lagThreshold = 20 s of a replica’s throughput (it grows sooner), and a 10-minute scale-down stabilisation (fewer rebalances when traffic swings back).',
  thresholdSeconds: 20,
  stabilisationMs: 600_000,
});
