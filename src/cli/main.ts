#!/usr/bin/env node
// The konsumerator command line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { deployFiles, toYaml, operatorManifests } from './manifests.js';
import { consumerCrd } from '../api/crd.js';
import { runOperator } from './run.js';
import { DEFAULT_IMAGE, DEFAULT_NAMESPACE, VERSION } from './version.js';

const program = new Command()
  .name('konsumerator')
  .description('Runs each Kafka consumer group as one Deployment per partition bucket, sized from live metrics.')
  .version(VERSION);

program
  .command('run')
  .description('run the operator against the configured cluster (kubeconfig or in-cluster)')
  .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)')
  .option('--metrics-bind-address <addr>', 'address of /metrics; empty disables', ':8080')
  .option('--health-probe-bind-address <addr>', 'address of /healthz and /readyz; empty disables', ':8081')
  .option('--workers <n>', 'Consumers reconciled in parallel', '4')
  .option('--resync <duration>', 'reconcile every Consumer at least this often', '1m')
  .option('--log-level <level>', 'trace, debug, info, warn or error', process.env.LOG_LEVEL ?? 'info')
  .action(runOperator);

program
  .command('manifests')
  .description('print (or write to a folder) the CRD, RBAC and operator Deployment')
  .option('--namespace <ns>', 'namespace of the operator', DEFAULT_NAMESPACE)
  .option('--image <image>', 'operator image', DEFAULT_IMAGE)
  .option('--out <dir>', 'write crd.yaml and operator.yaml into this folder instead of printing')
  .option('--crd-only', 'print only the CRD')
  .action((options: { namespace: string; image: string; out?: string; crdOnly?: boolean }) => {
    if (options.out) {
      mkdirSync(options.out, { recursive: true });
      for (const [file, content] of Object.entries(deployFiles(options))) writeFileSync(join(options.out, file), content);
      return;
    }
    const objects = options.crdOnly ? [consumerCrd()] : [consumerCrd(), ...operatorManifests(options)];
    process.stdout.write(toYaml(objects));
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`konsumerator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
