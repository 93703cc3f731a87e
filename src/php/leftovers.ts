/**
 * What a killed PHP task leaves behind. iTop's backup (run by PHP when `BackupExec` is forced to PHP, or
 * by an extension) writes `data/tmp-backup-<n>/` (a copy of the configuration and a full dump) and a
 * MySQL credentials file `itop-mysqldump-*` in the system temporary directory, and removes them only
 * when it ends normally. After a kill, itop-cron removes those created since the task started, and
 * only those: another backup's files are older.
 */
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** File times have a coarse resolution on some file systems: a little slack before the task's start. */
const SLACK_MS = 2000;

function removeNewer(dir: string, prefix: string, sinceMs: number, log: Logger, what: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const path = join(dir, name);
    try {
      const st = lstatSync(path);
      // Never through a link; only what this task created.
      if (st.isSymbolicLink() || st.mtimeMs < sinceMs - SLACK_MS) continue;
      rmSync(path, { recursive: true, force: true });
      log.warn({ path }, `removed ${what} left by a killed PHP task`);
    } catch (e) {
      log.warn({ path, err: (e as Error).message }, `cannot remove ${what} left by a killed PHP task`);
    }
  }
}

export function cleanAfterKill(itopRoot: string, sinceMs: number, log: Logger): void {
  removeNewer(join(itopRoot, 'data'), 'tmp-backup-', sinceMs, log, 'a backup working folder');
  removeNewer(tmpdir(), 'itop-mysqldump-', sinceMs, log, 'a database credentials file');
}
