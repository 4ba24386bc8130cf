#!/usr/bin/env node
// The kubectl plugin: `kubectl konsumerator <verb>` runs this file (kubectl finds executables named
// kubectl-<name> on the PATH), which is the konsumerator CLI itself.
import process from 'node:process';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`kubectl-konsumerator needs Node.js 24 or later; this is ${process.version}\n`);
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
