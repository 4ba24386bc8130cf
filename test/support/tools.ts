// kubectl and helm for the e2e tests: built from Go modules by scripts/build-tool.sh and cached;
// `npm test` builds them for a run in which a selected test file imports this module (and only
// then: cold, they take minutes), and hands their paths over in env.json.
import { testEnv } from './env.js';

export function kubectlPath(): string {
  const path = testEnv().kubectlPath;
  if (!path)
    throw new Error('env.json has no kubectlPath: run this file through npm test, which builds kubectl');
  return path;
}

export function helmPath(): string {
  const path = testEnv().helmPath;
  if (!path) throw new Error('env.json has no helmPath: run this file through npm test, which builds helm');
  return path;
}
