/**
 * AsyncSendNewsroom (iTop 3.2+): a queued newsroom notification becomes one
 * EventNotificationNewsroom per recipient contact, i.e. rows with one id in `{p}priv_event`,
 * `{p}priv_event_notification` and `{p}priv_event_newsroom`, unread.
 */
import type { AsyncNewsroomRow } from '../db/asyncTasks.js';
import type { Db, Queryable } from '../db/types.js';

const CLASS = 'EventNotificationNewsroom';
/** The column sizes of `{p}priv_event_newsroom` (title VARCHAR(255), url VARCHAR(2048)). */
const TITLE_MAX = 255;
const URL_MAX = 2048;

/** The action's presentation: priority and icon (priv_action_newsroom), iTop's defaults when absent. */
interface ActionLook {
  priority: string;
  iconData: Buffer | null;
  iconMimetype: string | null;
  iconFilename: string | null;
}

/** Cuts a text to `max` characters (code points), so a strict-mode server does not refuse the row. */
function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max).join('');
}

/** The contact ids of the `recipients` column: a JSON array of integers (or integer strings). */
export function parseRecipients(json: string | null): number[] {
  let value: unknown;
  try {
    value = JSON.parse(json ?? '');
  } catch {
    throw new Error(`Invalid recipients list (not JSON): ${cut(json ?? '', 80)}`);
  }
  if (!Array.isArray(value)) throw new Error(`Invalid recipients list (not an array): ${cut(json ?? '', 80)}`);
  return value.map((v) => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`Invalid recipient id in recipients list: ${JSON.stringify(v)}`);
    return n;
  });
}

async function actionLook(db: Db, actionId: number): Promise<ActionLook> {
  const none: ActionLook = { priority: '4', iconData: null, iconMimetype: null, iconFilename: null };
  if (actionId <= 0 || !(await db.hasTable('priv_action_newsroom'))) return none;
  const rows = await db.query<{
    priority: string | null;
    icon_data: Buffer | null;
    icon_mimetype: string | null;
    icon_filename: string | null;
  }>(
    `SELECT priority, icon_data, icon_mimetype, icon_filename FROM ${db.table('priv_action_newsroom')} WHERE id = ?`,
    [actionId],
  );
  const r = rows[0];
  if (r === undefined) return none;
  // The class icon and the application logo, iTop's next choices, are files of the iTop installation: the
  // event is left without an icon instead, and the newsroom shows its default.
  const hasIcon = r.icon_data !== null && r.icon_data.length > 0;
  return {
    priority: r.priority ?? '4',
    iconData: hasIcon ? r.icon_data : null,
    iconMimetype: hasIcon ? r.icon_mimetype : null,
    iconFilename: hasIcon ? r.icon_filename : null,
  };
}

/** Inserts one EventNotificationNewsroom (the three rows, one id). */
async function insertEvent(
  tx: Queryable,
  db: Db,
  row: AsyncNewsroomRow,
  look: ActionLook,
  contactId: number,
  dateLocal: string,
): Promise<void> {
  const event = await tx.execute(
    `INSERT INTO ${db.table('priv_event')} (message, date, userinfo, realclass) VALUES (?, ?, '', ?)`,
    [row.message ?? '', dateLocal, CLASS],
  );
  const id = event.insertId;
  await tx.execute(
    `INSERT INTO ${db.table('priv_event_notification')} (id, trigger_id, action_id, object_id, object_class, realclass) ` +
      'VALUES (?, ?, ?, ?, ?, ?)',
    [id, row.trigger_id ?? 0, row.action_id ?? 0, row.object_id ?? 0, row.object_class ?? '', CLASS],
  );
  await tx.execute(
    `INSERT INTO ${db.table('priv_event_newsroom')} ` +
      '(id, title, icon_data, icon_mimetype, icon_filename, icon_downloads_count, priority, url, `read`, read_date, contact_id) ' +
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'no', NULL, ?)",
    [
      id, cut(row.title ?? '', TITLE_MAX), look.iconData, look.iconMimetype, look.iconFilename,
      look.iconData === null ? null : 0, look.priority, cut(row.url ?? '', URL_MAX), contactId,
    ],
  );
}

/**
 * Checks a newsroom task and returns the writes that deliver it, to run in the transaction that also
 * deletes the task (so a crash never leaves the events without the task gone, or the reverse). Throws on
 * an invalid recipients list, which counts as a failed attempt.
 */
export async function prepareNewsroom(
  db: Db,
  row: AsyncNewsroomRow,
  nowLocal: string,
): Promise<{ recipients: number; write: (tx: Queryable) => Promise<void> }> {
  const recipients = parseRecipients(row.recipients);
  const look = await actionLook(db, Number(row.action_id ?? 0));
  const date = row.date ?? nowLocal;
  return {
    recipients: recipients.length,
    write: async (tx) => {
      for (const contactId of recipients) await insertEvent(tx, db, row, look, contactId, date);
    },
  };
}
