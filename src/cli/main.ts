#!/usr/bin/env node
// The konsumerator command line. Each verb loads its module when it runs, so `run` loads the
// operator and nothing else (never the simulator, the test plane or the load generator).
//
// The operator and its user-facing verbs (run, manifests, grant-secrets, simulate) are what
// `npm run build` compiles into dist/ and the image ships. The try-it tools (demo, loadgen,
// simulate-group) need the test plane or the load generator: they run from the sources (the
// package's bin/konsumerator.js runs them through tsx, as `npm run demo` does) and are not part
// of the build; their modules are named at run time so that the compiler does not pull them in.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { BASELINE_NAMES } from './simulate-names.js';
import { DEFAULT_READ_LIMITS, DEFAULT_TENANT_LIMITS } from '../controller/tenant-defaults.js';
import { DEFAULT_GRANT_NAME, DEFAULT_IMAGE, DEFAULT_NAMESPACE, VERSION } from './version.js';

/** The action of a try-it tool: `exported` of the module `file` (next to this one), when it runs. */
function tool(verb: string, file: string, exported: string) {
  return async (...args: unknown[]): Promise<void> => {
    const url = new URL(file, import.meta.url);
    let module: Record<string, unknown>;
    try {
      module = (await import(url.href)) as Record<string, unknown>;
    } catch (error) {
      const missing =
        (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
        String((error as Error).message).includes(fileURLToPath(url));
      if (!missing) throw error;
      throw new Error(
        `${verb} is a try-it tool that runs from the sources, not from this build (the operator image ships ` +
          `run, manifests, grant-secrets and simulate): run \`./bin/konsumerator.js ${verb}\` in a checkout of the repository`,
      );
    }
    await (module[exported] as (...a: unknown[]) => Promise<void>)(...args);
  };
}

/** Commander's way to take a repeatable option into a list. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

// `konsumerator manifests | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command()
  // As a kubectl plugin (bin/kubectl-konsumerator.js) the help says how it is called there.
  .name(process.argv[1]?.includes('kubectl-konsumerator') ? 'kubectl konsumerator' : 'konsumerator')
  .description(
    'Runs each Kafka consumer group as one Deployment per partition bucket, sized from live metrics.',
  )
  .version(VERSION);

program
  .command('run')
  .description('run the operator against the configured cluster (kubeconfig or in-cluster)')
  .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)')
  .option('--metrics-bind-address <addr>', 'address of /metrics; empty disables', ':8080')
  .option('--health-probe-bind-address <addr>', 'address of /healthz and /readyz; empty disables', ':8081')
  .option('--workers <n>', 'Consumers reconciled in parallel', '4')
  .option('--resync <duration>', 'reconcile every Consumer at least this often', '1m')
  .option(
    '--resize-pending-timeout <duration>',
    'how long a node may defer an in-place resize (or fail to apply it) before InPlaceOrRollout rolls the instance out instead',
    '5m',
  )
  .option('--log-level <level>', 'trace, debug, info, warn or error', process.env.LOG_LEVEL ?? 'info')
  .option(
    '--leader-elect',
    'reconcile only while holding a Lease (run several replicas for high availability)',
  )
  .option(
    '--leader-election-namespace <ns>',
    'namespace of the Lease (default: the --namespace, else $POD_NAMESPACE, else konsumerator-system)',
  )
  .option(
    '--leader-election-id <name>',
    'name of the Lease (default: konsumerator-global, or konsumerator-<ns> with --namespace)',
  )
  .option(
    '--namespace <ns>',
    'guest mode: watch only this namespace, read Consumers from ConfigMaps annotated konsumerator.lwolf.org/managed (no CRD, namespaced Role only)',
  )
  .option(
    '--leader-elect-lease-duration <duration>',
    'how long others wait after the last renewal before taking the Lease over',
    '15s',
  )
  .option(
    '--leader-elect-renew-deadline <duration>',
    'the leader gives up (and exits) when it cannot renew for this long',
    '10s',
  )
  .option('--leader-elect-retry-period <duration>', 'how often to try to acquire or renew the Lease', '2s')
  .option(
    '--allow-endpoints <rules>',
    "where Consumers' metrics sources may connect, e.g. 10.0.0.0/8,prometheus.monitoring.svc:9090 (repeatable; with any, only these; see docs/security.md)",
    collect,
  )
  .option(
    '--deny-endpoints <rules>',
    "where Consumers' metrics sources may not connect, over any allow rule (repeatable; see docs/security.md)",
    collect,
  )
  .option(
    '--max-instances-per-consumer <n>',
    'a Consumer asking for more instances is reported and not reconciled',
    String(DEFAULT_TENANT_LIMITS.maxInstancesPerConsumer),
  )
  .option(
    '--max-consumers-per-namespace <n>',
    'only the oldest this many Consumers of a namespace are reconciled; the others are reported',
    String(DEFAULT_TENANT_LIMITS.maxConsumersPerNamespace),
  )
  .option(
    '--min-sync-period <duration>',
    'metrics are read at most this often per Consumer, whatever its minSyncPeriod',
    `${DEFAULT_READ_LIMITS.minSyncPeriodMs / 1000}s`,
  )
  .option(
    '--metrics-read-concurrency <n>',
    'metrics reads running at once, shared fairly among namespaces',
    String(DEFAULT_READ_LIMITS.concurrency),
  )
  .option(
    '--notify-url <url>',
    'a webhook that receives scaling events as CloudEvents (repeatable; see docs/notifications.md)',
    collect,
  )
  .option(
    '--notify-header <target=Header-Name:file>',
    'a header of the n-th --notify-url whose value is read from a file, e.g. a mounted Secret (repeatable)',
    collect,
  )
  .option('--notify-timeout <duration>', 'timeout of one webhook request', '5s')
  .option(
    '--notify-queue-size <n>',
    'events waiting per webhook target; more are dropped and counted',
    '1000',
  )
  .action(async (options: Parameters<typeof import('./run.js').runOperator>[0]) =>
    (await import('./run.js')).runOperator(options),
  );

program
  .command('manifests')
  .description(
    'print (or write to a folder) the CRD, RBAC, operator Deployment and its metrics Service; pipe to kubectl apply --server-side -f -',
  )
  .option('--namespace <ns>', 'namespace of the operator', DEFAULT_NAMESPACE)
  .option(
    '--image <image>',
    'operator image, as pushed to a registry your cluster pulls from (build: npm run image; push: skopeo copy oci-archive:<file> docker://<registry>/konsumerator:<tag>; see the README)',
    DEFAULT_IMAGE,
  )
  .option(
    '--out <dir>',
    'write crd.yaml, operator.yaml and monitoring.yaml into this folder instead of printing',
  )
  .option('--crd-only', 'print only the CRD')
  .option(
    '--monitoring',
    "print only the Prometheus Operator's ServiceMonitor and example PrometheusRule alerts (needs its CRDs)",
  )
  .option(
    '--dashboards',
    'print only the Grafana dashboards, as ConfigMaps for Grafana\'s dashboard sidecar (label grafana_dashboard: "1"); see docs/dashboards.md',
  )
  .option(
    '--guest',
    'guest mode: the operator manages only --namespace (an existing one) with a Role there; no CRD, no cluster-wide rights',
  )
  .action(
    async (options: {
      namespace: string;
      image: string;
      out?: string;
      crdOnly?: boolean;
      guest?: boolean;
      monitoring?: boolean;
      dashboards?: boolean;
    }) => {
      const { deployFiles, guestManifests, toYaml, operatorManifests } = await import('./manifests.js');
      const { consumerCrd } = await import('../api/crd.js');
      if (options.monitoring) {
        if (options.out || options.crdOnly) throw new Error('--monitoring prints to stdout only');
        const { monitoringManifests } = await import('./monitoring.js');
        process.stdout.write(toYaml(monitoringManifests(options.namespace)));
        return;
      }
      if (options.dashboards) {
        if (options.out || options.crdOnly) throw new Error('--dashboards prints to stdout only');
        const { dashboardConfigMaps } = await import('./dashboards.js');
        process.stdout.write(toYaml(dashboardConfigMaps(options.namespace)));
        return;
      }
      if (options.guest) {
        if (options.out || options.crdOnly) throw new Error('--guest prints to stdout and has no CRD');
        process.stdout.write(toYaml(guestManifests(options)));
        return;
      }
      if (options.out) {
        mkdirSync(options.out, { recursive: true });
        for (const [file, content] of Object.entries(deployFiles(options)))
          writeFileSync(join(options.out, file), content);
        return;
      }
      const objects = options.crdOnly ? [consumerCrd()] : [consumerCrd(), ...operatorManifests(options)];
      process.stdout.write(toYaml(objects));
    },
  );

program
  .command('grant-secrets')
  .description(
    'print a Role and RoleBinding that let the operator get exactly these Secrets of a namespace (pipe to kubectl apply -f -)',
  )
  .requiredOption('--namespace <ns>', "namespace of the Secrets (the Consumers' namespace)")
  .requiredOption('--secret <name>', 'a Secret the operator may get; repeat for several', collect)
  .option('--operator-namespace <ns>', "namespace of the operator's ServiceAccount", DEFAULT_NAMESPACE)
  .option('--service-account <name>', "the operator's ServiceAccount", 'konsumerator')
  .option('--name <name>', 'name of the Role and RoleBinding', DEFAULT_GRANT_NAME)
  .action(
    async (options: {
      namespace: string;
      secret: string[];
      operatorNamespace: string;
      serviceAccount: string;
      name: string;
    }) => {
      const { grantSecretsYaml } = await import('./grant-secrets.js');
      process.stdout.write(
        grantSecretsYaml({
          namespace: options.namespace,
          secrets: options.secret,
          operatorNamespace: options.operatorNamespace,
          serviceAccount: options.serviceAccount,
          name: options.name,
        }),
      );
    },
  );

program
  .command('demo')
  .description(
    'run the operator live on a sample Consumer, on a local control plane (or, with --cluster, in a namespace of its own of your cluster)',
  )
  .option(
    '--cluster',
    'use the configured cluster ($KUBECONFIG, ~/.kube/config) instead of a local control plane: only in --namespace, created by the demo, with a namespace-scoped operator and no CRD',
  )
  .option('--kubeconfig <path>', 'use the cluster of this kubeconfig (as --cluster)')
  .addOption(new Option('--local', 'start a local control plane (the default)').hideHelp())
  .option('--no-kafka', 'local control plane without a Kafka broker: static metrics instead of a live load')
  .option('--kafka-bootstrap <host:port>', 'with --cluster: a Kafka broker for the live load')
  .option(
    '--topic <topic>',
    'with --cluster and --kafka-bootstrap: the topic the demo creates (it must not exist)',
  )
  .option('--namespace <ns>', 'namespace of the demo Consumer', 'konsumerator-demo')
  .option('--duration <duration>', 'stop after this long (default: until Ctrl-C)')
  .option('--log-level <level>', 'operator log level', 'warn')
  .action(tool('demo', 'demo.js', 'runDemo'));

program
  .command('loadgen')
  .description('produce a skewed, time-varying load into a new Kafka topic (bounded in time)')
  .requiredOption('--brokers <list>', 'bootstrap brokers, host:port[,host:port]')
  .requiredOption('--topic <topic>', 'topic to create and produce to (an existing one only with --force)')
  .requiredOption('--rates <list>', 'messages per second of each partition, e.g. 500,20,20,20')
  .option('--duration <duration>', 'how long to produce', '10m')
  .option('--force', 'write to the topic even if it exists (its consumers will read the test messages)')
  .addOption(new Option('--create-topic', 'create the topic when missing (the default)').hideHelp())
  .option('--sine-amplitude <n>', 'vary each rate by this share (0.5: 50%..150%)')
  .option('--sine-period <duration>', 'period of the variation', '10m')
  .option('--max-messages <n>', 'stop after this many messages')
  .action(tool('loadgen', 'loadgen.js', 'runLoadgen'));

program
  .command('simulate-group')
  .description(
    "move a consumer group forward as if a Consumer's Deployments consumed at ratePerCore × their CPU request: it commits offsets without reading messages, so use a test group only",
  )
  .requiredOption('--brokers <list>', 'bootstrap brokers, host:port[,host:port]')
  .requiredOption('--topic <topic>', 'topic')
  .requiredOption('--group <id>', 'consumer group id (one without committed offsets, unless --force)')
  .requiredOption('--namespace <ns>', "namespace of the Consumer's Deployments")
  .requiredOption('--rate-per-core <n>', 'messages per second one core consumes')
  .option('--duration <duration>', 'how long to run', '10m')
  .option(
    '--force',
    'use the group even if it has committed offsets (its real consumers would skip the messages it passes)',
  )
  .option(
    '--subscribe',
    'every ready pod joins the group and consumes the partitions Kafka assigns it (a Consumer with assignment Balanced)',
  )
  .option('--kubeconfig <path>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
  .action(tool('simulate-group', 'loadgen.js', 'runSimulatedGroup'));

program
  .command('simulate')
  .description(
    "replay per-partition traffic (CSV) against a Consumer's autoscaling settings and print cost, lag and restarts",
  )
  .requiredOption('--consumer <file>', 'the Consumer (YAML: the object or its spec)')
  .requiredOption(
    '--traffic <file>',
    'CSV: header time,0,1,…; rows of seconds (or ISO time) and msg/s per partition',
  )
  .option(
    '--compare <list>',
    `also run these policies (${BASELINE_NAMES.join(', ')}; or none)`,
    'oracle,original,static',
  )
  .option(
    '--series <file>',
    'write the per-minute time series (CPU, memory, worst lag) of every policy as CSV',
  )
  .option('--series-per-partition', 'with --series: one row per policy, minute and partition')
  .option('--plot <file.svg>', "write the benchmark report's charts (CPU, lag, cost vs lag) for this traffic")
  .option('--seed <n>', 'seed of the throughput noise (an integer ≥ 0)', '1')
  .option('--true-rate-per-core <n>', "what a core really processes, if not the Consumer's ratePerCore")
  .action(async (options: Parameters<typeof import('./simulate.js').runSimulate>[0]) =>
    (await import('./simulate.js')).runSimulate(options),
  );

program
  .command('export-traffic')
  .description(
    "write a topic's production rate per partition over a past period, from Prometheus, as the CSV `simulate --traffic` reads",
  )
  .requiredOption('--prometheus <url>', 'Prometheus base URL, e.g. http://prometheus:9090')
  .option(
    '--topic <topic>',
    "the topic: the query is kafka_exporter's rate of kafka_topic_partition_current_offset",
  )
  .option('--query <promql>', 'any query with one series of msg/s per partition (instead of --topic)')
  .option('--partition-label <label>', 'label of the series that holds the partition number', 'partition')
  .option('--since <duration>', 'how far back (Go duration: 168h is a week)', '168h')
  .option('--until <time>', 'end (ISO-8601; default now)')
  .option('--step <duration>', 'one row per step', '1m')
  .option('--rate-window <duration>', 'range of rate() with --topic (default the larger of 2m and two steps)')
  .option('--partitions <n>', 'number of partition columns (default: the highest partition found + 1)')
  .option(
    '--header <name: value>',
    'an extra request header, e.g. "X-Scope-OrgID: team-a"; repeat for several',
    (value: string, previous: string[] = []) => [...previous, value],
  )
  .option('--bearer-token-file <file>', 'send the token in this file as Authorization: Bearer')
  .option('--out <file>', 'write the CSV here instead of stdout')
  .action(async (options: Parameters<typeof import('./export-traffic.js').runExportTraffic>[0]) =>
    (await import('./export-traffic.js')).runExportTraffic(options),
  );

/** The options every operations verb takes: which cluster and namespace. */
function target(command: Command): Command {
  return command
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)')
    .option(
      '-n, --namespace <ns>',
      "the Consumers' namespace (default: the kubeconfig context's, else default)",
    );
}

