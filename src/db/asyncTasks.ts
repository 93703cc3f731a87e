/**
 * SQL of iTop's asynchronous task queue: `{p}priv_async_task` (the root row, `realclass` names
 * the concrete class) and its subclass tables `{p}priv_async_send_email` / `{p}priv_async_send_newsroom`
 * (same id), plus the `{p}priv_event.message` updates that report a task's fate. Every DATETIME is an
 * iTop-local 'Y-m-d H:i:s' given by the caller (never SQL NOW(): the server's zone may differ).
 */
import type { Db, Queryable } from './types.js';

/** The subclass table of each concrete class itop-cron runs. */
export const SUBCLASS_TABLES: Readonly<Record<string, string>> = {
  AsyncSendEmail: 'priv_async_send_email',
  AsyncSendNewsroom: 'priv_async_send_newsroom',
};

/** A row of `{p}priv_async_task`. */
export interface AsyncTaskRow {
  id: number;
  status: string;
  created: string | null;
  started: string | null;
  planned: string | null;
  event_id: number | null;
  remaining_retries: number | null;
  last_error_code: number | null;
  last_error: string | null;
  last_attempt: string | null;
  realclass: string;
}

/** An AsyncSendEmail task: the root row and its `{p}priv_async_send_email` columns (null when that row is missing). */
export interface AsyncEmailRow extends AsyncTaskRow {
  sub_id: number | null;
  version: number | null;
  to: string | null;
  subject: string | null;
  message: string | null;
}

/** An AsyncSendNewsroom task: the root row and its `{p}priv_async_send_newsroom` columns. */
export interface AsyncNewsroomRow extends AsyncTaskRow {
  sub_id: number | null;
  recipients: string | null;
  action_id: number | null;
  trigger_id: number | null;
  title: string | null;
  message: string | null;
  object_id: number | null;
  object_class: string | null;
  url: string | null;
  date: string | null;
}

const ROOT_COLUMNS =
  't.id, t.status, t.created, t.started, t.planned, t.event_id, t.remaining_retries, t.last_error_code, ' +
  't.last_error, t.last_attempt, t.realclass';

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/**
 * The next due tasks of the given classes, oldest `created` first (cron.php's selection
 * batch at a time): `status = 'planned' AND (planned IS NULL OR planned < now)`.
 */
export async function selectDueTasks(
  db: Db,
  nowLocal: string,
  classes: readonly string[],
  limit: number,
): Promise<Array<{ id: number; realclass: string }>> {
  return db.query<{ id: number; realclass: string }>(
    `SELECT id, realclass FROM ${db.table('priv_async_task')} ` +
      `WHERE status = 'planned' AND (planned IS NULL OR planned < ?) AND realclass IN (${placeholders(classes.length)}) ` +
      `ORDER BY created ASC, id ASC LIMIT ${Math.max(1, Math.floor(limit))}`,
    [nowLocal, ...classes],
  );
}

/**
 * Claims a task (iTop's MarkAsRunning): `status='running', started=now` only if it is still `planned`, so
 * that two runners never both take it. True when the row is ours. `q`: a transaction to run it in.
 */
export async function claimTask(db: Db, id: number, startedLocal: string, q: Queryable = db): Promise<boolean> {
  const r = await q.execute(
    `UPDATE ${db.table('priv_async_task')} SET status = 'running', started = ? WHERE id = ? AND status = 'planned'`,
    [startedLocal, id],
  );
  return r.affectedRows === 1;
}

/** An AsyncSendEmail task with its message; undefined when the root row is gone. */
export async function loadEmailTask(db: Db, id: number): Promise<AsyncEmailRow | undefined> {
  const rows = await db.query<AsyncEmailRow>(
    `SELECT ${ROOT_COLUMNS}, e.id AS sub_id, e.version, e.\`to\`, e.subject, e.message ` +
      `FROM ${db.table('priv_async_task')} t LEFT JOIN ${db.table('priv_async_send_email')} e ON e.id = t.id WHERE t.id = ?`,
    [id],
  );
  return rows[0];
}

