/**
 * SQL of itop-cron's own key/value table `{p}itop_cron_state` (sql/own/91-itop-cron-state.sql): small
 * values that must outlive a run (one process), created on demand at the first write. Reading a value
 * from a database where nothing was ever stored answers undefined, without creating anything.
 */
import { isMissingTable } from './runHistory.js';
import { ensureOwnTable } from './ownDdl.js';
import type { Db } from './types.js';

/** The unprefixed table name. */
export const STATE_TABLE = 'itop_cron_state';

/** The stored text of `name`; undefined when it was never stored (or the table does not exist yet). */
export async function readState(db: Db, name: string): Promise<string | undefined> {
  try {
    const rows = await db.query<{ value: string }>(`SELECT value FROM ${db.table(STATE_TABLE)} WHERE name = ?`, [name]);
    return rows[0]?.value;
  } catch (e) {
    if (isMissingTable(e)) return undefined;
    throw e;
  }
}

/** Stores `value` under `name` (insert or replace), creating the table the first time. */
export async function writeState(db: Db, name: string, value: string, updatedLocal: string): Promise<void> {
  await ensureOwnTable(db, '91-itop-cron-state.sql', STATE_TABLE);
  await db.execute(
    `INSERT INTO ${db.table(STATE_TABLE)} (name, value, updated) VALUES (?, ?, ?) ` +
      'ON DUPLICATE KEY UPDATE value = VALUES(value), updated = VALUES(updated)',
    [name, value, updatedLocal],
  );
}

/** Forgets `name`; nothing to do when it was never stored. */
export async function deleteState(db: Db, name: string): Promise<void> {
  try {
    await db.execute(`DELETE FROM ${db.table(STATE_TABLE)} WHERE name = ?`, [name]);
  } catch (e) {
    if (!isMissingTable(e)) throw e;
  }
}
