/**
 * iTop's object history (CMDBChange / CMDBChangeOp): `{p}priv_change` holds who and when,
 * `{p}priv_changeop` one row per recorded operation, and a scalar attribute change adds
 * `{p}priv_changeop_setatt_scalar` (old/new values) and `{p}priv_changeop_setatt` (attribute code),
 * both keyed by the changeop id. Columns and statement order as the real escalation wrote them
 * (sql-logs/general-cron-sla-stopwatch).
 */
import type { Db, Queryable } from './types.js';

/** `{p}priv_change.origin`: what kind of client made the change. cron.php's tasks use 'interactive'. */
export type ChangeOrigin =
  | 'interactive'
  | 'csv-interactive'
  | 'csv-import.php'
  | 'webservice-soap'
  | 'webservice-rest'
  | 'synchro-data-source'
  | 'email-processing'
  | 'custom-extension';

export interface ChangeRecord {
  /** iTop-local 'Y-m-d H:i:s'. */
  readonly date: string;
  /** Shown as the author in the history, e.g. 'Background task (CheckStopWatchThresholds)'. */
  readonly userinfo: string;
  readonly userId: number;
  readonly origin: ChangeOrigin;
}

export interface ScalarChange {
  /** The object's class (iTop writes the final class), e.g. 'UserRequest'. */
  readonly objClass: string;
  readonly objKey: number;
  readonly attCode: string;
  readonly oldValue: string;
  readonly newValue: string;
}

/** Inserts a `priv_change` row and returns its id. */
export async function insertChange(db: Db, q: Queryable, change: ChangeRecord): Promise<number> {
  const result = await q.execute(
    `INSERT INTO ${db.table('priv_change')} (date, userinfo, user_id, origin) VALUES (?, ?, ?, ?)`,
    [change.date, change.userinfo, change.userId, change.origin],
  );
  return result.insertId;
}

/**
 * Records a scalar attribute change under `changeId` (CMDBChangeOpSetAttributeScalar): the changeop, then
 * its old/new values, then its attribute code, as iTop inserts them. Returns the changeop id.
 */
export async function insertScalarChangeOp(db: Db, q: Queryable, changeId: number, op: ScalarChange): Promise<number> {
  const optype = 'CMDBChangeOpSetAttributeScalar';
  const result = await q.execute(
    `INSERT INTO ${db.table('priv_changeop')} (changeid, objclass, objkey, optype) VALUES (?, ?, ?, ?)`,
    [changeId, op.objClass, op.objKey, optype],
  );
  const id = result.insertId;
  await q.execute(
    `INSERT INTO ${db.table('priv_changeop_setatt_scalar')} (id, oldvalue, newvalue) VALUES (?, ?, ?)`,
    [id, op.oldValue, op.newValue],
  );
  await q.execute(`INSERT INTO ${db.table('priv_changeop_setatt')} (id, attcode, optype) VALUES (?, ?, ?)`, [
    id,
    op.attCode,
    optype,
  ]);
  return id;
}
