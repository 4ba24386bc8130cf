// The example consumers of examples/ against the test plane's real broker, each started with
// exactly the env the operator rendered into one instance's Deployment (read back from the API
// server): it consumes only that instance's partitions, commits under the Consumer's group, and
// the operator's metrics source (a KafkaProvider read, mode kafka) sees the lag of those
// partitions fall to 0 while the others keep theirs. A second run with a one-hour commit interval
// shows the commit on SIGTERM. The Go example is built here (the Go module cache is outside the
// work tree); the Node example runs as it is, on the Node.js of the test run.
import { after, before, describe, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { V1EnvVar } from '@kubernetes/client-node';
import { KafkaAdmin, KafkaProducer } from '../../src/kafka/client.js';
import { KafkaProvider } from '../../src/metrics/kafka.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { Env } from '../../src/api/constants.js';
import type { ConsumerSpec } from '../../src/api/schema.js';
import { metricsPlane, newNamespace, waitFor } from '../support/env.js';
import { ConsumerClient, operatorForThisFile } from '../support/operator.js';

const plane = metricsPlane();
const suffix = randomBytes(3).toString('hex');
const TOPIC = `examples-${suffix}`;
const GROUP_ID = `examples-group-${suffix}`;
const PARTITIONS = 6;
const FIRST_BATCH = 300;
const SECOND_BATCH = 50;

operatorForThisFile();

/** One line of an example's JSON output. */
interface Line {
  event: string;
  partitions?: number[];
  consumed?: Record<string, number>;
  committed?: Record<string, number>;
  total?: number;
  partitionsSeen?: number[];
  gomaxprocs?: number;
  gomemlimit?: number;
  [key: string]: unknown;
}

/** A running example: its output lines, and its end. */
class Example {
  readonly lines: Line[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  /** Rejects when the process exits before stop() was called (never resolves otherwise). */
  readonly failed: Promise<never>;
  private stopping = false;
  private readonly child: ChildProcess;

  constructor(command: string, args: string[], cwd: string, env: Record<string, string>) {
    this.child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as Line);
      } catch {
        this.stderr.push(`stdout: ${line}`);
      }
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.failed = this.exited.then((code) =>
      this.stopping
        ? new Promise<never>(() => undefined)
        : Promise.reject(new Error(`exited (${code}) on its own: ${this.stderr.slice(-10).join('\n')}`)),
    );
    this.failed.catch(() => undefined);
  }

  /** The first line of `event`, waiting for it (failing if the process exits first). */
  async line(
    event: string,
    what: string,
    timeoutMs = 60_000,
    where: (l: Line) => boolean = () => true,
  ): Promise<Line> {
    return Promise.race([
      waitFor(what, async () => this.lines.find((l) => l.event === event && where(l)), timeoutMs),
      this.failed,
    ]);
  }

  last(event: string): Line | undefined {
    return this.lines.findLast((l) => l.event === event);
  }

  async stop(): Promise<Line> {
    this.stopping = true;
    this.child.kill('SIGTERM');
    const code = await this.exited;
    assert.equal(code, 0, `exit code ${code}; stderr: ${this.stderr.slice(-10).join('\n')}`);
    const stop = this.last('stop');
    assert.ok(stop, `no stop line; output: ${JSON.stringify(this.lines.slice(-5))}`);
    return stop;
  }

  kill(): void {
    this.stopping = true;
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** The Consumer: 6 partitions, 2 per instance, lag from the brokers; the examples' settings in env. */
function spec(namespace: string): ConsumerSpec {
  return {
    numPartitions: PARTITIONS,
    numPartitionsPerInstance: 2,
    name: 'orders-consumer',
    namespace,
    autoscaler: {
      mode: 'kafka',
      kafka: {
        brokers: [plane.kafkaBootstrap],
        topic: TOPIC,
        groupId: GROUP_ID,
        uncommitted: 'earliest',
        minSyncPeriod: '2s',
        ratePerCore: 1000,
        ramPerCore: '256Mi',
        tolerableLag: '1m',
        criticalLag: '30m',
        recoveryTime: '5m',
      },
    },
    deploymentTemplate: {
      replicas: 1,
      selector: { matchLabels: { app: 'orders-consumer' } },
      template: {
        metadata: { labels: { app: 'orders-consumer' } },
        spec: {
          containers: [
            {
              name: 'consumer',
              image: 'registry.example/orders-consumer:1.0',
              env: [
                { name: 'KAFKA_BROKERS', value: plane.kafkaBootstrap },
                { name: 'KAFKA_TOPIC', value: TOPIC },
                { name: 'KAFKA_GROUP', value: GROUP_ID },
              ],
            },
          ],
        },
      },
    },
    resourcePolicy: {
      containerPolicies: [
        {
          containerName: 'consumer',
          minAllowed: { cpu: '100m', memory: '128Mi' },
          maxAllowed: { cpu: '2', memory: '1Gi' },
        },
      ],
    },
  };
}

const envOf = (vars: readonly V1EnvVar[]): Record<string, string> =>
  Object.fromEntries(
    vars.map((v) => {
      assert.equal(v.valueFrom, undefined, `${v.name} is a plain value`);
      return [v.name, v.value ?? ''];
    }),
  );

describe('example consumers', () => {
  const connection = { clientId: 'example-consumers-test', brokers: [plane.kafkaBootstrap] };
  const admin = new KafkaAdmin(connection);
  const producer = new KafkaProducer(connection);
  const provider = new KafkaProvider({
    brokers: [plane.kafkaBootstrap],
    topic: TOPIC,
    groupId: GROUP_ID,
    uncommitted: 'earliest',
  });
  const client = new ConsumerClient();
  const running: Example[] = [];
  let workDir = '';
  let goBinary = '';
  /** The env the operator rendered for each instance's consumer container. */
  const instanceEnv = new Map<number, Record<string, string>>();

  const behind = async (): Promise<number[]> => {
    const reading = await provider.read(PARTITIONS);
    return Array.from({ length: PARTITIONS }, (_, p) => reading.partitions.get(p)?.behind ?? NaN);
  };
  const produce = (perPartition: number) =>
    producer.send(
      TOPIC,
      Array.from({ length: PARTITIONS * perPartition }, (_, i) => ({
        partition: i % PARTITIONS,
        value: Buffer.from(`message ${i}`),
      })),
    );

  before(
    async () => {
      workDir = mkdtempSync(join(REPO_ROOT, '.testplane', 'examples-'));
      goBinary = join(workDir, 'go-consumer');
      // Build the Go example (modules from the Go proxy into the user's module cache).
      const build = spawn('go', ['build', '-o', goBinary, '.'], {
        cwd: join(REPO_ROOT, 'examples', 'go-consumer'),
        env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', CGO_ENABLED: '0' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const started = performance.now();
      const code = await new Promise((resolve) => build.once('exit', resolve));
      assert.equal(code, 0, 'go build of examples/go-consumer');
      console.log(`go build of examples/go-consumer: ${((performance.now() - started) / 1000).toFixed(1)} s`);

      await admin.createTopic(TOPIC, PARTITIONS);
      await produce(FIRST_BATCH);
      const namespace = await newNamespace('examples');
      await client.create(namespace, 'orders', spec(namespace));
      for (const id of [0, 1, 2]) {
        const deployment = await waitFor(`Deployment orders-consumer-${id}`, () =>
          client.apps
            .readNamespacedDeployment({ name: `orders-consumer-${id}`, namespace })
            .catch(() => undefined),
        );
        instanceEnv.set(id, envOf(deployment.spec!.template.spec!.containers[0]!.env ?? []));
      }
    },
    { timeout: 600_000 },
  );

  after(async () => {
    for (const example of running) example.kill();
    await Promise.allSettled([provider.close(), producer.close(), admin.close()]);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  test('the operator renders the env contract', () => {
    assert.deepEqual(instanceEnv.get(1), {
      KAFKA_BROKERS: plane.kafkaBootstrap,
      KAFKA_TOPIC: TOPIC,
      KAFKA_GROUP: GROUP_ID,
      [Env.partition]: '2,3',
      [Env.goMaxProcs]: instanceEnv.get(1)![Env.goMaxProcs],
      [Env.goMemLimit]: instanceEnv.get(1)![Env.goMemLimit],
      [Env.instance]: '1',
      [Env.numPartitions]: '6',
      [Env.numInstances]: '3',
    });
    assert.match(instanceEnv.get(1)![Env.goMaxProcs]!, /^[1-9][0-9]*$/);
    assert.match(instanceEnv.get(1)![Env.goMemLimit]!, /^[1-9][0-9]*MiB$/);
  });

  const cases = [
    {
      name: 'Go (franz-go)',
      instance: 0,
      partitions: [0, 1],
      start: (env: Record<string, string>) => new Example(goBinary, [], workDir, env),
      commitIntervalVar: ['COMMIT_INTERVAL', '1h'],
    },
    {
      name: 'Node (@platformatic/kafka)',
      instance: 1,
      partitions: [2, 3],
      start: (env: Record<string, string>) =>
        new Example(process.execPath, ['consumer.ts'], join(REPO_ROOT, 'examples', 'node-consumer'), env),
      commitIntervalVar: ['COMMIT_INTERVAL_MS', '3600000'],
    },
  ] as const;

  for (const c of cases) {
    test(`${c.name}: consumes only instance ${c.instance}'s partitions ${c.partitions.join(',')}, commits under the group, its lag falls to 0`, async () => {
      const env = instanceEnv.get(c.instance)!;
      const lagBefore = await behind();
      for (const p of c.partitions) assert.ok(lagBefore[p]! >= FIRST_BATCH, `partition ${p} behind before`);

      const example = c.start(env);
      running.push(example);
      const startLine = await example.line('start', `${c.name} started`);
      assert.deepEqual(startLine.partitions, c.partitions);
      if (c.instance === 0)
        assert.equal(String(startLine.gomaxprocs), env[Env.goMaxProcs], 'the Go runtime took GOMAXPROCS');

      const lagAfter = await Promise.race([
        waitFor(
          `the lag of partitions ${c.partitions.join(',')} at 0`,
          async () => {
            const lag = await behind();
            return c.partitions.every((p) => lag[p] === 0) ? lag : undefined;
          },
          90_000,
        ),
        example.failed,
      ]);
      const stop = await example.stop();
      assert.deepEqual(stop.partitionsSeen, c.partitions, 'it read only its partitions');
      const committed = await admin.committedOffsets(GROUP_ID, TOPIC);
      const ends = await admin.topicOffsets(TOPIC);
      for (const p of c.partitions)
        assert.equal(committed.get(p), ends[p]!.high, `partition ${p} committed at the log end`);
      for (const p of [4, 5])
        assert.equal(committed.has(p), false, `partition ${p} (instance 2, not running) has no commit`);
      for (let p = 0; p < PARTITIONS; p++) {
        if (c.partitions.includes(p as never)) continue;
        assert.equal(lagAfter[p], lagBefore[p], `partition ${p} of another instance kept its lag`);
      }
      console.log(
        `${c.name}: consumed ${stop.total} messages (${JSON.stringify(stop.consumed)}); lag before ${lagBefore.join(',')}; after ${lagAfter.join(',')}`,
      );
      assert.equal(
        stop.total,
        c.partitions.reduce<number>((sum, p) => sum + lagBefore[p]!, 0),
      );
    });

    test(`${c.name}: commits what it processed on SIGTERM`, async () => {
      await produce(SECOND_BATCH);
      const env = { ...instanceEnv.get(c.instance)!, [c.commitIntervalVar[0]]: c.commitIntervalVar[1] };
      const example = c.start(env);
      running.push(example);
      await example.line(
        'progress',
        `${c.name} processed the second batch`,
        60_000,
        (l) => l.total === SECOND_BATCH * c.partitions.length,
      );
      assert.deepEqual(
        await behind().then((lag) => c.partitions.map((p) => lag[p])),
        c.partitions.map(() => SECOND_BATCH),
        'nothing committed before SIGTERM',
      );
      const stop = await example.stop();
      assert.equal(stop.total, SECOND_BATCH * c.partitions.length);
      const lag = await behind();
      assert.deepEqual(
        c.partitions.map((p) => lag[p]),
        c.partitions.map(() => 0),
        'committed on SIGTERM',
      );
      console.log(`${c.name}: on SIGTERM committed ${JSON.stringify(stop.committed)}`);
    });
  }
});
