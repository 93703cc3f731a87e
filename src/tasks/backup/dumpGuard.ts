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
 * Its arguments: <folder to remove> <program> <args...>. On fd 3 it writes JSON lines:
 * `{"pid":n}` once mysqldump runs, then `{"code":n|null,"signal":s|null,"spawnError":c?}` at the end.
 */
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
