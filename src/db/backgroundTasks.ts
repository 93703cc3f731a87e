import type { Db, Queryable, SqlParam } from './types.js';

/** A row of `{p}priv_backgroundtask`. DECIMALs and DATETIMEs come back as strings. */
export interface BackgroundTaskRow {
  id: number;
  /** NULL in rows that iTop's UI or a failed extension install can leave (issue 16). */
  class_name: string | null;
  first_run_date: string | null;
  latest_run_date: string | null;
  next_run_date: string | null;
  total_exec_count: number | null;
  latest_run_duration: string | null;
  min_run_duration: string | null;
  max_run_duration: string | null;
  average_run_duration: string | null;
  running: number | null;
  status: 'active' | 'paused' | 'removed' | null;
  system_user: string | null;
}

/** A row that names its class: what the loop runs (rows without one belong to no task). */
export type NamedTaskRow = BackgroundTaskRow & { class_name: string };

function named<T extends BackgroundTaskRow>(r: T): r is T & NamedTaskRow {
  return r.class_name !== null;
}

const COLUMNS =
  'id, class_name, first_run_date, latest_run_date, next_run_date, total_exec_count, latest_run_duration, ' +
  'min_run_duration, max_run_duration, average_run_duration, running, status, system_user';

/** iTop's "never" date: a scheduled task parked there is re-evaluated at each start. */
export const NEVER = '3000-01-01 00:00:00';

/** Every row, any status (ReSyncProcesses). */
export function allTasks(db: Db): Promise<BackgroundTaskRow[]> {
  return db.query<BackgroundTaskRow>(`SELECT ${COLUMNS} FROM ${db.table('priv_backgroundtask')} ORDER BY id`);
}

/** The status table order: by class name (iTop's default ordering), or by next run (end of a verbose run). */
export function tasksForStatus(db: Db, order: 'class_name' | 'next_run_date'): Promise<BackgroundTaskRow[]> {
  return db.query<BackgroundTaskRow>(statusSql(db, order));
}

function statusSql(db: Db, order: 'class_name' | 'next_run_date'): string {
  const by = order === 'class_name' ? 'class_name' : 'next_run_date, id';
  return `SELECT ${COLUMNS} FROM ${db.table('priv_backgroundtask')} ORDER BY ${by}`;
}

/**
 * tasksForStatus's rows one at a time (the same statement, so the same order), streamed when the Db can:
 * a registry of 200,000 rows held ~330 MiB as one array and its text (issue 16).
 */
export async function* streamTasksForStatus(db: Db, order: 'class_name' | 'next_run_date'): AsyncGenerator<BackgroundTaskRow> {
  if (db.stream === undefined) {
    yield* await tasksForStatus(db, order);
    return;
  }
  yield* db.stream<BackgroundTaskRow>(statusSql(db, order));
}

/**
 * The one statement of an idle pass: due tasks (`status='active' AND next_run_date <= now`, by next run then
 * id) and, in the same round trip, who holds the cron lock. The LEFT JOIN from a one-row table makes the
 * lock column come back even when nothing is due.
 */
export async function dueTasksAndLockOwner(
  db: Db,
  nowLocal: string,
  lockName: string,
  classes: readonly string[],
): Promise<{ due: NamedTaskRow[]; lockOwner: number | null }> {
  const { due, first } = await duePass(db, nowLocal, lockName, classes, '');
  return { due, lockOwner: lockOwnerOf(first) };
}

/** What cluster mode's pass statement tells besides the due rows. */
export interface ClusterPass {
  readonly due: NamedTaskRow[];
  readonly lockOwner: number | null;
  /** The database's clock (epoch ms): the runners' own clocks do not count in cluster mode. */
  readonly dbNowMs: number;
  /** A maintenance flag seen by some runner is live (src/cluster/member.ts). */
  readonly maintenance: boolean;
}

/**
 * The pass of cluster mode: still one statement, which also reads the database's clock and whether a
 * runner somewhere saw a maintenance flag (a lease row of `leaseTable` named `maintenanceLease`).
 */
export async function clusterDueTasks(
  db: Db,
  nowLocal: string,
  lockName: string,
  classes: readonly string[],
  maintenanceLease: { table: string; name: string },
): Promise<ClusterPass> {
  const extra =
    'UNIX_TIMESTAMP(NOW(3)) AS db_now, ' +
    `(SELECT COUNT(*) FROM ${db.table(maintenanceLease.table)} WHERE name = ${mysqlString(maintenanceLease.name)} AND expires >= NOW(3)) AS maintenance, `;
  const { due, first } = await duePass(db, nowLocal, lockName, classes, extra);
  return {
    due,
    lockOwner: lockOwnerOf(first),
    dbNowMs: Math.round(Number(first?.['db_now']) * 1000),
    maintenance: Number(first?.['maintenance']) > 0,
  };
}

/** A constant of our own code as a SQL string literal (names of ours only: letters, digits, `:` `_` `-`). */
function mysqlString(s: string): string {
  if (!/^[\w:.-]+$/.test(s)) throw new Error(`not a plain name: ${s}`);
  return `'${s}'`;
}

type PassRow = BackgroundTaskRow & { lock_owner: number | string | null } & Record<string, unknown>;

function lockOwnerOf(first: PassRow | undefined): number | null {
  const owner = first?.lock_owner;
  return owner === null || owner === undefined ? null : Number(owner);
}

