// One Apache Kafka node in KRaft combined mode (broker + controller) on 127.0.0.1, run from the
// Maven Central jars that scripts/build-kafka.sh caches: `java -cp '<lib>/*' kafka.Kafka`.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KafkaAdmin } from '../kafka/client.js';
import { findOnPath } from './binaries.js';
import {
  scramFormatArgs,
  securityProperties,
  type KafkaSecurity,
  type SecurePorts,
} from './kafka-security.js';
import { freePorts } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

export interface KafkaBroker {
  process: ManagedProcess;
  /** `127.0.0.1:<port>`, the PLAINTEXT listener. */
  bootstrap: string;
  /** With `security`: the SSL (mutual TLS) and SASL_SSL listeners. */
  secure?: { ssl: string; saslSsl: string };
  clusterId: string;
}

export interface KafkaParams {
  /** Directory with the runtime jars (ensureKafkaRuntime()). */
  libDir: string;
  /** The plane directory; the broker uses `<dir>/kafka/` and logs to `<dir>/kafka.log`. */
  dir: string;
  /** A class-data sharing archive of the broker's classes (ensureKafkaClassArchive()). */
  classArchive?: string;
  /** More JVM flags for the broker. */
  jvmFlags?: readonly string[];
  /** Also listen with TLS and SASL (see kafka-security.ts). */
  security?: KafkaSecurity;
}

/**
 * JVM flags of the broker: a small fixed heap (the scripts' default is 1 GiB), G1, and only the
 * C1 compiler: a test broker moves a few hundred messages a second, and C2 compiling at start-up
 * costs a core for seconds (measured: 3.0 to 3.5 s to "Kafka Server started" instead of 4.3 to 4.6 s).
 */
const BROKER_JVM = [
  '-Xms256m',
  '-Xmx512m',
  '-XX:+UseG1GC',
  '-XX:TieredStopAtLevel=1',
  '-Djava.awt.headless=true',
];
/** The storage formatter is a short-lived JVM. */
const TOOL_JVM = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Djava.awt.headless=true'];

