/**
 * Giving a claimed async task back untouched: when the mail server could not be reached, the attempt says
 * nothing about the message, so the row goes back to the queue exactly as it was before the claim.
 */
import type { Db } from './types.js';

/**
 * `running` → `planned`, `started` back to NULL (what a planned row holds), nothing else changed: not the
 * retries, not `last_attempt`, not the errors. Only the row as this claim left it (`startedLocal`) is
 * changed; true when it was.
 */
export async function releaseClaim(db: Db, id: number, startedLocal: string | null): Promise<boolean> {
  const r = await db.execute(
    `UPDATE ${db.table('priv_async_task')} SET status = 'planned', started = NULL ` +
      `WHERE id = ? AND status = 'running' AND ${startedLocal === null ? 'started IS NULL' : 'started = ?'}`,
    startedLocal === null ? [id] : [id, startedLocal],
  );
  return r.affectedRows === 1;
}
