// The operator image that `npm run image` builds (scripts/build-image.ts), run the way a kubelet
// would under the shipped manifest: unpacked by umoci (an independent reader of the OCI layout)
// and run by runc as the manifest's runAsUser/runAsGroup with a read-only root filesystem, no
// capabilities and no privilege escalation. It prints its version and help, and `run` with a
// token of the shipped ServiceAccount becomes ready and reconciles a Consumer on the test plane.
// The same sources give the same digest. Needs root (runc), as CI runs.
import { after, before, test } from '../support/timed.js';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { buildImage, type ImageBuild } from '../../scripts/build-image.js';
import { IMAGE_CMD, IMAGE_ENTRYPOINT, IMAGE_USER, IMAGE_WORKDIR } from '../../src/cli/image.js';
import { operatorManifests } from '../../src/cli/manifests.js';
import { DEFAULT_IMAGE, OPERATOR_NAME, VERSION } from '../../src/cli/version.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { freePort } from '../../src/testplane/ports.js';
import { ClusterView } from '../support/cluster.js';
import { baseSpec } from '../support/consumers.js';
import { installCrd } from '../support/crd.js';
import { finalStage } from '../support/dockerfile.js';
import { deleteTestNamespaces, kubeConfig, newNamespace, testEnv, waitFor } from '../support/env.js';
import { ConsumerClient } from '../support/operator.js';
import { runTool, runToolOk } from '../support/run.js';
import { OPERATOR_NAMESPACE, operatorServiceAccountConfig } from '../support/service-account.js';

const work = mkdtempSync(join(tmpdir(), 'konsumerator-image-test-'));
const containerId = `konsumerator-e2e-${process.pid}`;
let build: ImageBuild;
let bundle: string;
let operator: ChildProcess | undefined;

interface ImageConfig {
  config: { User: string; Entrypoint: string[]; Cmd: string[]; WorkingDir: string };
}

/** The shipped Deployment's pod and container securityContext. */
function shippedSecurity() {
  const deployment = operatorManifests({ namespace: 'x', image: DEFAULT_IMAGE }).find(
    (o) => o.kind === 'Deployment',
  ) as unknown as {
    spec: {
      template: {
        spec: {
          securityContext: { runAsUser: number; runAsGroup: number; runAsNonRoot: boolean };
          containers: Array<{
            securityContext: {
              readOnlyRootFilesystem: boolean;
              allowPrivilegeEscalation: boolean;
              capabilities: { drop: string[] };
            };
          }>;
        };
      };
    };
  };
  return {
    pod: deployment.spec.template.spec.securityContext,
    container: deployment.spec.template.spec.containers[0]!.securityContext,
  };
}

/**
 * Points the runtime bundle umoci made at `args`, with the shipped securityContext applied as a
 * kubelet would: the manifest's user and group, a read-only root, no capabilities, no new
 * privileges; the host's network (the plane listens on 127.0.0.1) and `mounts` read-only.
 */
function configureBundle(args: string[], mounts: Array<{ source: string; destination: string }> = []): void {
  const file = join(bundle, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as {
    process: Record<string, unknown> & { args: string[]; user: { uid: number; gid: number } };
    root: { readonly?: boolean };
    mounts: Array<Record<string, unknown>>;
    linux: { namespaces: Array<{ type: string }> };
  };
  const { pod, container } = shippedSecurity();
  config.process.terminal = false;
  config.process.args = [...IMAGE_ENTRYPOINT, ...args];
  config.process.user = { uid: pod.runAsUser, gid: pod.runAsGroup };
  config.process.noNewPrivileges = !container.allowPrivilegeEscalation;
  assert.deepEqual(container.capabilities.drop, ['ALL']);
  config.process.capabilities = { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] };
  config.root.readonly = container.readOnlyRootFilesystem;
  config.linux.namespaces = config.linux.namespaces.filter((n) => n.type !== 'network');
  config.mounts = [
    ...config.mounts.filter((m) => !mounts.some((x) => x.destination === m.destination)),
    ...mounts.map((m) => ({ ...m, type: 'bind', options: ['rbind', 'ro'] })),
  ];
  writeFileSync(file, JSON.stringify(config, null, 2));
}