/** An AsyncSendNewsroom task with its notification; undefined when the root row is gone. */
export async function loadNewsroomTask(db: Db, id: number): Promise<AsyncNewsroomRow | undefined> {
  const rows = await db.query<AsyncNewsroomRow>(
    `SELECT ${ROOT_COLUMNS}, n.id AS sub_id, n.recipients, n.action_id, n.trigger_id, n.title, n.message, ` +
      `n.object_id, n.object_class, n.url, n.date ` +
      `FROM ${db.table('priv_async_task')} t LEFT JOIN ${db.table('priv_async_send_newsroom')} n ON n.id = t.id WHERE t.id = ?`,
    [id],
  );
  return rows[0];
}

/**
 * Deletes the root row and the subclass row in one statement, hence one transaction (cron.php deletes
 * them one after the other inside a transaction): one round trip per finished task.
 */
export async function deleteTask(q: Queryable, db: Db, id: number, realclass: string): Promise<void> {
  const sub = SUBCLASS_TABLES[realclass];
  if (sub === undefined) {
    await q.execute(`DELETE FROM ${db.table('priv_async_task')} WHERE id = ?`, [id]);
    return;
  }
  await q.execute(
    `DELETE t, s FROM ${db.table('priv_async_task')} t LEFT JOIN ${db.table(sub)} s ON s.id = t.id WHERE t.id = ?`,
    [id],
  );
}

/** Sets `{p}priv_event.message`; returns the number of rows changed (0 when the event does not exist). */
export async function setEventMessage(q: Queryable, db: Db, eventId: number, message: string): Promise<number> {
  const r = await q.execute(`UPDATE ${db.table('priv_event')} SET message = ? WHERE id = ?`, [message, eventId]);
  return r.affectedRows;
}

/** The columns HandleError writes. */
export interface FailureUpdate {
  status: 'planned' | 'error';
  planned: string | null;
  remainingRetries: number;
  lastError: string;
  lastErrorCode: number;
  lastAttempt: string;
}

/**
 * Records a failed attempt, `started` back to NULL. With `expectStartedAt` the row is only changed if it is
 * still the `running` row seen with that `started` (stuck-row recovery must not clobber a row that moved on).
 */
export async function recordFailure(
  db: Db,
  id: number,
  u: FailureUpdate,
  expectStartedAt?: string | null,
): Promise<boolean> {
  const guard =
    expectStartedAt === undefined
      ? ''
      : expectStartedAt === null
        ? " AND status = 'running' AND started IS NULL"
        : " AND status = 'running' AND started = ?";
  const r = await db.execute(
    `UPDATE ${db.table('priv_async_task')} SET status = ?, started = NULL, planned = ?, remaining_retries = ?, ` +
      `last_error = ?, last_error_code = ?, last_attempt = ? WHERE id = ?${guard}`,
    [
      u.status, u.planned, u.remainingRetries, u.lastError, u.lastErrorCode, u.lastAttempt, id,
      ...(typeof expectStartedAt === 'string' ? [expectStartedAt] : []),
    ],
  );
  return r.affectedRows === 1;
}

/** Rows of the given classes left `running` since before `cutoffLocal` (or without a start date). */
export async function selectStuckTasks(db: Db, cutoffLocal: string, classes: readonly string[]): Promise<AsyncTaskRow[]> {
  return db.query<AsyncTaskRow>(
    `SELECT ${ROOT_COLUMNS} FROM ${db.table('priv_async_task')} t ` +
      `WHERE t.status = 'running' AND (t.started IS NULL OR t.started < ?) AND t.realclass IN (${placeholders(classes.length)}) ` +
      'ORDER BY t.id',
    [cutoffLocal, ...classes],
  );
}

