import { readFileSync } from 'node:fs';

/** Resident set size of one process in KiB (VmRSS from /proc), or undefined if it is gone. */
export function residentKiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** "name  pid  RSS" lines for a set of named processes, with a total. */
export function memoryReport(pids: Record<string, number>): string {
  let total = 0;
  const lines = Object.entries(pids).map(([name, pid]) => {
    const kib = residentKiB(pid) ?? 0;
    total += kib;
    return `${name.padEnd(24)} pid ${String(pid).padEnd(8)} ${mib(kib)}`;
  });
  return [...lines, `${'total'.padEnd(37)} ${mib(total)}`].join('\n');
}

function mib(kib: number): string {
  return `${(kib / 1024).toFixed(0).padStart(5)} MiB`;
}
