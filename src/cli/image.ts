// What the operator image is, as the manifests and the Helm chart need to know it: the numeric
// user it runs as and how it starts. The Dockerfile and the image build (scripts/build-image.ts)
// say the same; test/unit/image-user.test.ts fails when any of them drifts apart.
//
// The user is a number, not a name: under `runAsNonRoot: true` the kubelet can only verify a
// numeric user (an image whose USER is a name is refused with "image has non-numeric user").

/** The non-root user and group the operator runs as (65532: distroless's "nonroot"). */
export const IMAGE_USER = { uid: 65532, gid: 65532 } as const;

/**
 * Node flags of the operator. A young generation of at most 4 MiB per semi-space (Node 24 lets
 * each grow to 64 MiB, also under the charts' --max-old-space-size) keeps a burst of writes from
 * raising the resident memory by a hundred MiB or more; the control-plane benchmark runs the
 * operator with these flags, and its hand-edit check (a 1,000-instance Consumer's Deployment put
 * back within 60 s) passes with them.
 */
export const NODE_FLAGS = ['--max-semi-space-size=4'] as const;

/** The working directory, entry point and default arguments of the image. */
export const IMAGE_WORKDIR = '/app';
export const IMAGE_ENTRYPOINT = ['node', ...NODE_FLAGS, 'dist/cli/main.js'] as const;
export const IMAGE_CMD = ['run'] as const;

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
