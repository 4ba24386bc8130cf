// OpenAPI schema of `spec.deploymentTemplate`: the full apps/v1 DeploymentSpec, derived from a real
// API server's OpenAPI document by scripts/gen-deployment-schema.ts (which explains the mapping),
// so that an invalid pod template is rejected at `kubectl apply`. Kept apart from the Consumer
// schema because it is large. An e2e test fails when the JSON is stale.
import type { TSchema } from '@sinclair/typebox';
import generated from './deployment-template.schema.json' with { type: 'json' };

const derived = generated as Record<string, unknown> & { required?: string[] };

export const deploymentTemplateSchema: TSchema = {
  ...derived,
  description:
    'DeploymentSpec (apps/v1) copied into every instance Deployment; the operator then sets the ' +
    'resources and env of its containers.',
  // Required by apps/v1 itself; kept explicit because the rendering relies on both.
  required: [...new Set([...(derived.required ?? []), 'selector', 'template'])],
} as unknown as TSchema;
