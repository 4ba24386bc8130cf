import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import type { ManagedProcess } from './process.js';

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Fail fast if this process exits, and show the tail of its log on any failure. */
  process?: ManagedProcess;
}

/**
 * Polls `probe` until it returns something other than undefined. Errors thrown by the probe count
 * as "not yet" (a server that is still starting refuses connections); the last one is reported.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 90_000, intervalMs = 250, process: watched }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const exit = watched?.exitInfo();
    if (watched && exit) {
      const how = exit.signal ?? `code ${exit.code}`;
      throw new Error(`${what}: ${watched.name} exited (${how})${logTailSection(watched)}`);
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const last = lastError === undefined ? '' : `; last error: ${describe(lastError)}`;
      throw new Error(`${what}: not ready after ${timeoutMs} ms${last}${logTailSection(watched)}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last `lines` lines of a (possibly large) log file; reads at most the last 64 KiB. */
export function logTail(file: string, lines = 40): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer
      .toString('utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch (err) {
    return `(cannot read ${file}: ${describe(err)})`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function logTailSection(p: ManagedProcess | undefined): string {
  if (!p?.logFile) return '';
  return `\n--- last lines of ${p.logFile} ---\n${logTail(p.logFile)}\n--- end of ${p.name} log ---`;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${code === undefined ? '' : `${String(code)} `}${err.message}${cause}`;
  }
  return String(err);
}
