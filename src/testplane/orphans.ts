// A harness killed with SIGKILL cannot stop its children, and Node has no PR_SET_PDEATHSIG. So each
// plane directory records its owner's pid, and the next harness using the directory first kills
// whatever the dead owner left running there (every component has the directory in its arguments).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const OWNER_FILE = 'harness.pid';

/** Makes this process the owner of `dir`, cleaning up after a dead previous owner. */
export function claimPlaneDir(dir: string): void {
  const previous = ownerOf(dir);
  if (previous !== undefined && previous !== process.pid && isAlive(previous)) {
    throw new Error(`${dir} is in use by a running test plane (pid ${previous})`);
  }
  if (previous !== undefined) killProcessesUsing(dir);
  writeFileSync(join(dir, OWNER_FILE), `${process.pid}\n`);
}

/** For run directories of earlier harnesses: true when the harness that owned it is gone. */
export function isAbandoned(dir: string): boolean {
  const owner = ownerOf(dir);
  return owner === undefined || !isAlive(owner);
}

/**
 * SIGKILLs the process groups of leftover components: group leaders (every component is spawned
 * detached) with `dir` in their arguments, other than this process and its ancestors (whose
 * command line may well mention the dir, e.g. `tsx cli.ts up --dir DIR`). Returns their pids.
 */
export function killProcessesUsing(dir: string): number[] {
  const ancestors = ancestorsOfSelf();
  const killed: number[] = [];
  for (const pid of allPids()) {
    if (ancestors.has(pid) || stat(pid)?.pgrp !== pid) continue;
    if (!commandLine(pid).some((arg) => mentions(arg, dir))) continue;
    try {
      process.kill(-pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // already gone
    }
  }
  return killed;
}

function ancestorsOfSelf(): Set<number> {
  const ancestors = new Set<number>();
  for (let pid: number | undefined = process.pid; pid && !ancestors.has(pid); pid = stat(pid)?.ppid) {
    ancestors.add(pid);
  }
  return ancestors;
}

/** ppid and process group from /proc/<pid>/stat (fields 4 and 5, after the parenthesised name). */
function stat(pid: number): { ppid: number; pgrp: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [, ppid, pgrp] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(ppid), pgrp: Number(pgrp) };
  } catch {
    return undefined;
  }
}

/** `--data-dir=/x/run-1/etcd` mentions /x/run-1; `/x/run-12/etcd` does not. */
function mentions(arg: string, dir: string): boolean {
  return arg === dir || arg.endsWith(`=${dir}`) || arg.includes(`${dir}/`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(dir: string): number | undefined {
  const file = join(dir, OWNER_FILE);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return []; // exited meanwhile
  }
}
