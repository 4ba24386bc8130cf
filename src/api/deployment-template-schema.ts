// OpenAPI schema of `spec.deploymentTemplate` (an apps/v1 DeploymentSpec). Kept apart from the
// Consumer schema because it is large; replaced by a schema derived from the API server's own
// OpenAPI document so that an invalid pod template is rejected at `kubectl apply`.
import type { TSchema } from '@sinclair/typebox';

export const deploymentTemplateSchema: TSchema = {
  type: 'object',
  description: 'DeploymentSpec (apps/v1) copied into every instance Deployment.',
  required: ['selector', 'template'],
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    selector: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    template: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
} as unknown as TSchema;
