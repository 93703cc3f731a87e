/**
 * Reads of the web console (src/http/console/) that the status does not already make: the recent
 * durations of every class for the charts, a page of one class's run history, and the async tasks in
 * error. Each answers "nothing" when its table does not exist (no run recorded yet, no async module).
 */
import { HISTORY_TABLE, isMissingTable, type RunHistoryRow } from './runHistory.js';
import type { Db } from './types.js';

/** One recent run, for a chart. */
export interface RecentDuration {
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

/** The last `perClass` runs of every class, newest first within a class (one statement, window function). */
export async function recentDurations(db: Db, perClass: number): Promise<Map<string, RecentDuration[]>> {
  const n = Math.max(1, Math.trunc(perClass));
  const rows = await orEmpty(() =>
    db.query<RecentDuration>(
      'SELECT class_name, started, duration, outcome FROM (' +
        'SELECT class_name, started, duration, outcome, ROW_NUMBER() OVER (PARTITION BY class_name ORDER BY id DESC) AS rn ' +
        `FROM ${db.table(HISTORY_TABLE)}) AS r WHERE rn <= ${n} ORDER BY class_name, rn`,
    ),
  );
  const byClass = new Map<string, RecentDuration[]>();
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
