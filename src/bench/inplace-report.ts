// The in-place resize section of the benchmark report, in Markdown.
import type { Distribution, InPlaceBenchResults, PathResult } from './inplace.js';

const s = (x: number) => `${x.toFixed(2)} s`;
const dist = (d: Distribution) =>
  `median ${s(d.medianSeconds)}, p90 ${s(d.p90Seconds)}, max ${s(d.maxSeconds)} (min ${s(d.minSeconds)}, n = ${d.n})`;
const row = (label: string, p: PathResult) =>
  `| ${label} | ${dist(p.decisionToStatus)} | ${p.podsCreated} | ${p.restarts} | ${p.missed} |`;

export function renderInPlaceSection(r: InPlaceBenchResults): string {
  const ratio = r.inPlace.decisionToStatus.medianSeconds / r.rollout.decisionToStatus.medianSeconds;
  return [
    'Measured on a real test plane (etcd, kube-apiserver, controller-manager, scheduler; kwok plays the',
    'kubelet, see "In-place resize on kwok" in [testplane.md](../testplane.md)), the operator in the',
    `benchmark's process. A Consumer of ${r.instances} instances (the scaled container and a sidecar)`,
    `goes through ${r.rounds} decisions per instance (${r.sizes.map((c) => (c === 0 ? '0.1' : String(c))).join(' → ')} cores,`,
    'from static metrics, no pending periods); the same decisions then go through `actuation: Rollout`, the',
    "baseline. A sample runs from the moment the benchmark's watch sees the instance's Deployment carry",
    'the decision (the `resources` annotation, or for a rollout the pod template) to the moment every',
    'ready pod of the instance reports it in `status.containerStatuses[].resources` (the CPU request).',
    '',
    "| actuation | decision → resources in the pods' status | pods created | container restarts | decisions not reached within 60 s |",
    '|---|---|---|---|---|',
    row('InPlaceOrRollout (default)', r.inPlace),
    row('Rollout (the original)', r.rollout),
    '',
    `In place, the median is ${ratio.toFixed(2)}× the rollout's on this plane. kwok applies a resize after`,
    'its configured delays (0.1–0.4 s to accept it, 0.3–1 s to apply it) and starts a pod at once, so',
    'neither figure includes what a real node adds: a container runtime applying cgroup limits (in',
    'place), or pulling an image, starting the process and warming it up (rollout, where the partition',
    'also pauses while the consumer hands over). Target: median ≤ 10 s.',
    '',
  ].join('\n');
}
