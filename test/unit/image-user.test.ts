// The image and the manifests that run it agree: the Dockerfile's numeric USER is the pod's
// runAsUser/runAsGroup (under runAsNonRoot the kubelet refuses a user given by name), and the
// securityContext is the locked-down one, in the generated manifests, guest mode's and the Helm
// chart's defaults. (The chart's rendered Deployment is compared with the manifests by
// test/e2e/helm-chart.test.ts; the OCI image's own config by test/e2e/image.test.ts.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments, parse } from 'yaml';
import {
  IMAGE_CMD,
  IMAGE_ENTRYPOINT,
  IMAGE_ENV,
  IMAGE_USER,
  IMAGE_WORKDIR,
  NODE_FLAGS,
  OPERATOR_COMMAND,
} from '../../src/cli/image.js';
import { guestManifests } from '../../src/cli/manifests.js';
import { REPO_ROOT } from '../../src/testplane/binaries.js';
import { finalStage } from '../support/dockerfile.js';

type Deployment = {
  kind: string;
  spec: {
    template: {
      spec: {
        securityContext: Record<string, unknown>;
        containers: Array<{ securityContext: Record<string, unknown>; command?: string[]; args?: string[] }>;
      };
    };
  };
};

const dockerfile = finalStage(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));

function checkDeployment(deployment: Deployment, where: string): void {
  const pod = deployment.spec.template.spec.securityContext;
  assert.equal(pod.runAsNonRoot, true, `${where}: runAsNonRoot`);
  assert.equal(
    `${String(pod.runAsUser)}:${String(pod.runAsGroup)}`,
    dockerfile.user,
    `${where}: runAsUser:runAsGroup is the Dockerfile's USER`,
  );
  assert.deepEqual(pod.seccompProfile, { type: 'RuntimeDefault' }, `${where}: seccompProfile`);
  for (const container of deployment.spec.template.spec.containers) {
    assert.deepEqual(
      container.securityContext,
      { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      `${where}: the container's securityContext`,
    );
  }
}

describe('the image and the manifests agree on the user', () => {
  it("the Dockerfile's final stage runs as a numeric non-root user and group", () => {
    assert.match(dockerfile.user ?? '', /^[1-9][0-9]*:[1-9][0-9]*$/, `USER ${dockerfile.user}`);
    assert.equal(dockerfile.user, `${IMAGE_USER.uid}:${IMAGE_USER.gid}`);
  });

  it('the Dockerfile starts the operator as src/cli/image.ts says (the OCI build uses those)', () => {
    assert.equal(dockerfile.workdir, IMAGE_WORKDIR);
    assert.deepEqual(dockerfile.entrypoint, IMAGE_ENTRYPOINT);
    assert.deepEqual(dockerfile.cmd, IMAGE_CMD);
    assert.deepEqual(dockerfile.env, IMAGE_ENV);
  });

  it("deploy/operator.yaml's Deployment runs as that user, locked down", () => {
    const objects = parseAllDocuments(readFileSync(join(REPO_ROOT, 'deploy', 'operator.yaml'), 'utf8')).map(
      (d) => d.toJS() as Deployment,
    );
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    assert.equal(deployments.length, 1);
    checkDeployment(deployments[0]!, 'deploy/operator.yaml');
  });

  it("the operator's container runs the image's entry point with the operator's extra Node flags", () => {
    const [node, ...rest] = IMAGE_ENTRYPOINT;
    const script = rest.at(-1);
    assert.deepEqual(OPERATOR_COMMAND.slice(0, 1 + NODE_FLAGS.length), [node, ...NODE_FLAGS]);
    assert.equal(OPERATOR_COMMAND.at(-1), script, 'the same script');
    assert.ok(OPERATOR_COMMAND.includes('--max-opt=2'), OPERATOR_COMMAND.join(' '));
    const objects = parseAllDocuments(readFileSync(join(REPO_ROOT, 'deploy', 'operator.yaml'), 'utf8')).map(
      (d) => d.toJS() as Deployment,
    );
    const guest = guestManifests({ namespace: 'team-a', image: 'x' }) as unknown as Deployment[];
    for (const [where, list] of [
      ['deploy/operator.yaml', objects],
      ['manifests --guest', guest],
    ] as const) {
      const container = list.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0]!;
      assert.deepEqual(container.command, [...OPERATOR_COMMAND], `${where}: command`);
      assert.equal(container.args?.[0], IMAGE_CMD[0], `${where}: args start with the verb`);
    }
  });

  it("guest mode's Deployment too", () => {
    const deployment = guestManifests({ namespace: 'team-a', image: 'x' }).find(
      (o) => o.kind === 'Deployment',
    ) as unknown as Deployment;
    checkDeployment(deployment, 'manifests --guest');
  });

  it("the Helm chart's default values too", () => {
    const values = parse(
      readFileSync(join(REPO_ROOT, 'deploy', 'helm', 'konsumerator', 'values.yaml'), 'utf8'),
    ) as { podSecurityContext: Record<string, unknown>; securityContext: Record<string, unknown> };
    checkDeployment(
      {
        kind: 'Deployment',
        spec: {
          template: {
            spec: {
              securityContext: values.podSecurityContext,
              containers: [{ securityContext: values.securityContext }],
            },
          },
        },
      },
      'deploy/helm/konsumerator/values.yaml',
    );
  });

  it('a Dockerfile with a named user fails the check', () => {
    const named = finalStage('FROM a AS b\nUSER 1\nFROM node:24-slim\nUSER node\n');
    assert.equal(named.user, 'node');
    assert.doesNotMatch(named.user ?? '', /^[1-9][0-9]*:[1-9][0-9]*$/);
  });
});
