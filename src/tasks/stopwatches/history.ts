/**
 * The history rows of an escalation, and which "change" they belong to.
 *
 * iTop keeps one current change per process (CMDBObject): cron.php opens one as
 * `Background task (<Class>)` before each task, and CheckStopWatchThresholds opens a new one,
 * `Automatic - threshold triggered`, before saving each threshold mark. A change is
 * written only when a first history record needs it, and marks record none (stopwatch columns are not
 * tracked). So, within one pass, the first escalation is recorded under `Background task
 * (CheckStopWatchThresholds)` dated at the task's start, and any escalation after a mark under
 * `Automatic - threshold triggered` dated at that mark: one priv_change row per escalation either way.
 * Reproduced so that the history reads as iTop's own.
 */
import { insertChange, insertScalarChangeOp } from '../../db/history.js';
import type { Db, Queryable } from '../../db/types.js';

export const TASK_USERINFO = 'Background task (CheckStopWatchThresholds)';
export const MARK_USERINFO = 'Automatic - threshold triggered';

/** The change the next history record will be written under. */
export interface CurrentChange {
  readonly userinfo: string;
  /** iTop-local 'Y-m-d H:i:s': when the change was opened. */
  readonly date: string;
}

/** The change cron.php opens before running the task. */
export function taskChange(startLocal: string): CurrentChange {
  return { userinfo: TASK_USERINFO, date: startLocal };
}

/** The change opened before a threshold mark is saved, current for the rest of the pass. */
export function markChange(markLocal: string): CurrentChange {
  return { userinfo: MARK_USERINFO, date: markLocal };
}

export interface StatusChange {
  readonly objClass: string;
  readonly id: number;
  readonly from: string;
  readonly to: string;
}

/** Writes `change` as a priv_change row (user = the cron user, origin 'interactive'); returns its id. */
export function openChange(db: Db, tx: Queryable, change: CurrentChange, userId: number): Promise<number> {
  return insertChange(db, tx, { ...change, userId, origin: 'interactive' });
}

/** Records a lifecycle change (the `status` scalar changeop) under the priv_change `changeId`. */
export async function recordStatusChange(db: Db, tx: Queryable, changeId: number, status: StatusChange): Promise<void> {
  await insertScalarChangeOp(db, tx, changeId, {
    objClass: status.objClass,
    objKey: status.id,
    attCode: 'status',
    oldValue: status.from,
    newValue: status.to,
  });
}
