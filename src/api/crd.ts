// Builds the CustomResourceDefinition from the schemas in schema.ts. deploy/crd.yaml is this
// object serialised; a unit test fails when the committed file is stale.
//
// The CRD carries a hash of its own spec in an annotation. The operator compares the installed
// CRD's annotation with the hash of the CRD it was built with: an older CRD, or the original
// operator's (which has no such annotation), makes the API server prune the fields it does not
// know (conditions, new spec fields, the pod template's labels), so the operator reports it.
import { createHash } from 'node:crypto';
import type { V1CustomResourceDefinition, V1JSONSchemaProps } from '@kubernetes/client-node';
import { ConsumerSpec, ConsumerStatus } from './schema.js';
import { CRD_NAME, CRD_SCHEMA_HASH_ANNOTATION, GROUP, KIND, PLURAL, VERSION } from './constants.js';

/** The commands that install this version's CRD (from a checkout, or from the package). */
export const CRD_APPLY_COMMAND = 'kubectl apply --server-side --force-conflicts -f deploy/crd.yaml';
export const CRD_APPLY_PIPE_COMMAND =
  'konsumerator manifests --crd-only | kubectl apply --server-side --force-conflicts -f -';

/**
 * Hash of a CRD spec: 16 hex digits of the SHA-256 of its JSON. The spec is built by code in a
 * fixed key order, so the same version always gives the same hash; any change of the schema,
 * descriptions included, gives another.
 */
export function crdSpecHash(spec: unknown): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
}

/** Plain JSON (TypeBox keeps its bookkeeping in symbol keys, which JSON drops). */
const plain = (schema: unknown): V1JSONSchemaProps => JSON.parse(JSON.stringify(schema)) as V1JSONSchemaProps;

const column = (name: string, jsonPath: string, type: string, description?: string) => ({
  name,
  jsonPath,
  type,
  ...(description ? { description } : {}),
});

/** The CRD, its metadata annotated with the hash of its spec. */
export function consumerCrd(): V1CustomResourceDefinition {
  const crd: V1CustomResourceDefinition = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: KIND.toLowerCase() },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          // kubectl scale consumer/<name> --replicas=N sets spec.replicas (pods per instance);
          // status.replicas is the count the instance Deployments were given.
          subresources: {
            status: {},
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
          },
          additionalPrinterColumns: [
            column('Expected', '.status.expected', 'integer', 'Number of instances supposed to run'),
            column('Running', '.status.running', 'integer'),
            column('Paused', '.status.paused', 'integer'),
            column('Missing', '.status.missing', 'integer'),
            column('Lagging', '.status.lagging', 'integer'),
            column('Outdated', '.status.outdated', 'integer'),
            // New columns go after the original's, so scripts that read columns by position keep working.
            column('Replicas', '.status.replicas', 'integer', 'Pods per instance; 0: stopped'),
            column('Autoscaler', '.spec.autoscaler.mode', 'string', 'Autoscaler in use'),
            column('Age', '.metadata.creationTimestamp', 'date'),
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'Consumer runs a Kafka consumer group as one Deployment per partition bucket.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: plain(ConsumerSpec),
                status: plain(ConsumerStatus),
              },
            },
          },
        },
      ],
    },
  };
  crd.metadata!.annotations = { [CRD_SCHEMA_HASH_ANNOTATION]: crdSpecHash(crd.spec) };
  return crd;
}

let expectedHash: string | undefined;

/** The schema hash of the CRD this version installs (computed once). */
export function expectedCrdHash(): string {
  expectedHash ??= crdSpecHash(consumerCrd().spec);
  return expectedHash;
}
