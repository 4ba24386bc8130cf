// Builds the CustomResourceDefinition from the schemas in schema.ts. deploy/crd.yaml is this
// object serialised; a unit test fails when the committed file is stale.
import type { V1CustomResourceDefinition, V1JSONSchemaProps } from '@kubernetes/client-node';
import { ConsumerSpec, ConsumerStatus } from './schema.js';
import { CRD_NAME, GROUP, KIND, PLURAL, VERSION } from './constants.js';

/** Plain JSON (TypeBox keeps its bookkeeping in symbol keys, which JSON drops). */
const plain = (schema: unknown): V1JSONSchemaProps => JSON.parse(JSON.stringify(schema)) as V1JSONSchemaProps;

const column = (name: string, jsonPath: string, type: string, description?: string) => ({
  name,
  jsonPath,
  type,
  ...(description ? { description } : {}),
});

export function consumerCrd(): V1CustomResourceDefinition {
  return {
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
          subresources: { status: {} },
          additionalPrinterColumns: [
            column('Expected', '.status.expected', 'integer', 'Number of instances supposed to run'),
            column('Running', '.status.running', 'integer'),
            column('Paused', '.status.paused', 'integer'),
            column('Missing', '.status.missing', 'integer'),
            column('Lagging', '.status.lagging', 'integer'),
            column('Outdated', '.status.outdated', 'integer'),
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
}
