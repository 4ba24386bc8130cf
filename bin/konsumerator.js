#!/usr/bin/env node
// Entry point of the published CLI: runs the TypeScript sources through tsx's loader so that
// `npx konsumerator` works from a checkout without a separate build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
