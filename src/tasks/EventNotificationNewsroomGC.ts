/**
 * iTop's EventNotificationNewsroomGC: once a day, deletes the newsroom notifications read more
 * than `notifications.itop.read_notification_retention` days ago (default 182), with their rows in
 * priv_event_notification and priv_event. cron.php compares with the database server's NOW(); itop-cron
 * computes the limit in iTop's time zone, as every other date iTop writes.
 */
import { settingInt } from '../config/php.js';
import { DbGoneAwayError } from '../errors.js';
import { formatLocal, localParts, localToEpoch } from '../time/zone.js';
import type { BackgroundTask, TaskContext } from './types.js';

const BATCH = 200;

/** `now − days` calendar days in iTop's zone, as 'Y-m-d H:i:s' (SQL's DATE_SUB(NOW(), INTERVAL n DAY)). */
export function daysBefore(nowMs: number, days: number, tz: string): string {
  const p = localParts(nowMs, tz);
  return formatLocal(localToEpoch(p.year, p.month, p.day - days, p.hour, p.minute, p.second, tz), tz);
}

/** Deletes one batch in one transaction; returns how many notifications went. */
async function deleteBatch(ctx: TaskContext, limit: string): Promise<number> {
  const { db } = ctx;
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ id: number }>(
      `SELECT id FROM ${db.table('priv_event_newsroom')} WHERE \`read\` = 'yes' AND read_date < ? ORDER BY id LIMIT ${BATCH} FOR UPDATE`,
      [limit],
    );
    if (rows.length === 0) return 0;
    const ids = rows.map((r) => r.id);
    const marks = ids.map(() => '?').join(', ');
    // The object spans three tables sharing its id (EventNotificationNewsroom → EventNotification → Event).
    for (const table of ['priv_event_newsroom', 'priv_event_notification', 'priv_event']) {
      await tx.execute(`DELETE FROM ${db.table(table)} WHERE id IN (${marks})`, ids);
    }
    return ids.length;
  });
}

/** iTop's EventNotificationNewsroomGC: returns true (printed `1`), or false after logging an error. */
export const eventNotificationNewsroomGC: BackgroundTask = {
  className: 'Combodo\\iTop\\Service\\Notification\\Event\\EventNotificationNewsroomGC',
  periodicity: () => 86400,
  async process(ctx) {
    try {
      if (!(await ctx.db.hasTable('priv_event_newsroom'))) return true;
      const days = settingInt(ctx.config.settings, 'notifications.itop.read_notification_retention', 182);
      const limit = daysBefore(ctx.clock.nowMs(), days, ctx.config.timezone);
      let deleted = 0;
      while (Date.now() < ctx.deadline && !ctx.signal.aborted) {
        const n = await deleteBatch(ctx, limit);
        deleted += n;
        if (n < BATCH) break;
      }
      if (deleted > 0) ctx.log.info({ deleted, readBefore: limit }, 'read newsroom notifications removed');
      return true;
    } catch (e) {
      if (e instanceof DbGoneAwayError) throw e; // the loop must see a lost connection
      ctx.log.error({ err: (e as Error).message }, 'EventNotificationNewsroomGC failed');
      return false;
    }
  },
};
