/**
 * Backup retention and the clean-up of work folders a killed backup left behind.
 */
import { readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Prefix of the work folders, hidden so that neither iTop's backup page nor the retention count them. */
export const WORK_PREFIX = '.itop-cron-backup-';

/**
 * The `*.zip` and `*.tar.gz` files of `dir` (not hidden ones, as PHP's glob), oldest first by mtime,
 * then by name: the order iTop's retention deletes them in.
 */
export async function listBackups(dir: string): Promise<string[]> {
  const found: { path: string; mtime: number }[] = [];
  for (const name of await readdir(dir)) {
    if (name.startsWith('.') || !(name.endsWith('.zip') || name.endsWith('.tar.gz'))) continue;
    const path = join(dir, name);
    const s = await stat(path).catch(() => undefined);
    if (s !== undefined) found.push({ path, mtime: Math.floor(s.mtimeMs / 1000) });
  }
  found.sort((a, b) => a.mtime - b.mtime || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return found.map((f) => f.path);
}

/**
 * iTop's retention: while there are `count` or more backups, delete the oldest, so that `count − 1` old
 * ones remain next to the new one. Stops at the first file that cannot be deleted. `count <= 0` keeps all.
 * Returns the deleted paths.
 */
export async function applyRetention(dir: string, count: number, onError: (path: string, e: Error) => void): Promise<string[]> {
  if (count <= 0) return [];
  const files = await listBackups(dir);
  const deleted: string[] = [];
  while (files.length >= count) {
    const oldest = files.shift();
    if (oldest === undefined) break;
    try {
      await unlink(oldest);
      deleted.push(oldest);
    } catch (e) {
      onError(oldest, e as Error);
      break;
    }
  }
  return deleted;
}

/**
 * Removes the work folders of earlier backups that were killed before their clean-up (they hold a dump
 * of the database). Only called while holding the backup lock, so none of them is in use.
 */
export async function removeStaleWork(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith(WORK_PREFIX)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
