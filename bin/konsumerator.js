#!/usr/bin/env node
// Entry point of the published CLI: runs the TypeScript sources through tsx's loader so that
// `npx konsumerator` works from a checkout or the npm package without a build step (the try-it
// tools demo, loadgen and simulate-group run only this way; the image runs the compiled operator).
import process from 'node:process';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`konsumerator needs Node.js 24 or later; this is ${process.version}\n`);
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
