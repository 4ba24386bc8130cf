// The control-plane section of the benchmark report, in Markdown.
import type { ControlPlaneResults, MemorySplit, RolloutSample, WriteCount } from './control-plane.js';
import type { ImportCost } from './import-cost.js';
import { MAX_INSTANCE_STATUS } from '../controller/autoscaling.js';

const f1 = (x: number) => x.toFixed(1);
const f0 = (x: number) => x.toFixed(0);
const f2 = (x: number) => x.toFixed(2);
const breakdown = (w: WriteCount) =>
  Object.keys(w.byResource).length === 0
    ? 'none'
    : Object.entries(w.byResource)
        .map(([k, v]) => `${v} × ${k}`)
        .join(', ');

/** When Ready did not come: how far the rollout had come at the last sample. */
const rolloutAtCap = (samples: RolloutSample[] | undefined, readySeconds: number | undefined) => {
  const last = samples?.at(-1);
  return readySeconds !== undefined || !last
    ? ''
    : ` (at ${f0(last.seconds)} s: ${last.podsReady} pods ready, ${last.deploymentsAvailable} Deployments available)`;
};

const flags = (f: string[] | undefined) => (f?.length ? f.map((x) => `\`${x}\``).join(' ') : 'none');

const statusWrites = (w: WriteCount) =>
  Object.entries(w.byResource)
    .filter(([k]) => k.endsWith('consumers/status'))
    .reduce((sum, [, v]) => sum + v, 0);

