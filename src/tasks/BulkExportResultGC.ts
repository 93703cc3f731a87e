/**
 * iTop's BulkExportResultGC: once a day, deletes the export results created more than 24 h
 * ago, and their temporary files. cron.php removes them one query at a time; itop-cron in batches.
 */
import { realpath, unlink } from 'node:fs/promises';
import { symlinkOnPath } from '../fs/linkGuard.js';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { BackgroundTask, TaskContext } from './types.js';

const BATCH = 200;
const MAX_AGE_MS = 86_400_000;

interface ExportRow {
  id: number;
  temp_file_path: string | null;
}

/**
 * Deletes the temporary file of a result, only when it lies under `<iTop root>/data/`: the path comes
 * from the database, and on a database-only install the files live on another host.
 */
async function removeTempFile(ctx: TaskContext, path: string | null): Promise<void> {
  const appRoot = ctx.config.appRoot;
  if (path === null || path === '' || appRoot === undefined) return;
  const link = await symlinkOnPath(appRoot, dirname(path));
  if (link !== undefined) {
    ctx.log.warn({ path, link }, `BulkExportResultGC: '${link}' is a symbolic link: the temporary file is not deleted through it`);
    return;
  }
  const real = await realpath(path).catch(() => undefined);
  if (real === undefined) return; // already gone, as iTop's @unlink tolerates
  const dataDir = await realpath(join(appRoot, 'data')).catch(() => undefined);
  const r = dataDir === undefined ? '..' : relative(dataDir, real);
  if (r === '' || r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r)) {
    ctx.log.warn({ path }, 'BulkExportResultGC: temporary file outside <iTop root>/data, not deleted');
    return;
  }
  await unlink(real).catch((e: unknown) => ctx.log.warn({ path, err: (e as Error).message }, 'BulkExportResultGC: cannot delete the temporary file'));
}

/** iTop's BulkExportResultGC: daily, results older than 24 h (times in iTop's zone). */
export const bulkExportResultGC: BackgroundTask = {
  className: 'BulkExportResultGC',
  periodicity: () => 86400,
  async process(ctx) {
    const { db } = ctx;
    const limit = ctx.clock.format(ctx.clock.nowMs() - MAX_AGE_MS);
    let cleaned = 0;
    while (Date.now() < ctx.deadline && !ctx.signal.aborted) {
      const rows = await db.query<ExportRow>(
        `SELECT id, temp_file_path FROM ${db.table('priv_bulk_export_result')} WHERE created < ? ORDER BY created LIMIT ${BATCH}`,
        [limit],
      );
      if (rows.length === 0) break;
      for (const r of rows) await removeTempFile(ctx, r.temp_file_path);
      const result = await db.execute(
        `DELETE FROM ${db.table('priv_bulk_export_result')} WHERE id IN (${rows.map(() => '?').join(', ')})`,
        rows.map((r) => r.id),
      );
      cleaned += result.affectedRows;
      if (rows.length < BATCH) break;
    }
    if (cleaned > 0) ctx.log.info({ cleaned }, 'old export results removed');
    return `Cleaned ${cleaned} old export results(s).`;
  },
};
