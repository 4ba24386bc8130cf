// The kafka_exporter stand-in as a process, with upstream's flag names (those that apply):
//   node --import tsx src/testplane/kafka-exporter-main.ts --kafka.server=127.0.0.1:9092 \
//     --web.listen-address=127.0.0.1:9308 [--web.telemetry-path=/metrics] [--refresh.metadata=30s]
//     [--topic.filter=RE] [--topic.exclude=RE] [--group.filter=RE] [--group.exclude=RE]
//     [--kafka.version=V]   (accepted and ignored: the client negotiates versions with ApiVersions)
//     [--testplane.dir=DIR] (ignored: marks the process as part of a test plane, see orphans.ts)
import { parseArgs } from 'node:util';
import { serveKafkaExporter } from './kafka-exporter.js';

function durationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!match) throw new Error(`invalid duration ${JSON.stringify(text)}: use e.g. 5s, 500ms, 1m`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'kafka.server': { type: 'string', multiple: true, default: ['kafka:9092'] },
      'kafka.version': { type: 'string' },
      'testplane.dir': { type: 'string' },
      'web.listen-address': { type: 'string', default: ':9308' },
      'web.telemetry-path': { type: 'string', default: '/metrics' },
      'refresh.metadata': { type: 'string', default: '30s' },
      'topic.filter': { type: 'string', default: '.*' },
      'topic.exclude': { type: 'string', default: '^$' },
      'group.filter': { type: 'string', default: '.*' },
      'group.exclude': { type: 'string', default: '^$' },
    },
  });
  const server = await serveKafkaExporter({
    brokers: values['kafka.server'],
    listenAddress: values['web.listen-address'],
    telemetryPath: values['web.telemetry-path'],
    metadataRefreshMs: durationMs(values['refresh.metadata']),
    topicFilter: new RegExp(values['topic.filter']),
    topicExclude: new RegExp(values['topic.exclude']),
    groupFilter: new RegExp(values['group.filter']),
    groupExclude: new RegExp(values['group.exclude']),
  });
  console.error(
    `kafka_exporter stand-in listening on ${server.url}, brokers ${values['kafka.server'].join(',')}`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  // Upstream exits when the cluster is unreachable at start ("Error Init Kafka Client").
  console.error(`kafka_exporter: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
