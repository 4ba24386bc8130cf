// Child processes of the test plane: each one runs in its own process group (detached) so that
// stopping it also stops anything it forked, and every live child sits in a registry that is
// emptied on normal exit, on SIGINT/SIGTERM/SIGHUP and on an uncaught crash, so that no
// apiserver or etcd outlives the harness (except after a SIGKILL of the harness itself).
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr are appended to this file; without it they go to our own stdout/stderr. */
  logFile?: string;
  /** Without logFile: read stdout through ManagedProcess.stdout instead of inheriting it. */
  pipeStdout?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string | undefined;
  /** Only with pipeStdout. */
  readonly stdout: Readable | null;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** Set once the process has exited. */
  exitInfo(): ExitInfo | undefined;
  /** SIGTERM to the process group, SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const DEFAULT_GRACE_MS = 10_000;
const live: ManagedProcess[] = [];
const shutdownHooks: Array<() => Promise<void>> = [];

export function startProcess(spec: ProcessSpec): ManagedProcess {
  installCleanupHandlers();
  if (shuttingDown) throw new Error(`${spec.name}: not started, shutting down`);
  const logFd = spec.logFile === undefined ? undefined : openSync(spec.logFile, 'a');
  const out = logFd ?? (spec.pipeStdout ? 'pipe' : 'inherit');
  const child = spawn(spec.command, spec.args, {
    detached: true, // own process group, so we can signal the whole tree with kill(-pid)
    stdio: ['ignore', out, logFd ?? 'inherit'],
    env: { ...process.env, ...spec.env },
    cwd: spec.cwd,
  });
  if (logFd !== undefined) closeSync(logFd); // the child holds its own copy
  if (child.pid === undefined) {
    throw new Error(`${spec.name}: failed to start ${spec.command}`);
  }
  const pid = child.pid;
  let info: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', () => undefined); // 'exit' still follows for spawned children
    child.once('exit', (code, signal) => {
      info = { code, signal };
      forget(managed);
      resolve(info);
    });
  });
  const managed: ManagedProcess = {
    name: spec.name,
    pid,
    logFile: spec.logFile,
    stdout: child.stdout,
    exited,
    exitInfo: () => info,
    stop: (graceMs = DEFAULT_GRACE_MS) => stopGroup(managed, graceMs),
  };
  live.push(managed);
  return managed;
}

/** Processes started and not yet exited, in start order. */
export function liveProcesses(): readonly ManagedProcess[] {
  return [...live];
}

/** Stops every live process, most recently started first. */
export async function stopAll(graceMs = DEFAULT_GRACE_MS): Promise<void> {
  for (const p of [...live].reverse()) await p.stop(graceMs);
}

/**
 * Runs `hook` when a termination signal arrives, before the remaining children are stopped.
 * Returns a function that unregisters it.
 */
export function onShutdown(hook: () => Promise<void>): () => void {
  shutdownHooks.push(hook);
  return () => {
    const i = shutdownHooks.indexOf(hook);
    if (i >= 0) shutdownHooks.splice(i, 1);
  };
}

async function stopGroup(p: ManagedProcess, graceMs: number): Promise<void> {
  if (p.exitInfo() !== undefined) return killGroup(p.pid, 'SIGKILL'); // leftovers of the group
  killGroup(p.pid, 'SIGTERM');
  const timer = setTimeout(() => killGroup(p.pid, 'SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
  killGroup(p.pid, 'SIGKILL'); // the leader is gone; make sure nothing it forked stays behind
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

function forget(p: ManagedProcess): void {
  const i = live.indexOf(p);
  if (i >= 0) live.splice(i, 1);
}

function killAllNow(): void {
  for (const p of live) killGroup(p.pid, 'SIGKILL');
}

let handlersInstalled = false;
let shuttingDown = false;

function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' handlers must be synchronous: no grace period is possible there.
  process.once('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void shutDownOnSignal(signal));
  }
}

async function shutDownOnSignal(signal: NodeJS.Signals): Promise<void> {
  const exitCode = 128 + (constants.signals[signal] ?? 1);
  if (shuttingDown) {
    // A second Ctrl-C: stop waiting for graceful shutdown.
    killAllNow();
    process.exit(exitCode);
  }
  shuttingDown = true;
  process.stderr.write(`\n${signal}: stopping ${live.length} child process(es)...\n`);
  for (const hook of [...shutdownHooks].reverse()) {
    await hook().catch((err: unknown) => process.stderr.write(`shutdown hook failed: ${String(err)}\n`));
  }
  await stopAll();
  process.exit(exitCode);
}
