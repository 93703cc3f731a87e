/**
 * The rows a notification writes: the
 * EventNotificationEmail (`priv_event` → `priv_event_email` → `priv_event_notification`, one transaction,
 * in that order), its later update (only the columns that changed), the subscription links
 * (`priv_lnk_action_notif_to_contact`) with their history (`priv_change` `Automatic - threshold
 * triggered`, created on first need, + `priv_changeop` / `priv_changeop_create`), and the cron user's
 * `priv_app_preferences` row iTop creates on its first rendering.
 */
import { insertChange, insertScalarChangeOp } from '../db/history.js';
import type { Db, Queryable } from '../db/types.js';

export interface NewEvent {
  readonly message: string;
  /** iTop-local 'Y-m-d H:i:s'. */
  readonly date: string;
  /** The cron user's login. */
  readonly userinfo: string;
  readonly triggerId: number;
  readonly actionId: number;
  readonly objectId: number;
  readonly objectClass: string;
}

/** Inserts the three rows of an EventNotificationEmail; returns its id. */
export async function insertEmailEvent(db: Db, e: NewEvent): Promise<number> {
  return db.transaction(async (tx) => {
    const res = await tx.execute(
      `INSERT INTO ${db.table('priv_event')} (message, date, userinfo, realclass) VALUES (?, ?, ?, 'EventNotificationEmail')`,
      [e.message, e.date, e.userinfo],
    );
    const id = res.insertId;
    await tx.execute(
      `INSERT INTO ${db.table('priv_event_email')} (id, \`to\`, cc, bcc, \`from\`, subject, body, attachments) ` +
        "VALUES (?, '', '', '', '', '', '', 'a:0:{}')",
      [id],
    );
    await tx.execute(
      `INSERT INTO ${db.table('priv_event_notification')} (id, trigger_id, action_id, object_id, object_class, realclass) ` +
        "VALUES (?, ?, ?, ?, ?, 'EventNotificationEmail')",
      [id, e.triggerId, e.actionId, e.objectId, e.objectClass],
    );
    return id;
  });
}

/** The final content of the event; the e-mail columns still '' are not written, as iTop's DBUpdate. */
export interface EventContent {
  readonly to: string;
  readonly cc: string;
  readonly bcc: string;
  readonly from: string;
  readonly subject: string;
  readonly body: string;
  readonly message: string;
}

/** Updates the event; on failure retries with iTop's fallback message. */
export async function updateEmailEvent(db: Db, id: number, c: EventContent): Promise<void> {
  const sets: string[] = [];
  const values: Array<string | number> = [];
  for (const col of ['to', 'cc', 'bcc', 'from', 'subject', 'body'] as const) {
    if (c[col] === '') continue;
    sets.push(`e.\`${col}\` = ?`);
    values.push(c[col]);
  }
  sets.push('ev.message = ?');
  values.push(c.message);
  const sql =
    `UPDATE ${db.table('priv_event_email')} AS e INNER JOIN ${db.table('priv_event')} AS ev ON e.id = ev.id ` +
    `SET ${sets.join(', ')} WHERE e.id = ?`;
  try {
    await db.execute(sql, [...values, id]);
  } catch {
    await db.execute(`UPDATE ${db.table('priv_event')} SET message = ? WHERE id = ?`, [
      `Error: more details in the log for email "${id}"`,
      id,
    ]);
  }
}

/** The history change of the subscription links: created on first need, then reused. */
export interface ChangeTracker {
  /** The `priv_change` id, inserted now through `q` if not yet. */
  get(q: Queryable): Promise<number>;
  /** True once a change was written. */
  has(): boolean;
  /** Forgets an id whose transaction was rolled back. */
  reset(): void;
}

export const NOTIFICATION_CHANGE_USERINFO = 'Automatic - threshold triggered';

/** A tracker writing `Automatic - threshold triggered` by the cron user, dated when first needed. */
export function changeTracker(db: Db, userId: number, nowLocal: () => string): ChangeTracker {
  let id: Promise<number> | undefined;
  return {
    get(q) {
      id ??= insertChange(db, q, { date: nowLocal(), userinfo: NOTIFICATION_CHANGE_USERINFO, userId, origin: 'interactive' });
      return id;
    },
    has: () => id !== undefined,
    reset() {
      id = undefined;
    },
  };
}

export interface Subscription {
  readonly actionId: number;
  readonly contactId: number;
  readonly triggerId: number;
}

const LINK_CLASS = 'lnkActionNotificationToContact';

/**
 * iTop's RegisterSubscription: a new (action, contact, trigger) link is created subscribed, with its
 * creation in the history; an existing unsubscribed one is subscribed again (a scalar change); a
 * subscribed one is left alone (no SQL write).
 */
export async function registerSubscription(db: Db, s: Subscription, change: ChangeTracker): Promise<void> {
  const table = db.table('priv_lnk_action_notif_to_contact');
  const rows = await db.query<{ id: number; subscribed: number | null }>(
    `SELECT id, subscribed FROM ${table} WHERE action_id = ? AND contact_id = ? AND trigger_id = ? ORDER BY id LIMIT 1`,
    [s.actionId, s.contactId, s.triggerId],
  );
  const existing = rows[0];
  if (existing !== undefined && Number(existing.subscribed) === 1) return;
  const hadChange = change.has();
  // As iTop: the link first, then (on first need) the change, then the change operation, in one transaction.
  const write = db.transaction(async (tx) => {
    if (existing === undefined) {
      const res = await tx.execute(
        `INSERT INTO ${table} (action_id, contact_id, trigger_id, subscribed) VALUES (?, ?, ?, 1)`,
        [s.actionId, s.contactId, s.triggerId],
      );
      const changeId = await change.get(tx);
      const op = await tx.execute(
        `INSERT INTO ${db.table('priv_changeop')} (changeid, objclass, objkey, optype) VALUES (?, ?, ?, 'CMDBChangeOpCreate')`,
        [changeId, LINK_CLASS, res.insertId],
      );
      await tx.execute(`INSERT INTO ${db.table('priv_changeop_create')} (id) VALUES (?)`, [op.insertId]);
      return;
    }
    await tx.execute(`UPDATE ${table} SET subscribed = 1 WHERE id = ?`, [existing.id]);
    await insertScalarChangeOp(db, tx, await change.get(tx), {
      objClass: LINK_CLASS,
      objKey: existing.id,
      attCode: 'subscribed',
      oldValue: String(existing.subscribed ?? 0),
      newValue: '1',
    });
  });
  await write.catch((e: unknown) => {
    if (!hadChange) change.reset();
    throw e;
  });
}

/** The cron user's preferences row, created empty on first use as iTop's rendering does. */
export async function ensureAppPreferences(db: Db, userId: number): Promise<void> {
  if (!(await db.hasTable('priv_app_preferences'))) return;
  const rows = await db.query(`SELECT id FROM ${db.table('priv_app_preferences')} WHERE userid = ? LIMIT 1`, [userId]);
  if (rows.length > 0) return;
  await db.execute(`INSERT INTO ${db.table('priv_app_preferences')} (userid, preferences) VALUES (?, 'a:0:{}')`, [userId]);
}
