/**
 * Leftovers of backups whose itop-cron was killed with its dump guard (kill -9 of the whole process
 * group, OOM killer): the folder holding the database password file, and maybe a mysqldump still running.
 * Removed at the start of the next run (issue 16 item 10); only those whose owner process is dead.
 */
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `itop-cron-mysqldump-<pid of the itop-cron that made it>-XXXXXX` (mkdtemp's six characters). Not
 * iTop's own `itop-mysqldump-*` (its PHP backup's, cleaned by time after a killed PHP task in
 * src/php/leftovers.ts), so that neither clean-up ever takes the other's live file.
 */
export const DUMP_DIR_PREFIX = 'itop-cron-mysqldump-';
const NAME = /^itop-cron-mysqldump-(\d+)-[A-Za-z0-9]{6}$/;

/** Whether process `pid` exists (EPERM: it does, owned by another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Kills the mysqldump recorded in `folder` if it still runs: only when /proc shows it is that very
 * mysqldump (its arguments name this folder's password file), never a process that reused the pid.
 */
function killOrphanDump(folder: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const pid = Number(readFileSync(join(folder, 'dump.pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 1) return false;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(`--defaults-extra-file=${join(folder, 'my.cnf')}`)) return false;
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** What was cleaned up: the folders removed and the orphaned mysqldump processes killed. */
export interface Leftovers {
  readonly removed: string[];
  readonly killed: number;
}

/** Removes the password folders of dead itop-cron processes in `dir` (the system temp dir by default). */
export function removeDumpLeftovers(dir = tmpdir()): Leftovers {
  const removed: string[] = [];
  let killed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { removed, killed };
  }
  for (const name of names) {
    const m = NAME.exec(name);
    if (m === null || alive(Number(m[1]))) continue;
    const folder = join(dir, name);
    // Only a real folder of ours: not a link someone planted in the shared temp dir, not another user's.
    const st = lstatSync(folder, { throwIfNoEntry: false });
    if (st === undefined || !st.isDirectory() || (process.getuid !== undefined && st.uid !== process.getuid())) continue;
    if (killOrphanDump(folder)) killed++;
    try {
      rmSync(folder, { recursive: true, force: true });
      removed.push(folder);
    } catch {
      // another user's, or removed meanwhile: left alone
    }
  }
  return { removed, killed };
}
