// The harness's process handling, with real processes: stopping a component must also stop
// whatever it forked, and a failed readiness wait must show the component's log.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { claimPlaneDir } from '../../src/testplane/orphans.js';
import { freePorts } from '../../src/testplane/ports.js';
import { liveProcesses, startProcess } from '../../src/testplane/process.js';
import { waitFor } from '../../src/testplane/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'testplane-process-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `; :` keeps sh from exec-ing sleep, so the process keeps the arguments that follow the script. */
const SLEEP_IN_SHELL = 'sleep 100; :';

/** A pid that no process has: the one of a short-lived child that already exited. */
function deadPid(): number {
  const { pid } = spawnSync('true');
  assert.ok(pid && !isAlive(pid));
  return pid;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('testplane processes', () => {
  it('stops the whole process group, including grandchildren that ignore SIGTERM', async () => {
    const logFile = join(dir, 'tree.log');
    // The grandchild ignores SIGTERM, so only the SIGKILL after the grace period ends it.
    const p = startProcess({
      name: 'tree',
      command: 'sh',
      args: ['-c', `sh -c 'trap "" TERM; echo grandchild $$; while :; do sleep 1; done' & wait`],
      logFile,
    });
    const grandchild = await waitFor(
      'grandchild pid',
      async () => {
        const m = /grandchild (\d+)/.exec(readFileSync(logFile, 'utf8'));
        return m ? Number(m[1]) : undefined;
      },
      { timeoutMs: 5_000, process: p },
    );
    assert.ok(isAlive(grandchild));

    await p.stop(300);
    await waitFor('grandchild gone', async () => (isAlive(grandchild) ? undefined : true), {
      timeoutMs: 5_000,
    });
    assert.ok(!liveProcesses().includes(p));
  });

  it('fails a wait when the process exits, quoting its log', async () => {
    const p = startProcess({
      name: 'crasher',
      command: 'sh',
      args: ['-c', 'echo "fatal: no stages found" >&2; exit 3'],
      logFile: join(dir, 'crasher.log'),
    });
    await assert.rejects(
      waitFor('crasher ready', async () => undefined, { timeoutMs: 5_000, process: p }),
      /crasher exited \(code 3\)[\s\S]*fatal: no stages found/,
    );
  });

  it('kills components a dead harness left running in a plane dir, and only those', async () => {
    const planeDir = mkdtempSync(join(dir, 'plane-'));
    const otherDir = `${planeDir}-other`; // a prefix match must not count
    const leftover = startProcess({
      name: 'leftover',
      command: 'sh',
      args: ['-c', SLEEP_IN_SHELL, 'leftover', `--data-dir=${planeDir}/etcd`],
    });
    const bystander = startProcess({
      name: 'bystander',
      command: 'sh',
      args: ['-c', SLEEP_IN_SHELL, 'bystander', `--data-dir=${otherDir}/etcd`],
    });
    writeFileSync(join(planeDir, 'harness.pid'), `${deadPid()}\n`);

    claimPlaneDir(planeDir);

    assert.equal((await leftover.exited).signal, 'SIGKILL');
    assert.equal(bystander.exitInfo(), undefined);
    assert.equal(readFileSync(join(planeDir, 'harness.pid'), 'utf8').trim(), String(process.pid));
    await bystander.stop(100);
  });

  it('hands out distinct free ports', async () => {
    const ports = await freePorts(5);
    assert.equal(new Set(ports).size, 5);
  });
});
