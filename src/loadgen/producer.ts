// Produces a skewed, time-varying load into a real topic: every tick, the messages the rate
// function says are due for each partition go out in one batched send (the client groups them by
// partition leader into one Produce request). Bounded by duration and by message count; stops
// cleanly on an AbortSignal.
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaAdmin, KafkaProducer, type ProducedMessage } from '../kafka/client.js';
import { profileRate, RateIntegrator, type LoadProfile, type RateFunction } from './profile.js';

export interface RunLoadOptions {
  /** Bootstrap servers, e.g. ['127.0.0.1:9092']. */
  brokers: string[];
  topic: string;
  /** A profile (skewed base rates, sine, steps) or any function of (partition, seconds) → msg/s. */
  rate: LoadProfile | RateFunction;
  /** Partition count: default the profile's `rates.length`, else the topic's (from metadata). */
  partitions?: number;
  /** Create the topic with `partitions` partitions when it does not exist (default false). */
  createTopic?: boolean;
  /** Stop after this many seconds (required: the load is always bounded). */
  durationSeconds: number;
  /** Stop once this many messages were sent in total (default 1,000,000). */
  maxMessages?: number;
  /** Send period in ms (default 200). */
  tickMs?: number;
  /** Size of each message value in bytes (default 64). */
  messageBytes?: number;
  /** At most this many messages per send; the rest stays due for the next tick (default 20,000). */
  maxBatch?: number;
  signal?: AbortSignal;
  clientId?: string;
  /** Called after every send. */
  onTick?: (progress: LoadProgress) => void;
}

export interface LoadProgress {
  elapsedSeconds: number;
  /** Messages sent so far, per partition. */
  sent: readonly number[];
  total: number;
}

export interface LoadResult extends LoadProgress {
  stoppedBy: 'duration' | 'maxMessages' | 'signal';
}

export async function runLoad(options: RunLoadOptions): Promise<LoadResult> {
  const connection = { clientId: options.clientId ?? 'konsumerator-loadgen', brokers: options.brokers };
  const admin = new KafkaAdmin(connection);
  const producer = new KafkaProducer(connection);
  try {
    const partitions = await resolvePartitions(admin, options);
    return await produce(producer, partitions, options);
  } finally {
    await producer.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}

async function resolvePartitions(admin: KafkaAdmin, options: RunLoadOptions): Promise<number> {
  const wanted =
    options.partitions ?? (typeof options.rate === 'function' ? undefined : options.rate.rates.length);
  const exists = (await admin.listTopics()).includes(options.topic);
  if (!exists) {
    if (!options.createTopic) throw new Error(`topic ${options.topic} does not exist (set createTopic)`);
    if (!wanted) throw new Error(`topic ${options.topic}: give partitions to create it`);
    await admin.createTopic(options.topic, wanted);
    return wanted;
  }
  const actual = await admin.partitionCount(options.topic);
  if (wanted !== undefined && wanted > actual) {
    throw new Error(`topic ${options.topic} has ${actual} partitions, the load needs ${wanted}`);
  }
  return wanted ?? actual;
}

async function produce(
  producer: KafkaProducer,
  partitions: number,
  options: RunLoadOptions,
): Promise<LoadResult> {
  const rate = typeof options.rate === 'function' ? options.rate : profileRate(options.rate);
  const integrator = new RateIntegrator(rate, partitions);
  const tickMs = options.tickMs ?? 200;
  const maxMessages = options.maxMessages ?? 1_000_000;
  const maxBatch = options.maxBatch ?? 20_000;
  const value = Buffer.alloc(options.messageBytes ?? 64, 'x');
  const sent = new Array<number>(partitions).fill(0);
  const backlog = new Array<number>(partitions).fill(0);
  let total = 0;
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;
  const progress = (): LoadProgress => ({ elapsedSeconds: elapsed(), sent: [...sent], total });
  for (let tick = 1; ; tick++) {
    const stop = options.signal?.aborted ? 'signal' : total >= maxMessages ? 'maxMessages' : undefined;
    if (stop) return { ...progress(), stoppedBy: stop };
    const now = Math.min(elapsed(), options.durationSeconds);
    const due = integrator.advance(now);
    const messages: ProducedMessage[] = [];
    for (let p = 0; p < partitions; p++) {
      backlog[p]! += due[p]!;
      const n = Math.min(backlog[p]!, maxBatch - messages.length, maxMessages - total - messages.length);
      for (let i = 0; i < n; i++) messages.push({ partition: p, value });
      backlog[p]! -= n;
      sent[p]! += n;
    }
    if (messages.length > 0) {
      await producer.send(options.topic, messages);
      total += messages.length;
    }
    options.onTick?.(progress());
    if (now >= options.durationSeconds) return { ...progress(), stoppedBy: 'duration' };
    // Ticks are scheduled from the start time, so a slow send does not shift the following ones.
    const wait = start + tick * tickMs - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal: options.signal }).catch(() => undefined);
  }
}
