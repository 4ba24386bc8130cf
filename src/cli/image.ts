// What the operator image is, as the manifests and the Helm chart need to know it: the numeric
// user it runs as and how it starts. The Dockerfile and the image build (scripts/build-image.ts)
// say the same; test/unit/image-user.test.ts fails when any of them drifts apart.
//
// The user is a number, not a name: under `runAsNonRoot: true` the kubelet can only verify a
// numeric user (an image whose USER is a name is refused with "image has non-numeric user").

/** The non-root user and group the operator runs as (65532: distroless's "nonroot"). */
export const IMAGE_USER = { uid: 65532, gid: 65532 } as const;

/**
 * Node flags of the image's entry point, for every verb: a young generation of at most 1 MiB per
 * semi-space (Node 24 lets each grow to 64 MiB, which a burst of writes fills with garbage that
 * stays resident) and V8's optimize-for-size mode.
 */
export const NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size'] as const;

/**
 * Node flags of the operator (`run`, as the manifests and the Helm chart start it): the image's,
 * and no optimizing tier above Maglev. TurboFan's compiles leave several MiB resident that the
 * operator's code, which allocates far more than it computes, does not win back: a 1,000-instance
 * autoscaling step and plan took the same time with and without it. The simulator's arithmetic
 * does need it (`konsumerator simulate` took about three times as long without it), so the
 * image's entry point, which every verb shares, does not cap the tiers. The control-plane
 * benchmark runs the operator with these flags and the environment below, and its checks pass
 * with them: a 1,000-instance Consumer's hand edit put back within 60 s, the wave, a template
 * change of every instance.
 */
export const OPERATOR_NODE_FLAGS = [...NODE_FLAGS, '--max-opt=2'] as const;

/**
 * Environment of the operator's process. glibc gives each thread that allocates its own malloc
 * arena; Node's worker threads (V8's, libuv's) would keep memory resident in up to eight per core.
 */
export const IMAGE_ENV = { MALLOC_ARENA_MAX: '2' } as const;

/** The working directory, entry point and default arguments of the image. */
export const IMAGE_WORKDIR = '/app';
export const IMAGE_ENTRYPOINT = ['node', ...NODE_FLAGS, 'dist/cli/main.js'] as const;
export const IMAGE_CMD = ['run'] as const;
/** The operator container's command in the manifests and the chart (its args start with `run`). */
export const OPERATOR_COMMAND = ['node', ...OPERATOR_NODE_FLAGS, 'dist/cli/main.js'] as const;

/** The pod's securityContext: the image's user, no privilege, the runtime's seccomp profile. */
export function podSecurityContext() {
  return {
    runAsNonRoot: true,
    runAsUser: IMAGE_USER.uid,
    runAsGroup: IMAGE_USER.gid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The container's securityContext: read-only root filesystem, no capabilities, no escalation. */
export function containerSecurityContext() {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  };
}
