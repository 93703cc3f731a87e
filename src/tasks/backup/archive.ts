/**
 * The backup archive: a gzip-compressed tar whose entries are relative to the work
 * folder (`config-itop.php`, `itop-dump.sql`, `delta.xml`, `production-modules/`...), the layout iTop's
 * restore extracts. It is written under a temporary name and renamed at the end, so that a failed or
 * killed backup never leaves a partial `.tar.gz` where iTop lists its backups.
 */
import { open, rename, rm } from 'node:fs/promises';
import { create } from 'tar';

/**
 * Writes `entries` (paths relative to `cwd`, directories recursively) into `target` as tar.gz, mode 0600
 * (the archive holds the configuration and every row), and flushes it to disk. A failure removes `target`.
 */
export async function writeTarGz(cwd: string, entries: readonly string[], target: string): Promise<void> {
  try {
    await create({ gzip: true, cwd, file: target, mode: 0o600 }, [...entries]);
    // Written data must be on disk before the rename makes the archive visible.
    const handle = await open(target, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (e) {
    await rm(target, { force: true });
    throw e;
  }
}

/** Makes the finished archive visible under its final name (atomic within one file system). */
export async function publishArchive(temp: string, target: string): Promise<void> {
  await rename(temp, target);
}

/**
 * iTop's `var_export()` of a list of strings, as the `backup: adding to archive files '...'` line shows it.
 */
export function varExportList(items: readonly string[]): string {
  const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return ['array (', ...items.map((s, i) => `  ${i} => ${quote(s)},`), ')'].join('\n');
}
