/**
 * SQL of itop-cron's own run history table `{p}itop_cron_run_history` (sql/own/90-itop-cron-history.sql):
 * created on demand, one row per task run, pruned by count per class and by age.
 */
import { ensureOwnTable, ownTableDdl } from './ownDdl.js';
import type { Db, Queryable } from './types.js';

/** The unprefixed table name. */
export const HISTORY_TABLE = 'itop_cron_run_history';

export type RunOutcome = 'success' | 'failure' | 'fatal' | 'timeout';

/** A stored run; dates are iTop-local 'Y-m-d H:i:s', `duration` a DECIMAL string. */
export interface RunHistoryRow {
  id: number | string;
  class_name: string;
  planned: string | null;
  started: string;
  ended: string;
  duration: string;
  outcome: RunOutcome;
  message: string | null;
  host: string;
}

/** A run to record. */
export interface NewRunHistory {
  className: string;
  planned: string | null;
  started: string;
  ended: string;
  durationSeconds: number;
  outcome: RunOutcome;
  message: string | null;
  host: string;
}

/** The last run and the last success of one class, for the status. */
export interface ClassHistorySummary {
  lastOutcome: RunOutcome;
  lastEnded: string;
  lastMessage: string | null;
  lastSuccess: string | null;
}

/** Long messages (stack traces in debug mode) are cut: the history is for reading, the log keeps the rest. */
const MAX_MESSAGE = 2000;

/** The DDL with the prefix applied (one definition: the shipped file). */
export function historyTableDdl(prefix: string): string {
  return ownTableDdl('90-itop-cron-history.sql', prefix);
}


/** CREATE TABLE IF NOT EXISTS, once per Db handle (the statement is cheap but not free). */
export async function ensureHistoryTable(db: Db): Promise<void> {
  await ensureOwnTable(db, '90-itop-cron-history.sql', HISTORY_TABLE);
}

/** True when the error is "table doesn't exist": no run was ever recorded in this database. */
export function isMissingTable(e: unknown): boolean {
  return (e as { code?: string } | null)?.code === 'ER_NO_SUCH_TABLE';
}

/** Inserts one run; returns its id. The table must exist (ensureHistoryTable). */
export async function insertRunHistory(db: Db, run: NewRunHistory, q: Queryable = db): Promise<number> {
  const message = run.message === null ? null : run.message.slice(0, MAX_MESSAGE);
  const result = await q.execute(
    `INSERT INTO ${db.table(HISTORY_TABLE)} (class_name, planned, started, ended, duration, outcome, message, host) ` +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [run.className, run.planned, run.started, run.ended, run.durationSeconds.toFixed(3), run.outcome, message, run.host],
  );
  return Number(result.insertId);
}

/**
 * Keeps the newest `maxRows` runs of `className` and drops every run started before `olderThan`
 * (all classes). Two indexed statements: the cut-off id, then the DELETE (MySQL cannot DELETE from a
 * table it reads in a subquery).
 */
export async function pruneRunHistory(db: Db, className: string, maxRows: number, olderThan: string): Promise<number> {
  const table = db.table(HISTORY_TABLE);
  let removed = (await db.execute(`DELETE FROM ${table} WHERE started < ?`, [olderThan])).affectedRows;
  const cut = await db.query<{ id: number | string }>(
    `SELECT id FROM ${table} WHERE class_name = ? ORDER BY id DESC LIMIT 1 OFFSET ${Math.max(0, Math.trunc(maxRows))}`,
    [className],
  );
  if (cut[0] !== undefined) {
    removed += (await db.execute(`DELETE FROM ${table} WHERE class_name = ? AND id <= ?`, [className, cut[0].id])).affectedRows;
  }
  return removed;
}

/** The newest runs first, of one class or of all; [] when no run was ever recorded. */
export async function recentRuns(db: Db, className: string | undefined, limit: number): Promise<RunHistoryRow[]> {
  const where = className === undefined ? '' : 'WHERE class_name = ? ';
  try {
    return await db.query<RunHistoryRow>(
      `SELECT id, class_name, planned, started, ended, duration, outcome, message, host FROM ${db.table(HISTORY_TABLE)} ` +
        `${where}ORDER BY id DESC LIMIT ${Math.max(0, Math.trunc(limit))}`,
      className === undefined ? [] : [className],
    );
  } catch (e) {
    if (isMissingTable(e)) return [];
    throw e;
  }
}

/** How many of the latest runs of `className` in a row did not succeed (looks at most `max` runs back). */
export async function consecutiveFailures(db: Db, className: string, max: number): Promise<number> {
  return leadingFailures(await recentRuns(db, className, max));
}

/** Runs before the first success, in a newest-first list. */
function leadingFailures(runs: readonly RunHistoryRow[]): number {
  const firstSuccess = runs.findIndex((r) => r.outcome === 'success');
  return firstSuccess === -1 ? runs.length : firstSuccess;
}

/**
 * The last `n` runs of `className` when exactly the last `n` failed (a streak that just reached `n`),
 * else undefined: one more run back tells "reached now" from "reached earlier".
 */
export async function failureStreak(db: Db, className: string, n: number): Promise<RunHistoryRow[] | undefined> {
  const runs = await recentRuns(db, className, n + 1);
  return leadingFailures(runs) === n ? runs.slice(0, n) : undefined;
}

/** Per class: the last run and the last success; empty when no run was ever recorded. */
export async function historySummary(db: Db): Promise<Map<string, ClassHistorySummary>> {
  const table = db.table(HISTORY_TABLE);
  const summary = new Map<string, ClassHistorySummary>();
  try {
    const last = await db.query<Pick<RunHistoryRow, 'class_name' | 'outcome' | 'ended' | 'message'>>(
      `SELECT h.class_name, h.outcome, h.ended, h.message FROM ${table} AS h ` +
        `JOIN (SELECT MAX(id) AS id FROM ${table} GROUP BY class_name) AS m ON h.id = m.id`,
    );
    for (const r of last) {
      summary.set(r.class_name, { lastOutcome: r.outcome, lastEnded: r.ended, lastMessage: r.message, lastSuccess: null });
    }
    // Per class, the newest success walking its (class_name, id) index backwards: usually the last run
    // itself. A GROUP BY over `outcome = 'success'` read the whole table (140 ms at 100,000 rows).
    const classes = [...summary.keys()];
    const one = `(SELECT class_name, ended FROM ${table} WHERE class_name = ? AND outcome = 'success' ORDER BY id DESC LIMIT 1)`;
    const ok = classes.length === 0 ? [] : await db.query<{ class_name: string; ended: string }>(classes.map(() => one).join(' UNION ALL '), classes);
    for (const r of ok) {
      const s = summary.get(r.class_name);
      if (s !== undefined) s.lastSuccess = r.ended;
    }
  } catch (e) {
    if (!isMissingTable(e)) throw e;
  }
  return summary;
}
