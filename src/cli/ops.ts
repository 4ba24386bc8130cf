// The operations verbs: status, pause, resume, stop, start (and explain, in ops-explain.ts), against
// any kubeconfig. Each write is idempotent: a Consumer already in the asked state is left as it
// is and the command says so. Every change is recorded as an event on the Consumer.
import { stringify } from 'yaml';
import { Annotation } from '../api/constants.js';
import type { Consumer } from '../api/schema.js';
import { podsPerInstance } from '../api/resolve.js';
import { instanceName } from '../plan/render.js';
import { selectorString } from '../controller/pod-caches.js';
import { loadKubeConfig } from './kubeconfig.js';
import { MissingPermissionError, OpsApi, type CliEventReason } from './ops-api.js';
import { consumerReport, renderReport, type ConsumerReport } from './ops-status.js';
import { explain, renderExplanation } from './ops-explain.js';

export interface TargetOptions {
  kubeconfig?: string;
  namespace?: string;
  /** Where the verb writes (default stdout); set by callers that run a verb in-process. */
  out?: (text: string) => void;
}

export type Output = 'table' | 'json' | 'yaml';

export interface Context {
  api: OpsApi;
  namespace: string;
  out: (text: string) => void;
}

/** The API client and namespace: --namespace, else the kubeconfig context's, else `default`. */
export function context(options: TargetOptions): Context {
  const out = options.out ?? ((text: string) => process.stdout.write(text));
  const kubeConfig = loadKubeConfig(options.kubeconfig);
  const fromContext = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  return { api: new OpsApi(kubeConfig), namespace: options.namespace ?? fromContext ?? 'default', out };
}

export async function reportOf(ctx: Context, consumer: Consumer, now: Date): Promise<ConsumerReport> {
  const { namespace } = consumer.metadata;
  const selector = selectorString(consumer.spec.deploymentTemplate?.selector);
  const [deployments, pods, events] = await Promise.all([
    ctx.api.listDeployments(namespace),
    selector === undefined ? Promise.resolve([]) : ctx.api.listPods(namespace, selector),
    ctx.api.listConsumerEvents(namespace, consumer.metadata.name),
  ]);
  return consumerReport(consumer, deployments, pods, events, now);
}

function format(reports: ConsumerReport[], output: Output, now: Date, single: boolean): string {
  if (output === 'json') return `${JSON.stringify(single ? reports[0] : reports, null, 2)}\n`;
  if (output === 'yaml') return stringify(single ? reports[0] : reports);
  if (reports.length === 0) return 'no Consumers\n';
  return `${reports.map((r) => renderReport(r, now)).join('\n\n')}\n`;
}

async function snapshot(ctx: Context, name: string | undefined): Promise<ConsumerReport[]> {
  const now = new Date();
  const consumers = name
    ? [await ctx.api.getConsumer(ctx.namespace, name)]
    : await ctx.api.listConsumers(ctx.namespace);
  return Promise.all(consumers.map((c) => reportOf(ctx, c, now)));
}

/** `status [consumer]`: one row per instance; with --watch, printed again whenever it changes. */
export async function runStatus(
  name: string | undefined,
  options: TargetOptions & { output?: Output; watch?: boolean; interval?: string },
  signal?: AbortSignal,
): Promise<void> {
  const ctx = context(options);
  const output = parseOutput(options.output);
  let last: string | undefined;
  for (;;) {
    const now = new Date();
    const reports = await snapshot(ctx, name);
    // Ages and uptimes move every second: a change is a change of anything else.
    const data = JSON.stringify(
      reports.map((r) => ({ ...r, instances: r.instances.map(({ uptimeMs: _, ...i }) => i) })),
    );
    if (data !== last) {
      const text = format(reports, output, now, name !== undefined);
      ctx.out(
        options.watch && output === 'table' && last !== undefined ? `\n${now.toISOString()}\n${text}` : text,
      );
    }
    last = data;
    if (!options.watch || signal?.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, Number(options.interval ?? 2) * 1000));
  }
}

export function parseOutput(value: string | undefined): Output {
  if (value === undefined || value === 'table' || value === 'wide') return 'table';
  if (value === 'json' || value === 'yaml') return value;
  throw new Error(
    `unknown output format ${JSON.stringify(value)}: use json or yaml (or leave -o out for the table)`,
  );
}

/** Records the event; a user who may change the Consumer but not create events still gets the change. */
async function record(
  ctx: Context,
  consumer: Consumer,
  reason: CliEventReason,
  message: string,
): Promise<void> {
  try {
    await ctx.api.recordEvent(consumer, reason, message);
  } catch (error) {
    if (!(error instanceof MissingPermissionError)) throw error;
    ctx.out(`warning: the change is made, but no event records it (${error.message})\n`);
  }
}

function instanceDeployment(consumer: Consumer, instance: string): string {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(instance))
    throw new Error(`--instance must be an instance number, not ${JSON.stringify(instance)}`);
  const count = consumer.status?.expected;
  if (count !== undefined && Number(instance) >= count)
    throw new Error(
      `Consumer ${consumer.metadata.name} has instances 0 to ${count - 1}; there is no instance ${instance}`,
    );
  return instanceName(consumer.spec.name, Number(instance));
}

