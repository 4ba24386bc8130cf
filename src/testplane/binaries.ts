import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { startProcess } from './process.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-testplane.sh', import.meta.url));

/**
 * Builds (or finds in the cache) testplane, kwok and kwok-stages.yaml, and returns the bin dir.
 * The build script's progress goes to our stderr; its last stdout line is the bin dir.
 */
export async function ensureBinaries(): Promise<string> {
  const build = startProcess({
    name: 'build-testplane',
    command: 'bash',
    args: [BUILD_SCRIPT],
    pipeStdout: true,
  });
  // 'exit' can come before the last stdout chunk: wait for both.
  const [exit, stdout] = await Promise.all([build.exited, readAll(build.stdout)]);
  if (exit.code !== 0) {
    throw new Error(
      `${BUILD_SCRIPT} failed (${exit.signal ?? `exit code ${exit.code}`}); see its output above`,
    );
  }
  const binDir = stdout.trim().split('\n').at(-1);
  if (!binDir) throw new Error(`${BUILD_SCRIPT} printed no bin directory`);
  return binDir;
}

async function readAll(stream: Readable | null): Promise<string> {
  let text = '';
  if (stream) for await (const chunk of stream.setEncoding('utf8')) text += chunk as string;
  return text;
}
