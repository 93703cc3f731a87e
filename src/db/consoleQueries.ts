/**
 * Reads of the web console (src/http/console/) that the status does not already make: the recent
 * durations of every class for the charts, a page of one class's run history, and the async tasks in
 * error. Each answers "nothing" when its table does not exist (no run recorded yet, no async module).
 */
import { HISTORY_TABLE, isMissingTable, type RunHistoryRow } from './runHistory.js';
import type { Db } from './types.js';

/** One recent run, for a chart. */
export interface RecentDuration {
  id: number | string;
  class_name: string;
  started: string;
  duration: string;
  outcome: string;
}

async function orEmpty<T>(read: () => Promise<T[]>): Promise<T[]> {
  try {
    return await read();
  } catch (e) {
    if (isMissingTable(e)) return [];
    throw e;
  }
}

/**
 * The last `perClass` runs of each of `classes`, newest first within a class: one statement of per-class
 * subqueries, each an index range on (class_name, id) that stops after `perClass` rows, so that the cost
 * does not grow with the history (a window function over the table sorted all of it: 280 ms at 100,000 rows).
 */
export async function recentDurations(db: Db, classes: readonly string[], perClass: number): Promise<Map<string, RecentDuration[]>> {
  const byClass = new Map<string, RecentDuration[]>();
  const names = [...new Set(classes)];
  if (names.length === 0) return byClass;
  const n = Math.max(1, Math.trunc(perClass));
  const one = `(SELECT id, class_name, started, duration, outcome FROM ${db.table(HISTORY_TABLE)} WHERE class_name = ? ORDER BY id DESC LIMIT ${n})`;
  const rows = await orEmpty(() => db.query<RecentDuration>(names.map(() => one).join(' UNION ALL '), names));
  // UNION ALL does not promise to keep each part's order: sort again, newest first.
  rows.sort((a, b) => Number(b.id) - Number(a.id));
  for (const r of rows) byClass.set(r.class_name, [...(byClass.get(r.class_name) ?? []), r]);
  return byClass;
}

/** One page of a class's runs, newest first, and how many runs it has in all. */
export async function runsPage(db: Db, className: string, limit: number, offset: number): Promise<{ rows: RunHistoryRow[]; total: number }> {
  const table = db.table(HISTORY_TABLE);
  const count = await orEmpty(() => db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table} WHERE class_name = ?`, [className]));
  const rows = await orEmpty(() =>
    db.query<RunHistoryRow>(
      `SELECT id, class_name, planned, started, ended, duration, outcome, message, host FROM ${table} WHERE class_name = ? ` +
        `ORDER BY id DESC LIMIT ${Math.max(1, Math.trunc(limit))} OFFSET ${Math.max(0, Math.trunc(offset))}`,
      [className],
    ),
  );
  return { rows, total: Number(count[0]?.n ?? 0) };
}

/** An async task given up (`error`), as the console lists it. */
export interface AsyncErrorRow {
  id: number | string;
  realclass: string | null;
  last_error: string | null;
  last_attempt: string | null;
  created: string | null;
}

/** The newest `limit` async tasks in error. */
export function asyncErrors(db: Db, limit: number): Promise<AsyncErrorRow[]> {
  return orEmpty(() =>
    db.query<AsyncErrorRow>(
      `SELECT id, realclass, last_error, last_attempt, created FROM ${db.table('priv_async_task')} WHERE status = 'error' ` +
        `ORDER BY id DESC LIMIT ${Math.max(1, Math.trunc(limit))}`,
    ),
  );
}

/**
 * Puts an async task in `error` back in the queue (`planned`, due now, one attempt): the next ExecAsyncTask
 * run, itop-cron's or cron.php's, takes it. Only a task still in error is changed; returns whether it was.
 */
export async function retryAsyncTask(db: Db, id: number, nowLocal: string): Promise<boolean> {
  const r = await db.execute(
    `UPDATE ${db.table('priv_async_task')} SET status = 'planned', planned = ?, started = NULL, remaining_retries = 0 ` +
      "WHERE id = ? AND status = 'error'",
    [nowLocal, id],
  );
  return r.affectedRows === 1;
}