/**
 * `pause` / `resume`: the disable-autoscaler annotation on the Consumer (no metrics read, no
 * instance resized) or, with --instance, on that instance's Deployment (that instance keeps its
 * size; the others go on). The pods keep running either way.
 */
export async function runPause(
  pause: boolean,
  name: string,
  options: TargetOptions & { instance?: string },
): Promise<void> {
  const ctx = context(options);
  const consumer = await ctx.api.getConsumer(ctx.namespace, name);
  const value = pause ? 'paused by konsumerator pause' : null;
  const verb = pause ? 'paused' : 'resumed';
  if (options.instance !== undefined) {
    const deploymentName = instanceDeployment(consumer, options.instance);
    const deployment = (await ctx.api.listDeployments(ctx.namespace)).find(
      (d) => d.metadata?.name === deploymentName,
    );
    if (!deployment) throw new Error(`instance ${options.instance} has no Deployment ${deploymentName} yet`);
    const has = deployment.metadata?.annotations?.[Annotation.disableAutoscaler] !== undefined;
    if (has === pause) {
      ctx.out(`instance ${options.instance} (${deploymentName}) of ${name} is already ${verb}\n`);
      return;
    }
    await ctx.api.annotateDeployment(ctx.namespace, deploymentName, {
      [Annotation.disableAutoscaler]: value,
    });
    await record(
      ctx,
      consumer,
      pause ? 'InstancePaused' : 'InstanceResumed',
      `${deploymentName}: autoscaling ${verb}`,
    );
    ctx.out(`instance ${options.instance} (${deploymentName}) of ${name} ${verb}\n`);
    return;
  }
  const has = consumer.metadata.annotations?.[Annotation.disableAutoscaler] !== undefined;
  if (has === pause) {
    ctx.out(`Consumer ${name} is already ${verb}\n`);
    return;
  }
  await ctx.api.annotateConsumer(ctx.namespace, name, { [Annotation.disableAutoscaler]: value });
  await record(ctx, consumer, pause ? 'Paused' : 'Resumed', `autoscaling of every instance ${verb}`);
  ctx.out(`Consumer ${name} ${verb}\n`);
}

/**
 * `stop` / `start` through the scale subresource: stop sets 0 pods per instance; start sets
 * --replicas, else the template's replicas, else 1.
 */
export async function runStopStart(
  start: boolean,
  name: string,
  options: TargetOptions & { replicas?: string },
): Promise<void> {
  const ctx = context(options);
  const consumer = await ctx.api.getConsumer(ctx.namespace, name);
  const now = podsPerInstance(consumer.spec);
  let target = 0;
  if (start) {
    target =
      options.replicas !== undefined
        ? Number(options.replicas)
        : consumer.spec.deploymentTemplate?.replicas || 1;
    if (!Number.isInteger(target) || target < 1 || target > 1000)
      throw new Error(`--replicas must be a whole number from 1 to 1000, not ${options.replicas}`);
  }
  if (start ? now > 0 && options.replicas === undefined : now === 0) {
    ctx.out(`Consumer ${name} is already ${start ? `started (${now} pod(s) per instance)` : 'stopped'}\n`);
    return;
  }
  if (now === target) {
    ctx.out(`Consumer ${name} already runs ${target} pod(s) per instance\n`);
    return;
  }
  await ctx.api.scaleConsumer(ctx.namespace, name, target);
  // The operator records Stopped / Started when the Deployments follow; this says who asked.
  await record(
    ctx,
    consumer,
    start ? 'StartRequested' : 'StopRequested',
    start ? `start requested: ${target} pod(s) per instance` : 'stop requested: 0 pods per instance',
  );
  ctx.out(
    start
      ? `Consumer ${name} started: ${target} pod(s) per instance\n`
      : `Consumer ${name} stopped: every instance Deployment goes to 0 replicas (kept, sizes kept)\n`,
  );
}

/** `explain <consumer> [--instance N]`: the decision on the last read's metrics, step by step. */
export async function runExplain(
  name: string,
  options: TargetOptions & { instance?: string; output?: string },
): Promise<void> {
  const ctx = context(options);
  const output = parseOutput(options.output);
  const consumer = await ctx.api.getConsumer(ctx.namespace, name);
  const only =
    options.instance === undefined
      ? undefined
      : Number(instanceDeployment(consumer, options.instance).slice(consumer.spec.name.length + 1));
  const now = new Date();
  const explanation = explain(consumer, await ctx.api.listDeployments(ctx.namespace), now);
  if (output === 'table') ctx.out(renderExplanation(explanation, now, only));
  else {
    const picked = {
      ...explanation,
      instances: explanation.instances.filter((o) => only === undefined || o.id === only),
    };
    ctx.out(output === 'json' ? `${JSON.stringify(picked, null, 2)}\n` : stringify(picked));
  }
}
