import { readFileSync } from 'node:fs';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const DEFAULT_NAMESPACE = 'konsumerator-system';
export const DEFAULT_IMAGE = `konsumerator:${VERSION}`;