/** Classes of planned tasks other than `classes`, with their counts (an extension's tasks, left alone). */
export async function otherPlannedClasses(db: Db, classes: readonly string[]): Promise<Array<{ realclass: string; n: number }>> {
  const rows = await db.query<{ realclass: string | null; n: number | string }>(
    `SELECT realclass, COUNT(*) AS n FROM ${db.table('priv_async_task')} ` +
      `WHERE status = 'planned' AND (realclass IS NULL OR realclass NOT IN (${placeholders(classes.length)})) GROUP BY realclass`,
    [...classes],
  );
  return rows.map((r) => ({ realclass: r.realclass ?? '', n: Number(r.n) }));
}

/** What AddToQueue writes for one e-mail. */
export interface QueuedEmail {
  createdLocal: string;
  eventId: number;
  to: string;
  subject: string;
  /** The V2 PHP-serialized message. */
  message: string;
}

/**
 * Queues an e-mail as iTop's AsyncSendEmail::AddToQueue does: the root row first (its auto-increment id),
 * then the subclass row with that id and version 2, in one transaction. Returns the task id.
 */
export async function insertQueuedEmail(db: Db, e: QueuedEmail): Promise<number> {
  return db.transaction(async (tx) => {
    const root = await tx.execute(
      `INSERT INTO ${db.table('priv_async_task')} ` +
        '(status, created, started, planned, event_id, remaining_retries, last_error_code, last_error, last_attempt, realclass) ' +
        "VALUES ('planned', ?, NULL, NULL, ?, 0, 0, '', NULL, 'AsyncSendEmail')",
      [e.createdLocal, e.eventId],
    );
    await tx.execute(
      `INSERT INTO ${db.table('priv_async_send_email')} (id, version, \`to\`, subject, message) VALUES (?, 2, ?, ?, ?)`,
      [root.insertId, e.to, e.subject, e.message],
    );
    return root.insertId;
  });
}

/** An inline image row, when `id` exists and its secret matches. */
export async function findInlineImage(
  db: Db,
  id: string,
  secret: string,
): Promise<{ data: Buffer; mimeType: string; filename: string; secret: string } | undefined> {
  if (!/^\d{1,10}$/.test(id)) return undefined;
  const rows = await db.query<{
    contents_data: Buffer | null;
    contents_mimetype: string | null;
    contents_filename: string | null;
    secret: string | null;
  }>(
    `SELECT contents_data, contents_mimetype, contents_filename, secret FROM ${db.table('inline_image')} WHERE id = ? AND secret = ?`,
    [Number(id), secret],
  );
  const r = rows[0];
  if (r === undefined || r.contents_data === null) return undefined;
  return {
    data: r.contents_data,
    mimeType: r.contents_mimetype ?? 'application/octet-stream',
    filename: r.contents_filename ?? '',
    secret: r.secret ?? '',
  };
}

/** Due tasks of classes other than `classes` (iTop's PHP runs them), oldest `created` first. */
export async function selectDueOtherTasks(
  db: Db,
  nowLocal: string,
  classes: readonly string[],
  limit: number,
): Promise<AsyncTaskRow[]> {
  return db.query<AsyncTaskRow>(
    `SELECT ${ROOT_COLUMNS} FROM ${db.table('priv_async_task')} t ` +
      `WHERE t.status = 'planned' AND (t.planned IS NULL OR t.planned < ?) AND t.realclass IS NOT NULL ` +
      `AND t.realclass NOT IN (${placeholders(classes.length)}) ORDER BY t.created ASC, t.id ASC LIMIT ${Math.max(1, Math.floor(limit))}`,
    [nowLocal, ...classes],
  );
}

/** One task's status and start, to see what a killed PHP worker left. */
export async function taskState(db: Db, id: number): Promise<{ status: string; started: string | null } | undefined> {
  const rows = await db.query<{ status: string; started: string | null }>(
    `SELECT status, started FROM ${db.table('priv_async_task')} WHERE id = ?`,
    [id],
  );
  return rows[0];
}