/** Runs the image's entry point with `args` to completion; resolves with its output. */
async function runOnce(args: string[]): Promise<string> {
  configureBundle(args);
  const result = await runTool('runc', ['run', '--bundle', bundle, `${containerId}-once`]);
  assert.equal(result.code, 0, `runc run ${args.join(' ')}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

before(
  async () => {
    assert.equal(
      process.getuid?.(),
      0,
      'runc runs containers as root only: run this test as root, as CI does',
    );
    build = await buildImage({ outDir: join(work, 'out'), log: () => undefined });
    const layout = join(work, 'layout');
    mkdirSync(layout);
    await runToolOk('tar', ['-xf', build.archive, '-C', layout]);
    bundle = join(work, 'bundle');
    await runToolOk('umoci', ['unpack', '--image', `${layout}:${build.tag}`, bundle]);
  },
  { timeout: 600_000 },
);

after(async () => {
  operator?.kill('SIGKILL');
  await runTool('runc', ['delete', '--force', containerId]);
  await runTool('runc', ['delete', '--force', `${containerId}-once`]);
  await deleteTestNamespaces();
  rmSync(work, { recursive: true, force: true });
});

test("the image's config is the Dockerfile's: a numeric non-root user, the same entry point", async () => {
  assert.match(build.digest, /^sha256:[0-9a-f]{64}$/);
  const config = JSON.parse(
    await runToolOk('skopeo', ['inspect', '--config', `oci-archive:${build.archive}`]),
  ) as ImageConfig;
  const dockerfile = finalStage(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  assert.equal(config.config.User, dockerfile.user);
  assert.equal(config.config.User, `${IMAGE_USER.uid}:${IMAGE_USER.gid}`);
  assert.deepEqual(config.config.Entrypoint, dockerfile.entrypoint);
  assert.deepEqual(config.config.Cmd, dockerfile.cmd);
  assert.equal(config.config.WorkingDir, IMAGE_WORKDIR);
  assert.deepEqual(config.config.Cmd, [...IMAGE_CMD]);
  // What the kubelet checks under runAsNonRoot: the manifest's runAsUser (else the image's user)
  // is a number other than 0.
  const { pod } = shippedSecurity();
  assert.equal(pod.runAsNonRoot, true);
  assert.equal(`${pod.runAsUser}:${pod.runAsGroup}`, config.config.User);
  // The digest skopeo reads is the one printed.
  const inspected = JSON.parse(await runToolOk('skopeo', ['inspect', `oci-archive:${build.archive}`])) as {
    Digest: string;
  };
  assert.equal(inspected.Digest, build.digest);
});

test('it prints its version and help as uid 65532 on a read-only root', async () => {
  assert.equal((await runOnce(['--version'])).trim(), VERSION);
  const help = await runOnce(['run', '--help']);
  assert.match(help, /--leader-elect/);
  const manifests = await runOnce(['manifests', '--image', 'registry.example/konsumerator:1']);
  assert.match(manifests, /image: registry\.example\/konsumerator:1/);
});

test(
  '`run` with the shipped ServiceAccount becomes ready and reconciles a Consumer',
  { timeout: 300_000 },
  async () => {
    await installCrd(kubeConfig());
    const serviceAccount = await operatorServiceAccountConfig();
    // A kubeconfig the container can read: the CA inline, the ServiceAccount's token.
    const env = testEnv();
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [
        {
          name: 'plane',
          server: env.apiServerUrl,
          caData: readFileSync(env.caFile).toString('base64'),
        },
      ],
      users: [{ name: OPERATOR_NAME, token: serviceAccount.getCurrentUser()!.token! }],
      contexts: [{ name: OPERATOR_NAME, cluster: 'plane', user: OPERATOR_NAME }],
      currentContext: OPERATOR_NAME,
    });
    const secrets = join(work, 'kube');
    mkdirSync(secrets);
    const kubeconfigFile = join(secrets, 'config');
    writeFileSync(kubeconfigFile, config.exportConfig(), { mode: 0o400 });
    chownSync(kubeconfigFile, IMAGE_USER.uid, IMAGE_USER.gid);
    chmodSync(dirname(kubeconfigFile), 0o755);
    const healthPort = await freePort();
    configureBundle(
      [
        'run',
        '--kubeconfig=/var/run/konsumerator/config',
        `--health-probe-bind-address=127.0.0.1:${healthPort}`,
        '--metrics-bind-address=',
        '--leader-elect',
        `--leader-election-namespace=${OPERATOR_NAMESPACE}`,
        `--leader-election-id=${containerId}`,
      ],
      [{ source: secrets, destination: '/var/run/konsumerator' }],
    );
    let output = '';
    operator = spawn('runc', ['run', '--bundle', bundle, containerId], { stdio: ['ignore', 'pipe', 'pipe'] });
    operator.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
    operator.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
    await waitFor(
      'the containerized operator answering /readyz with 200',
      async () => {
        if (operator?.exitCode !== null) throw new Error(`the container exited: ${output.slice(-2000)}`);
        const response = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
        return response?.status === 200;
      },
      90_000,
    );

    const ns = await newNamespace('image');
    const consumers = new ConsumerClient();
    await consumers.create(
      ns,
      'orders',
      baseSpec({ namespace: ns, numPartitions: 2, numPartitionsPerInstance: 1 }),
    );
    await consumers.waitReady(ns, 'orders');
    await new ClusterView().waitAllRunning(ns, 2);
    const events = await kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns });
    assert.ok(
      events.items.some((e) => e.reason === 'Created' && e.source?.component === 'konsumerator'),
      'the operator in the container recorded its events',
    );

    // SIGTERM, as the kubelet stops a pod: it exits by itself.
    await runToolOk('runc', ['kill', containerId, 'TERM']);
    await waitFor('the container exited after SIGTERM', async () => operator?.exitCode !== null, 30_000);
    assert.equal(operator.exitCode, 0, output.slice(-2000));
  },
);

test('the same sources build the same image (digest)', { timeout: 600_000 }, async () => {
  const again = await buildImage({ outDir: join(work, 'again'), log: () => undefined });
  assert.equal(again.digest, build.digest);
  assert.deepEqual(
    again.layers.map((l) => l.digest),
    build.layers.map((l) => l.digest),
  );
});
