// The version and the defaults the command line shows in its help: a module light enough to load
// for every verb (the verbs' own modules are loaded only when they run).
import { readFileSync } from 'node:fs';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const DEFAULT_NAMESPACE = 'konsumerator-system';
export const DEFAULT_IMAGE = `konsumerator:${VERSION}`;
/** Name of the operator's ServiceAccount, ClusterRole and Deployment. */
export const OPERATOR_NAME = 'konsumerator';
/** Name of the Role and RoleBinding `konsumerator grant-secrets` prints. */
export const DEFAULT_GRANT_NAME = `${OPERATOR_NAME}-secrets`;
