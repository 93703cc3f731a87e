/**
 * mysqldump dies with itop-cron (issue 16 item 10). Node cannot ask the kernel to kill a child with its
 * parent (no prctl), and mysqldump watches nothing of ours, so it is started by a small guard process:
 * the guard runs mysqldump in a process group of its own, and kills that group (SIGTERM, SIGKILL 5 s
 * later) and removes the password file's folder as soon as its stdin, a pipe from itop-cron, closes:
 * when itop-cron ends in any way, kill -9 included, or asks it to stop. A guard that is itself killed
 * leaves a folder that the next run removes (leftovers.ts).
 *
 * The guard is `node -e GUARD_SOURCE`: plain JavaScript with no import of ours, so that it starts the
 * same from src/ (tests), dist/ and the command line's bundle, wherever they are installed.
 * runMysqldump (below) is the itop-cron side. The guard's arguments: <folder to remove> <program> <args...>.
 * On fd 3 it writes JSON lines:
 * `{"pid":n}` once mysqldump runs, then `{"code":n|null,"signal":s|null,"spawnError":c?}` at the end.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DumpCommand, DumpResult } from './mysqldump.js';

export const GUARD_SOURCE = String.raw`
'use strict';
const { spawn } = require('node:child_process');
const { rmSync, writeSync } = require('node:fs');
const [dir, program, ...args] = process.argv.slice(1);
const report = (o) => { try { writeSync(3, JSON.stringify(o) + '\n'); } catch {} };
const group = process.platform !== 'win32';
const child = spawn(program, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: group });
let exited = false;
const kill = (sig) => {
  if (exited || child.pid === undefined) return;
  try { if (group) process.kill(-child.pid, sig); else child.kill(sig); } catch {}
};
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  kill('SIGTERM');
  setTimeout(() => kill('SIGKILL'), 5000).unref();
};
process.stdin.on('data', () => {});
process.stdin.on('end', stop);
process.stdin.on('error', stop);
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, stop);
if (child.pid !== undefined) report({ pid: child.pid });
child.on('error', (e) => {
  exited = true;
  report({ code: null, signal: null, spawnError: e.code || e.message });
  process.exit(1);
});
child.on('exit', (code, signal) => {
  exited = true;
  if (stopping) try { rmSync(dir, { recursive: true, force: true }); } catch {}
  report({ code, signal });
  process.exit(0);
});
`;

/** What the guard reports on fd 3 (dumpGuard.ts). */
interface GuardReport {
  pid?: number;
  code?: number | null;
  signal?: string | null;
  spawnError?: string;
}

/** Kills mysqldump's process group (it is the group's leader); ESRCH when it is gone already. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    if (process.platform === 'win32') process.kill(pid, signal);
    else process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Runs the command through the guard (dumpGuard.ts), so that mysqldump and the password file's folder
 * never outlive this process. The signal stops it (SIGTERM, then SIGKILL after 5 s). Never rejects.
 */
export function runMysqldump(cmd: DumpCommand, signal: AbortSignal): Promise<DumpResult> {
  const folder = dirname(cmd.defaultsFile);
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(process.execPath, ['-e', GUARD_SOURCE, folder, cmd.program, ...cmd.args], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    const collect = (d: Buffer): void => {
      if (output.length < 64 * 1024) output += d.toString('utf8');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.stdin?.on('error', () => undefined); // the guard gone: its close is what matters
    let report: GuardReport = {};
    let dumpPid: number | undefined;
    let pending = '';
    const status = child.stdio[3] as NodeJS.ReadableStream | null;
    status?.on('data', (d: Buffer) => {
      pending += d.toString('utf8');
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const r = JSON.parse(line) as GuardReport;
          if (typeof r.pid === 'number') {
            dumpPid = r.pid;
            // For the next run, should the guard be killed too (leftovers.ts).
            try {
              writeFileSync(join(folder, 'dump.pid'), String(r.pid), { mode: 0o600 });
            } catch {
              // the folder is already gone (stopped at once)
            }
          } else report = r;
        } catch {
          // not a report line
        }
      }
    });
    // Last resort for an exit of this process that the guard would not see in time (process.exit()).
    const onExit = (): void => {
      killGroup(dumpPid, 'SIGKILL');
      rmSync(folder, { recursive: true, force: true });
    };
    process.on('exit', onExit);
    let killer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      child.stdin?.end(); // the guard stops mysqldump (SIGTERM, SIGKILL 5 s later)
      killer = setTimeout(() => {
        child.kill('SIGKILL');
        killGroup(dumpPid, 'SIGKILL');
      }, 8000);
      killer.unref();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    let guardError: NodeJS.ErrnoException | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => (guardError = e));
    child.on('close', () => {
      process.off('exit', onExit);
      signal.removeEventListener('abort', onAbort);
      clearTimeout(killer);
      const lines = output.split(/\r?\n/).filter((l) => l.trim() !== '');
      const spawnError = guardError ?? (report.spawnError === undefined ? undefined : spawnFailure(report.spawnError, cmd.program));
      const code = spawnError === undefined && typeof report.code === 'number' ? report.code : null;
      resolve({ code, lines, ...(spawnError === undefined ? {} : { spawnError }) });
    });
  });
}

/** The error the guard could not start mysqldump with, as spawn() would have given it. */
function spawnFailure(code: string, program: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`spawn ${program} ${code}`);
  e.code = code;
  return e;
}
