// The Kafka client section of the benchmark report, in Markdown.
import type { ClientFigures, KafkaClientResults } from './kafka-client.js';

const f0 = (x: number) => x.toFixed(0);
const f1 = (x: number) => x.toFixed(1);

export function renderKafkaClientSection(r: KafkaClientResults): string {
  const [baseline, candidate] = r.clients;
  if (!baseline || !candidate) return 'No Kafka client results.\n';
  const ratio = (f: (c: ClientFigures) => number) => {
    const r = f(candidate) / f(baseline);
    return `${r < 0.1 ? r.toFixed(3) : r < 10 ? f1(r) : f0(r)}×`;
  };
  const row = (what: string, f: (c: ClientFigures) => string, ratioOf?: (c: ClientFigures) => number) =>
    `| ${what} | ${f(baseline)} | ${f(candidate)} | ${ratioOf ? ratio(ratioOf) : '—'} |`;
  const lines = [
    `kafkajs ${baseline.version} (what konsumerator used) against @platformatic/kafka ${candidate.version} (through`,
    '`src/kafka/client.ts`), on one real Kafka ' +
      `${r.kafkaVersion} broker, Node ${r.node}. A read is what \`mode: kafka\` does every cycle: the log-start`,
    `and log-end offsets of all ${r.partitions} partitions of a topic and a group's committed offsets, on one`,
    `reused connection. ${r.repetitions} fresh processes per client (the clients alternate), each with a first read`,
    `and then ${r.reads} timed reads; figures are medians over the processes, ratios are @platformatic/kafka / kafkajs.`,
    `Memory is that of the measured process, compiled as the image runs code (no tsx); a process that imports no`,
    `client uses ${f0(r.baseline.rssMiB)} MiB resident (${f1(r.baseline.heapUsedMiB)} MiB heap) and ${f1(r.baseline.idleCpuMsPerSecond)} ms of CPU per second idle.`,
    '',
    '| measurement | kafkajs | @platformatic/kafka | ratio |',
    '|---|---|---|---|',
    row('offsets equal to what the setup wrote (every process)', (c) =>
      c.correct ? 'yes' : `no (${c.mismatches} differ)`,
    ),
    `| both clients read the same offsets | ${r.clientsAgree ? 'yes' : 'no'} | | |`,
    row(
      'first read, new connection',
      (c) => `${f0(c.firstReadMs)} ms`,
      (c) => c.firstReadMs,
    ),
    row(
      `read of ${r.partitions} partitions on the open connection (median; range of the process medians)`,
      (c) => `${f1(c.readMs)} ms (${f1(c.readMsMin)}–${f1(c.readMsMax)})`,
      (c) => c.readMs,
    ),
    row(
      'resident memory added by importing the client',
      (c) => `${f1(c.importRssMiB)} MiB`,
      (c) => c.importRssMiB,
    ),
    row(
      'V8 heap added by importing the client',
      (c) => `${f1(c.importHeapMiB)} MiB`,
      (c) => c.importHeapMiB,
    ),
    row(
      `resident memory after the ${r.reads + 1} reads`,
      (c) => `${f0(c.rssAfterReadsMiB)} MiB`,
      (c) => c.rssAfterReadsMiB,
    ),
    row(
      `V8 heap after the ${r.reads + 1} reads`,
      (c) => `${f1(c.heapAfterReadsMiB)} MiB`,
      (c) => c.heapAfterReadsMiB,
    ),
    row(
      'CPU while idle, 1 open connection',
      (c) => `${f1(c.idleCpuMsPerSecond)} ms/s`,
      (c) => c.idleCpuMsPerSecond,
    ),
    row(
      'CPU while idle, 10 open connections',
      (c) => `${f1(c.idleCpuMsPerSecond10)} ms/s`,
      (c) => c.idleCpuMsPerSecond10,
    ),
    '',
    'Features, checked against the same broker (its SSL listener requires a client certificate; its SASL_SSL',
    'listener takes PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512):',
    '',
    '| feature | kafkajs | @platformatic/kafka |',
    '|---|---|---|',
    ...r.features.map((f) => {
      const cell = (c: string) => {
        const o = f.results[c as keyof typeof f.results];
        if (!o) return '—';
        const detail = o.detail ? `: ${o.detail.replace(/\|/g, '\\|').replace(/\n/g, ' ')}` : '';
        return `${o.outcome}${detail}`;
      };
      return `| ${f.feature} | ${cell('kafkajs')} | ${cell('@platformatic/kafka')} |`;
    }),
    '',
  ];
  return lines.join('\n');
}