/** The operator's environment in a run, as ` with NAME=value`; empty when it had none of its own. */
const environment = (env: Record<string, string> | undefined) =>
  env && Object.keys(env).length > 0
    ? ` with ${Object.entries(env)
        .map(([name, value]) => `\`${name}=${value}\``)
        .join(' ')}`
    : '';

/** What each status write of each change was, from the run's watch on the Consumer. */
const statusChangesTable = (changes: [string, WriteCount][]) =>
  changes.some(([, w]) => w.statusChanges)
    ? [
        '',
        'What each status write changed, from a watch on the Consumer during the same run (each change',
        'is followed until the Consumer is Ready again for its generation). A write that changed',
        'nothing would be counted by the API server but not seen by the watch. `status.instances`',
        `holds at most ${MAX_INSTANCE_STATUS} entries (lagging instances first), so a change of every instance`,
        `shows as at most ${MAX_INSTANCE_STATUS} changed entries.`,
        '',
        '| change | status writes (API server) | what each changed (watch) |',
        '|---|---|---|',
        ...changes.map(
          ([label, w]) =>
            `| ${label} | ${statusWrites(w)} | ${
              w.statusChanges === undefined
                ? 'not recorded'
                : w.statusChanges.length === 0
                  ? 'none'
                  : w.statusChanges.map((c, i) => `${i + 1}. ${c}`).join('<br>')
            } |`,
        ),
      ]
    : [];

/** The template change's row: whether its rollout ended (Ready again) within the run's wait. */
const templateLabel = (t: ControlPlaneResults['templateChange']) =>
  t.readyCapSeconds === undefined
    ? 'the template change'
    : t.readySeconds !== undefined
      ? `the template change (Ready again after ${f0(t.readySeconds)} s)`
      : `the template change (not Ready again within ${t.readyCapSeconds} s)`;

/**
 * A resident figure per object: a difference of two readings of the whole process, so it can come
 * out below zero when the allocator returned more between them than the objects took.
 */
const residentKiB = (kib: number) =>
  kib < 0 ? `${f1(kib)} KiB resident (below this measurement's noise)` : `${f1(kib)} KiB resident`;

/** Where the operator's memory goes: resident memory and V8 heap in use (least of a few readings). */
const splitRows = (s: MemorySplit) => [
  `| where the memory goes: runtime and loaded modules, nothing managed | ≤ 80 MiB resident | ${f0(s.idleMiB.rss)} MiB resident, ${f1(s.idleMiB.heap)} MiB V8 heap |`,
  `| … per cached Consumer (${s.consumersMeasured} refused ones, no Deployments) | — | ${residentKiB(s.perConsumerKiB.rss)}, ${f1(s.perConsumerKiB.heap)} KiB heap |`,
  `| … per cached Deployment (after the restart, the Consumers' share taken out) | — | ${residentKiB(s.perDeploymentKiB.rss)}, ${f1(s.perDeploymentKiB.heap)} KiB heap |`,
  `| … per cached Pod (${s.podsMeasured} pods of a Consumer that resizes in place) | — | ${residentKiB(s.perPodKiB.rss)}, ${f1(s.perPodKiB.heap)} KiB heap |`,
  `| … peak while creating the Deployments | ≤ 1.5 × after a restart | ${f0(s.peakWhileCreatingMiB)} MiB resident |`,
];

/** What each library adds to an idle process, as a table of its own. */
const importCostTable = (c: ImportCost) => [
  '',
  `Where the idle memory goes: ${c.processes} fresh processes (medians) with the operator's Node flags import the`,
  "libraries `konsumerator run` loads, one after the other, then the operator's own modules, and",
  'read resident memory and V8 heap after a garbage collection at each step: each row is what',
  'that import adds to the rows above it.',
  '',
  '| import | resident memory added | V8 heap added |',
  '|---|---|---|',
  `| the Node runtime alone | ${f1(c.runtimeMiB.rss)} MiB | ${f1(c.runtimeMiB.heap)} MiB |`,
  ...c.steps.map((s) => `| ${s.label} | ${f1(s.addedMiB.rss)} MiB | ${f1(s.addedMiB.heap)} MiB |`),
  `| everything | ${f1(c.totalMiB.rss)} MiB | ${f1(c.totalMiB.heap)} MiB |`,
];

export function renderControlPlaneSection(r: ControlPlaneResults): string {
  const c = r.converge;
  const m = r.memory;
  const perDeploymentKiB = ((m.rssAfterRestartMiB - m.baselineRssMiB) * 1024) / m.deployments;
  const lines = [
    'Measured on real test planes (etcd + kube-apiserver; the convergence run also has the',
    'controller-manager, scheduler and kwok with enough fake nodes for every pod). Write counts come',
    "from the API server's own `apiserver_request_total` (Deployments and Consumers; events are",
    'counted separately). The operator runs compiled, as the image runs it (`node dist/cli/main.js run`), in its own',
    `process, resync ${r.idle.resyncSeconds} s. Baselines are measured in the same run. Node flags of the operator:`,
    `convergence run ${flags(c.nodeFlags)}${environment(c.operatorEnv)}, memory run ${flags(m.nodeFlags)}${environment(m.operatorEnv)}.`,
    '',
    '| measurement | target | result |',
    '|---|---|---|',
    `| writes to converge ${r.instances} instances from empty | ≈ 1 per instance | ${c.writes.total} (${f1(c.writes.total / r.instances)} per instance; ${breakdown(c.writes)}) |`,
    `| event writes for that | — | ${c.eventWrites} |`,
    `| time until every Deployment was written | — | ${f1(c.deploymentsWrittenSeconds)} s = ${f1(c.deploymentsWrittenSeconds / c.baselineApplySeconds)}× the baseline (the same ${r.instances} Deployments applied directly, 8 at a time: ${f1(c.baselineApplySeconds)} s, ${c.baselineWrites} writes) |`,
    `| time until the Consumer was Ready (all pods rolled out${c.controllerManagerQps ? `; kube-controller-manager at --kube-api-qps=${c.controllerManagerQps}` : ''}) | — | ${c.readySeconds === undefined ? `not within ${c.readyCapSeconds} s` : `${f1(c.readySeconds)} s`}${rolloutAtCap(c.rollout, c.readySeconds)}${c.readyLateSeconds !== undefined ? `; Ready after ${f1(c.readyLateSeconds)} s` : ''} |`,
    ...(c.direct
      ? [
          `| … the same ${r.instances} Deployments applied directly and rolled out (after the operator's run, the operator stopped): written; all available | ≤ 1.2× (the operator's Ready) | ${f1(c.direct.writtenSeconds)} s; ${c.direct.availableSeconds === undefined ? `not within ${c.readyCapSeconds} s` : `${f1(c.direct.availableSeconds)} s${c.readySeconds !== undefined ? ` (the operator's Ready: ${f2(c.readySeconds / c.direct.availableSeconds)}× that)` : ''}`} |`,
        ]
      : []),
    ...(c.operatorLoad
      ? [
          `| … the operator meanwhile (${f0(c.operatorLoad.seconds)} s, its metrics endpoint asked every second): slowest answer; worst event-loop delay | — | ${f2(c.operatorLoad.slowestAnswerSeconds)} s; ${f2(c.operatorLoad.eventLoopLagMaxSeconds)} s |`,
          `| … its CPU time and reconciles in that time | — | ${f1(c.operatorLoad.cpuSeconds)} s (${f0((100 * c.operatorLoad.cpuSeconds) / c.operatorLoad.seconds)} % of a core); ${c.operatorLoad.reconciles} reconciles |`,
        ]
      : []),
    `| writes per idle resync (${r.idle.resyncs} resyncs, metrics read every 2 s) | 0 | ${f1(r.idle.writes.total / r.idle.resyncs)} (${breakdown(r.idle.writes)}) |`,
    `| writes for one instance edited by hand (drift put back) | 1 | ${r.drift.writes.total} (${breakdown(r.drift.writes)}) |`,
    ...(r.drift.seconds !== undefined
      ? [
          `| … time until that hand edit was put back (the check fails after 60 s) | — | ${f1(r.drift.seconds)} s |`,
        ]
      : []),
    `| writes for one instance that starts lagging (scaled up) | 1 + status | ${r.scaleOne.writes.total} (${breakdown(r.scaleOne.writes)}) |`,
    ...(r.wave
      ? [
          `| writes for an autoscaling wave (every partition starts lagging at once) | 1 per instance + status | ${r.wave.writes.total} (${breakdown(r.wave.writes)}) |`,
        ]
      : []),
    `| writes per instance for a template change of all ${r.instances} | 1 | ${r.templateChange.perInstance.toFixed(3)} (${breakdown(r.templateChange.writes)}) |`,
    `| status writes per change: converge from empty, one drift, one instance scaled${r.wave ? ', the wave' : ''}, the template change | 1 each | ${[c.writes, r.drift.writes, r.scaleOne.writes, ...(r.wave ? [r.wave.writes] : []), r.templateChange.writes].map(statusWrites).join(', ')} |`,
    `| operator resident memory, nothing managed (baseline) | — | ${f0(m.baselineRssMiB)} MiB |`,
    `| … after creating ${m.deployments} Deployments (${m.consumers} Consumers) in ${f1(m.createSeconds)} s | — | ${f0(m.rssAfterCreateMiB)} MiB (peak ${f0(m.peakRssDuringCreateMiB)} MiB; ${m.createWrites.total} writes) |`,
    `| … after a restart with ${m.deployments} Deployments | ≤ 150 MB | ${f0(m.rssAfterRestartMiB)} MiB = ${f1(m.rssAfterRestartMiB / m.baselineRssMiB)}× the baseline, ≈ ${f1(perDeploymentKiB)} KiB per Deployment (peak ${f0(m.peakRssDuringRestartMiB)} MiB; ${m.restartWrites.total} writes on restart) |`,
    ...(m.split ? splitRows(m.split) : []),
    ...statusChangesTable([
      ['converge from empty', c.writes],
      ['idle resyncs', r.idle.writes],
      ['one drift put back', r.drift.writes],
      ['one instance scaled', r.scaleOne.writes],
      ...(r.wave ? [['the wave', r.wave.writes] as [string, WriteCount]] : []),
      [templateLabel(r.templateChange), r.templateChange.writes],
    ]),
    ...(m.importCost ? importCostTable(m.importCost) : []),
    '',
  ];
  return lines.join('\n');
}