export async function startKafka({
  libDir,
  dir,
  classArchive,
  jvmFlags = [],
  security,
}: KafkaParams): Promise<KafkaBroker> {
  const cds = classArchive ? [`-XX:SharedArchiveFile=${classArchive}`] : [];
  const kafkaDir = join(dir, 'kafka');
  mkdirSync(kafkaDir, { recursive: true });
  const ports = await freePorts(security ? 4 : 2);
  const [port, controllerPort] = ports as [number, number];
  const bootstrap = `127.0.0.1:${port}`;
  const securePorts = security ? { ssl: ports[2]!, saslSsl: ports[3]! } : undefined;
  const properties = join(kafkaDir, 'server.properties');
  writeFileSync(
    properties,
    serverProperties({
      port,
      controllerPort,
      logDir: join(kafkaDir, 'data'),
      ...(security && securePorts ? { secure: { security, ports: securePorts } } : {}),
    }),
  );
  const log4j = join(kafkaDir, 'log4j2.properties');
  writeFileSync(log4j, log4j2Properties('info'));
  const toolLog4j = join(kafkaDir, 'log4j2-tools.properties');
  writeFileSync(toolLog4j, log4j2Properties('warn'));
  const classpath = join(libDir, '*');
  // Same form as `kafka-storage.sh random-uuid`: 16 random bytes, base64url without padding.
  const clusterId = randomBytes(16).toString('base64url');

  const format = startProcess({
    name: 'kafka-storage-format',
    command: 'java',
    args: [
      ...TOOL_JVM,
      ...cds,
      `-Dlog4j2.configurationFile=${toolLog4j}`,
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      // `=` form: a base64url id may start with '-', which a separate argument would make an option.
      `--cluster-id=${clusterId}`,
      `--config=${properties}`,
      '--ignore-formatted',
      ...(security ? scramFormatArgs(security) : []),
    ],
    logFile: join(dir, 'kafka.log'),
  });
  const formatted = await format.exited;
  if (formatted.code !== 0) {
    throw new Error(
      `kafka storage format failed (${formatted.signal ?? `exit code ${formatted.code}`}); see ${join(dir, 'kafka.log')}`,
    );
  }

  const process = startProcess({
    name: 'kafka',
    command: 'java',
    args: [
      ...BROKER_JVM,
      ...cds,
      ...jvmFlags,
      `-Dlog4j2.configurationFile=${log4j}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      properties,
    ],
    logFile: join(dir, 'kafka.log'),
  });
  await waitFor('kafka broker and group coordinator', () => brokerReady(bootstrap), {
    process,
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  const secure = securePorts && {
    ssl: `127.0.0.1:${securePorts.ssl}`,
    saslSsl: `127.0.0.1:${securePorts.saslSsl}`,
  };
  return { process, bootstrap, ...(secure ? { secure } : {}), clusterId };
}

/**
 * A dynamic class-data sharing archive (JDK 13+ `-XX:ArchiveClassesAtExit`) of the classes a broker
 * loads up to "started", made once per jar set and JVM build next to the jars, by running one
 * broker in `<planeDir>/kafka-cds/` (so that orphans.ts finds it after a SIGKILL) and stopping it.
 * Brokers started with it reach "started" in about 1.9 s instead of 3.0 s (idle machine). Returns
 * undefined, after a warning, when the archive cannot be made: it only saves time.
 */
export async function ensureKafkaClassArchive(libDir: string, planeDir: string): Promise<string | undefined> {
  const java = findOnPath('java');
  if (!java) return undefined;
  const real = realpathSync(java);
  const { size, mtimeMs } = statSync(real);
  const key = createHash('sha256')
    .update(`${real}\n${size}\n${mtimeMs}\n${BROKER_JVM.join(' ')}`)
    .digest('hex')
    .slice(0, 12);
  const archive = join(dirname(libDir), `broker-cds-${key}.jsa`);
  if (existsSync(archive)) return archive;
  const training = join(planeDir, 'kafka-cds');
  const partial = `${archive}.${process.pid}.tmp`;
  const t0 = performance.now();
  try {
    rmSync(training, { recursive: true, force: true });
    mkdirSync(training, { recursive: true });
    const broker = await startKafka({
      libDir,
      dir: training,
      jvmFlags: [`-XX:ArchiveClassesAtExit=${partial}`],
    });
    await broker.process.stop(60_000); // the JVM writes the archive as it exits
    if (broker.process.exitInfo()?.signal === 'SIGKILL' || !existsSync(partial)) {
      throw new Error('the broker exited without writing the archive');
    }
    renameSync(partial, archive);
    process.stderr.write(
      `kafka: class-data sharing archive made in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${archive}\n`,
    );
    return archive;
  } catch (err) {
    process.stderr.write(
      `kafka: no class-data sharing archive (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); starting without one\n`,
    );
    return undefined;
  } finally {
    rmSync(partial, { force: true });
    rmSync(training, { recursive: true, force: true });
  }
}

/**
 * One combined node, as `config/server.properties` of the distribution, on loopback only (an empty
 * host would bind every interface) and sized for 2 cores: one partition for __consumer_offsets,
 * no initial rebalance delay, replication factor 1 everywhere.
 */
export function serverProperties(p: {
  port: number;
  controllerPort: number;
  logDir: string;
  /** SSL and SASL_SSL listeners besides PLAINTEXT. */
  secure?: { security: KafkaSecurity; ports: SecurePorts };
}): string {
  const secured = p.secure
    ? [`SSL://127.0.0.1:${p.secure.ports.ssl}`, `SASL_SSL://127.0.0.1:${p.secure.ports.saslSsl}`]
    : [];
  const lines = [
    'process.roles=broker,controller',
    'node.id=1',
    // Static quorum: storage is formatted without --standalone (mixing the two fails, KAFKA-18987).
    `controller.quorum.voters=1@127.0.0.1:${p.controllerPort}`,
    `listeners=${[`PLAINTEXT://127.0.0.1:${p.port}`, `CONTROLLER://127.0.0.1:${p.controllerPort}`, ...secured].join(',')}`,
    `advertised.listeners=${[`PLAINTEXT://127.0.0.1:${p.port}`, ...secured].join(',')}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${p.secure ? ',SSL:SSL,SASL_SSL:SASL_SSL' : ''}`,
    ...(p.secure ? securityProperties(p.secure.security) : []),
    `log.dirs=${p.logDir}`,
    'num.partitions=1',
    'num.network.threads=2',
    'num.io.threads=2',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // Tests create their topics explicitly, with the partition count they need.
    'auto.create.topics.enable=false',
  ];
  return `${lines.join('\n')}\n`;
}

/** Properties format: the YAML one would need jackson-dataformat-yaml's config factory. */
function log4j2Properties(level: 'info' | 'warn'): string {
  return [
    'status = warn',
    'appender.out.type = Console',
    'appender.out.name = OUT',
    'appender.out.layout.type = PatternLayout',
    'appender.out.layout.pattern = [%d] %p %m (%c)%n',
    `rootLogger.level = ${level}`,
    'rootLogger.appenderRef.out.ref = OUT',
    // Every config object logs all its values at INFO: hundreds of lines per start.
    'logger.config.name = org.apache.kafka.common.config.AbstractConfig',
    'logger.config.level = warn',
    '',
  ].join('\n');
}

/**
 * Ready when the cluster answers metadata requests and a group coordinator exists: describing a
 * group makes the broker create __consumer_offsets, so the first test's consumer group does not
 * wait for it.
 */
async function brokerReady(bootstrap: string): Promise<true | undefined> {
  const admin = new KafkaAdmin({
    clientId: 'testplane-readiness',
    brokers: [bootstrap],
    connectionTimeoutMs: 1_000,
    retries: 0,
  });
  try {
    const { brokers } = await admin.cluster([]);
    if (brokers.length === 0) return undefined;
    await admin.groupMembers(['testplane-readiness']);
    return true;
  } finally {
    await admin.close();
  }
}