/** The due rows of `classes` and, on the first row, the lock's owner and the `extra` columns. */
async function duePass(db: Db, nowLocal: string, lockName: string, classes: readonly string[], extra: string): Promise<{ due: NamedTaskRow[]; first: PassRow | undefined }> {
  const cols = COLUMNS.split(', ').map((c) => `t.${c}`).join(', ');
  // Only classes this runner implements: a row of another class (ObsolescenceDateUpdater, a PHP
  // extension's task) would otherwise be due at every pass.
  const inList = classes.length > 0 ? classes.map(() => '?').join(', ') : 'NULL';
  const rows = await db.query<PassRow>(
    `SELECT IS_USED_LOCK(?) AS lock_owner, ${extra}${cols} FROM (SELECT 1 AS one) AS x ` +
      `LEFT JOIN ${db.table('priv_backgroundtask')} AS t ON t.status = 'active' AND t.next_run_date <= ? ` +
      `AND t.class_name IN (${inList}) ORDER BY t.next_run_date, t.id`,
    [lockName, nowLocal, ...classes],
  );
  // The IN list already excludes NULL class names; the guard says so to the type checker.
  return { due: rows.filter((r) => r.id !== null).filter(named), first: rows[0] };
}

/** One row by id (a claimed task's state right after the claim), or undefined when it is gone. */
export async function taskById(db: Db, id: number): Promise<BackgroundTaskRow | undefined> {
  const rows = await db.query<BackgroundTaskRow>(`SELECT ${COLUMNS} FROM ${db.table('priv_backgroundtask')} WHERE id = ?`, [id]);
  return rows[0];
}

/** Active tasks planned after `nowLocal` (the verbose "Skipping task" lines); a row without a class is no task. */
export function laterTasks(db: Db, nowLocal: string): Promise<NamedTaskRow[]> {
  return db.query<NamedTaskRow>(
    `SELECT ${COLUMNS} FROM ${db.table('priv_backgroundtask')} WHERE next_run_date > ? AND status = 'active' ` +
      'AND class_name IS NOT NULL ORDER BY next_run_date, id',
    [nowLocal],
  );
}

/** A new registry row exactly as cron.php inserts it. */
export async function insertTask(db: Db, className: string, nextRunDate: string): Promise<number> {
  const result = await db.execute(
    `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, first_run_date, latest_run_date, next_run_date, ` +
      'total_exec_count, latest_run_duration, min_run_duration, max_run_duration, average_run_duration, running, status, system_user) ' +
      "VALUES (?, NULL, NULL, ?, 0, 0.000, 99999.999, 0.000, 0.000, 0, 'active', '')",
    [className, nextRunDate],
  );
  return result.insertId;
}

/** The columns a run may change; only those given are written, as iTop writes only changed columns. */
export type TaskUpdate = Partial<
  Pick<
    BackgroundTaskRow,
    | 'first_run_date'
    | 'latest_run_date'
    | 'next_run_date'
    | 'total_exec_count'
    | 'latest_run_duration'
    | 'min_run_duration'
    | 'max_run_duration'
    | 'average_run_duration'
    | 'running'
    | 'status'
    | 'system_user'
  >
>;

const UPDATABLE = new Set<string>([
  'first_run_date',
  'latest_run_date',
  'next_run_date',
  'total_exec_count',
  'latest_run_duration',
  'min_run_duration',
  'max_run_duration',
  'average_run_duration',
  'running',
  'status',
  'system_user',
]);

/**
 * A row the UPDATE is joined to and changes together with the task's row, in one statement: cluster mode's
 * lease fence (src/cluster/leases.ts fenceOf), which no pause of the client can split.
 */
export interface RowFence {
  /** `JOIN <table> AS f ON ...` with `?` for `params`. */
  readonly join: string;
  readonly params: readonly SqlParam[];
  /** The change of the joined row (`f.col = ...`). */
  readonly set: string;
}

/**
 * UPDATE of the given columns of one row, in a transaction as iTop does. No-op when nothing changed.
 * With a fence, false (and nothing written) when the fence's row does not match.
 */
export async function updateTask(db: Db, id: number, changes: TaskUpdate, q: Queryable = db, fence?: RowFence): Promise<boolean> {
  const entries = Object.entries(changes).filter(([k, v]) => UPDATABLE.has(k) && v !== undefined);
  if (entries.length === 0) return true;
  const values = entries.map(([, v]) => v as string | number | null);
  if (fence !== undefined) {
    const sets = entries.map(([k]) => `t.\`${k}\` = ?`).join(', ');
    const r = await q.execute(`UPDATE ${db.table('priv_backgroundtask')} AS t ${fence.join} SET ${sets}, ${fence.set} WHERE t.id = ?`, [
      ...fence.params,
      ...values,
      id,
    ]);
    return r.affectedRows > 0;
  }
  const sets = entries.map(([k]) => `\`${k}\` = ?`).join(', ');
  await q.execute(`UPDATE ${db.table('priv_backgroundtask')} SET ${sets} WHERE id = ?`, [...values, id]);
  return true;
}

/** One row by class name (the first one, as cron.php's map keeps positions). */
export async function taskByClass(db: Db, className: string): Promise<BackgroundTaskRow | undefined> {
  const rows = await db.query<BackgroundTaskRow>(
    `SELECT ${COLUMNS} FROM ${db.table('priv_backgroundtask')} WHERE class_name = ? ORDER BY id LIMIT 1`,
    [className],
  );
  return rows[0];
}