target(
  program
    .command('status')
    .argument('[consumer]', 'a Consumer (default: every Consumer of the namespace)')
    .description(
      'one row per instance: partitions, CPU/memory now, lag per partition (time/messages), rates in and out, scaling state, last change and its reason, pods, uptime and restarts',
    )
    .option('-o, --output <format>', 'json or yaml instead of the table')
    .option('-w, --watch', 'print again whenever something changes (Ctrl-C stops)')
    .option('--interval <seconds>', 'with --watch: how often to look', '2'),
).action(async (name: string | undefined, options: Parameters<typeof import('./ops.js').runStatus>[1]) =>
  (await import('./ops.js')).runStatus(name, options),
);

for (const [verb, pause] of [
  ['pause', true],
  ['resume', false],
] as const) {
  target(
    program
      .command(verb)
      .argument('<consumer>', 'the Consumer')
      .description(
        pause
          ? 'stop resizing a Consumer (or one instance): the disable-autoscaler annotation; the pods keep running at their size'
          : 'resize a paused Consumer (or instance) from its metrics again',
      )
      .option('--instance <n>', 'only this instance (its Deployment gets the annotation)'),
  ).action(async (name: string, options: Parameters<typeof import('./ops.js').runPause>[2]) =>
    (await import('./ops.js')).runPause(pause, name, options),
  );
}

