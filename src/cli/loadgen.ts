// `konsumerator loadgen` and `konsumerator simulate-group`: the load generator and the simulated
// consumer group of src/loadgen as commands, for demos and experiments against real clusters.
// Both refuse what would harm real consumers unless told (--force): loadgen an existing topic,
// simulate-group a group that already has committed offsets.
import { KafkaAdmin } from '../kafka/client.js';
import { runConsumerGroup, runLoad, type LoadProfile } from '../loadgen/index.js';
import { refuseCommittedGroup, refuseExistingTopic } from './try-it-guards.js';
import { parseDuration } from '../util/units.js';
import { loadKubeConfig } from './kubeconfig.js';

export interface LoadgenOptions {
  brokers: string;
  topic: string;
  rates: string;
  duration: string;
  /** Write to the topic even when it exists. */
  force?: boolean;
  sineAmplitude?: string;
  sinePeriod?: string;
  maxMessages?: string;
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function numbers(text: string, what: string): number[] {
  const values = list(text).map(Number);
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new Error(
      `${what} must be a comma-separated list of non-negative numbers, got ${JSON.stringify(text)}`,
    );
  }
  return values;
}

function untilSignal(): AbortSignal {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  return abort.signal;
}

/** Runs `check` with an admin client of `brokers`, closed afterwards. */
async function withAdmin(brokers: string[], check: (admin: KafkaAdmin) => Promise<void>): Promise<void> {
  const admin = new KafkaAdmin({ clientId: 'konsumerator-try-it', brokers });
  try {
    await check(admin);
  } finally {
    await admin.close();
  }
}

export async function runLoadgen(options: LoadgenOptions): Promise<void> {
  const brokers = list(options.brokers);
  if (!options.force) await withAdmin(brokers, (admin) => refuseExistingTopic(admin, options.topic));
  const profile: LoadProfile = {
    rates: numbers(options.rates, '--rates'),
    ...(options.sineAmplitude
      ? {
          sine: {
            amplitude: Number(options.sineAmplitude),
            periodSeconds: parseDuration(options.sinePeriod ?? '10m') / 1000,
            phasePerPartition: 0.1,
          },
        }
      : {}),
  };
  const result = await runLoad({
    brokers,
    topic: options.topic,
    rate: profile,
    createTopic: true,
    durationSeconds: parseDuration(options.duration) / 1000,
    ...(options.maxMessages ? { maxMessages: Number(options.maxMessages) } : {}),
    signal: untilSignal(),
    onTick: (p) => {
      if (Math.floor(p.elapsedSeconds) % 10 === 0)
        process.stderr.write(`${p.elapsedSeconds.toFixed(0)} s: ${p.total} messages\r`);
    },
  });
  console.log(
    `sent ${result.total} messages in ${result.elapsedSeconds.toFixed(1)} s (${result.stoppedBy}); per partition: ${result.sent.join(', ')}`,
  );
}

export interface SimulateGroupOptions {
  brokers: string;
  topic: string;
  group: string;
  namespace: string;
  ratePerCore: string;
  duration: string;
  /** Use the group even when it has committed offsets. */
  force?: boolean;
  /** Each pod joins the group and subscribes (a balanced Consumer). */
  subscribe?: boolean;
  kubeconfig?: string;
}

export async function runSimulatedGroup(options: SimulateGroupOptions): Promise<void> {
  const ratePerCore = Number(options.ratePerCore);
  if (!(ratePerCore > 0))
    throw new Error(`--rate-per-core must be a positive number, got ${options.ratePerCore}`);
  const brokers = list(options.brokers);
  if (!options.force)
    await withAdmin(brokers, (admin) => refuseCommittedGroup(admin, options.group, options.topic));
  const result = await runConsumerGroup({
    brokers,
    topic: options.topic,
    groupId: options.group,
    ratePerCore,
    kubernetes: { kubeConfig: loadKubeConfig(options.kubeconfig), namespace: options.namespace },
    ...(options.subscribe ? { subscribe: true } : {}),
    durationSeconds: parseDuration(options.duration) / 1000,
    signal: untilSignal(),
    onTick: (t) => process.stderr.write(`${t.elapsedSeconds.toFixed(0)} s: lag ${t.lag.join(', ')}\r`),
  });
  console.log(
    `\nstopped by ${result.stoppedBy} after ${result.elapsedSeconds.toFixed(1)} s; lag per partition: ${result.lag.join(', ')}`,
  );
}
