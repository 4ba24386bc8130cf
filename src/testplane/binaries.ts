import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { startProcess } from './process.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-testplane.sh', import.meta.url));
const KAFKA_SCRIPT = fileURLToPath(new URL('../../scripts/build-kafka.sh', import.meta.url));
const TOOL_SCRIPT = fileURLToPath(new URL('../../scripts/build-tool.sh', import.meta.url));

/** Command-line tools built from Go modules and cached like the plane (scripts/build-tool.sh). */
export type Tool = 'kubectl' | 'helm';
const OLDEST_APISERVER_SCRIPT = fileURLToPath(
  new URL('../../scripts/build-oldest-apiserver.sh', import.meta.url),
);

/**
 * Builds (or finds in the cache) testplane, kwok and kwok-stages.yaml, and returns the bin dir.
 * The build script's progress goes to our stderr; its last stdout line is the bin dir.
 */
export function ensureBinaries(): Promise<string> {
  return runCacheScript('build-testplane', BUILD_SCRIPT);
}

/**
 * Copies (or finds in the cache) the Kafka broker's runtime jars from Maven Central and returns
 * their directory, for `java -cp '<dir>/*'`.
 */
export function ensureKafkaRuntime(): Promise<string> {
  return runCacheScript('build-kafka', KAFKA_SCRIPT);
}

/**
 * Builds (or finds in the cache) kubectl or helm and returns the binary's path. Several callers at
 * once wait for one build (the script holds a lock).
 */
export function ensureTool(tool: Tool): Promise<string> {
  return runCacheScript(`build-${tool}`, TOOL_SCRIPT, [tool]);
}

/**
 * Builds (or finds in the cache) the oldest kube-apiserver konsumerator supports and returns the
 * directory that holds it (as `kube-apiserver`). A separate build from the test plane's.
 */
export async function ensureOldestApiServer(): Promise<string> {
  const binary = await runCacheScript('build-oldest-apiserver', OLDEST_APISERVER_SCRIPT);
  return dirname(binary);
}

async function runCacheScript(name: string, script: string, args: string[] = []): Promise<string> {
  const build = startProcess({ name, command: 'bash', args: [script, ...args], pipeStdout: true });
  // 'exit' can come before the last stdout chunk: wait for both.
  const [exit, stdout] = await Promise.all([build.exited, readAll(build.stdout)]);
  if (exit.code !== 0) {
    throw new Error(`${script} failed (${exit.signal ?? `exit code ${exit.code}`}); see its output above`);
  }
  const dir = stdout.trim().split('\n').at(-1);
  if (!dir) throw new Error(`${script} printed no directory`);
  return dir;
}

async function readAll(stream: Readable | null): Promise<string> {
  let text = '';
  if (stream) for await (const chunk of stream.setEncoding('utf8')) text += chunk as string;
  return text;
}

/** The first `command` on PATH, or undefined. */
export function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}