for (const [verb, start] of [
  ['stop', false],
  ['start', true],
] as const) {
  const command = target(
    program
      .command(verb)
      .argument('<consumer>', 'the Consumer')
      .description(
        start
          ? 'start a stopped Consumer: the scale subresource back to the template replicas (or --replicas)'
          : 'stop every instance: the scale subresource to 0 (Deployments and sizes are kept)',
      ),
  );
  if (start) command.option('--replicas <n>', 'pods per instance (default: the template replicas, else 1)');
  command.action(async (name: string, options: Parameters<typeof import('./ops.js').runStopStart>[2]) =>
    (await import('./ops.js')).runStopStart(start, name, options),
  );
}

target(
  program
    .command('explain')
    .argument('<consumer>', 'the Consumer')
    .description(
      "why each instance is the size it is: the last read's metrics, the predictor's figure, the policy and budget clamps, the state and when the next change can happen, computed by the operator's own decision code",
    )
    .option('--instance <n>', 'only this instance')
    .option('-o, --output <format>', 'json or yaml instead of the text'),
).action(async (name: string, options: Parameters<typeof import('./ops.js').runExplain>[1]) =>
  (await import('./ops.js')).runExplain(name, options),
);

program.parseAsync().catch(async (error: unknown) => {
  const { describeApiError } = await import('../controller/kube.js');
  const { code, message } = describeApiError(error);
  process.stderr.write(`konsumerator: ${code ? `API server answered ${code}: ` : ''}${message}\n`);
  process.exit(1);
});
