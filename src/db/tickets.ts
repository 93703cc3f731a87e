/**
 * SQL on tickets for the SLA stopwatches: a ticket class spans its own table (`status`, the
 * `<sw>_*` stopwatch columns) and the root table `ticket` (`ref`, `last_update`), joined on `id`.
 */
import type { Db, Queryable } from './types.js';

/** One (class, stopwatch, threshold) to check. Names are unprefixed; `db.table()` adds the prefix. */
export interface ThresholdTarget {
  /** The class table, e.g. `ticket_request`. */
  readonly table: string;
  /** The root table, `ticket`. */
  readonly rootTable: string;
  /** The stopwatch attribute code, e.g. `tto`. */
  readonly stopwatch: string;
  /** The threshold index, e.g. 100. */
  readonly threshold: number;
  /** Every threshold index of the stopwatch (to read all its columns). */
  readonly thresholds: readonly number[];
  /** True when the root table has iTop's `archive_flag` column: archived objects are skipped. */
  readonly excludeArchived: boolean;
}

/** A due object, as listed by the threshold query. */
export interface DueTicket {
  id: number;
  ref: string | null;
}

/** A due object read again under lock: identity, state, and the stopwatch's columns. */
export interface LockedTicket extends DueTicket {
  status: string;
  finalclass: string | null;
  [column: string]: unknown;
}

const CODE = /^[a-z][a-z0-9_]*$/;

/** The identifiers come from definitions, never from data; checked anyway since they go into SQL. */
function ident(name: string): string {
  if (!CODE.test(name)) throw new Error(`invalid column name '${name}'`);
  return `\`${name}\``;
}

function fromClause(db: Db, target: ThresholdTarget): string {
  return `${db.table(target.table)} AS r INNER JOIN ${db.table(target.rootTable)} AS t ON r.id = t.id`;
}

/**
 * iTop's condition, verbatim in meaning: the stopwatch runs (`<sw>_laststart` truthy, as the real query
 * tests it), the threshold was not triggered, and its deadline has passed. A NULL deadline never matches.
 */
function dueCondition(target: ThresholdTarget): string {
  const sw = target.stopwatch;
  const i = String(target.threshold);
  const archived = target.excludeArchived ? ' AND COALESCE(t.`archive_flag`, 0) = 0' : '';
  return (
    `r.${ident(`${sw}_laststart`)} AND r.${ident(`${sw}_${i}_triggered`)} = 0 ` +
    `AND r.${ident(`${sw}_${i}_deadline`)} < ?${archived}`
  );
}

/** The columns of one stopwatch, as iTop's threshold query reads them. */
function stopwatchColumns(target: ThresholdTarget): string[] {
  const sw = target.stopwatch;
  const cols = ['timespent', 'started', 'laststart', 'stopped'].map((c) => `${sw}_${c}`);
  for (const i of target.thresholds) {
    for (const c of ['deadline', 'passed', 'triggered', 'overrun']) cols.push(`${sw}_${i}_${c}`);
  }
  return cols.map((c) => `r.${ident(c)}`);
}

/**
 * The objects whose threshold is due at `nowLocal`, in iTop's default ticket order (`ref DESC`, observed;
 * `id` only breaks ties). One statement per (class, stopwatch, threshold): an index on
 * `(<sw>_<i>_triggered, <sw>_<i>_deadline)` serves it, and it works without one.
 */
export function selectDueTickets(db: Db, target: ThresholdTarget, nowLocal: string): Promise<DueTicket[]> {
  return db.query<DueTicket>(
    `SELECT r.id AS id, t.ref AS ref FROM ${fromClause(db, target)} WHERE ${dueCondition(target)} ` +
      'ORDER BY t.ref DESC, r.id DESC',
    [nowLocal],
  );
}

/**
 * Re-reads one due object inside the caller's transaction and locks its rows (FOR UPDATE), so that the
 * status it escalates from is the current one. Undefined when it is no longer due (changed meanwhile).
 */
export async function lockDueTicket(
  db: Db,
  tx: Queryable,
  target: ThresholdTarget,
  id: number,
  nowLocal: string,
): Promise<LockedTicket | undefined> {
  const rows = await tx.query<LockedTicket>(
    'SELECT r.id AS id, t.ref AS ref, t.finalclass AS finalclass, r.status AS status, ' +
      `${stopwatchColumns(target).join(', ')} FROM ${fromClause(db, target)} ` +
      `WHERE r.id = ? AND ${dueCondition(target)} FOR UPDATE`,
    [id, nowLocal],
  );
  return rows[0];
}

/** Sets the lifecycle state and `ticket.last_update`, as iTop's save of a state change does. */
export async function updateTicketStatus(
  db: Db,
  tx: Queryable,
  target: Pick<ThresholdTarget, 'table' | 'rootTable'>,
  id: number,
  status: string,
  nowLocal: string,
): Promise<void> {
  await tx.execute(
    `UPDATE ${db.table(target.table)} AS r INNER JOIN ${db.table(target.rootTable)} AS t ON r.id = t.id ` +
      'SET r.status = ?, t.last_update = ? WHERE r.id = ?',
    [status, nowLocal, id],
  );
}

/**
 * Marks the threshold triggered and passed (its deadline is behind us) and touches `last_update`, as the
 * real run's UPDATE did. The other stopwatch columns keep their values (iTop rewrites them unchanged).
 */
export async function markThresholdTriggered(
  db: Db,
  tx: Queryable,
  target: ThresholdTarget,
  id: number,
  nowLocal: string,
): Promise<void> {
  const prefix = `${target.stopwatch}_${String(target.threshold)}`;
  await tx.execute(
    `UPDATE ${fromClause(db, target)} SET r.${ident(`${prefix}_triggered`)} = 1, r.${ident(`${prefix}_passed`)} = 1, ` +
      't.last_update = ? WHERE r.id = ?',
    [nowLocal, id],
  );
}

const archiveColumns = new WeakMap<Db, Map<string, boolean>>();

/** True when `table` has iTop's `archive_flag` column (archiving enabled for the class); cached per Db. */
export async function hasArchiveFlag(db: Db, table: string): Promise<boolean> {
  let cache = archiveColumns.get(db);
  if (cache === undefined) archiveColumns.set(db, (cache = new Map()));
  const known = cache.get(table);
  if (known !== undefined) return known;
  const rows = await db.query(
    'SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?',
    [db.prefix + table, 'archive_flag'],
  );
  cache.set(table, rows.length > 0);
  return rows.length > 0;
}
