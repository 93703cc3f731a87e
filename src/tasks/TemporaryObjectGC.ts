/**
 * iTop's TemporaryObjectGC: every `temporary_object.garbage_interval` seconds (60), handles the
 * temporary-object descriptors that expired, newest first. For a `create` descriptor iTop deletes the
 * object with its full delete semantics (cascades, history, links), which needs the compiled data model.
 * itop-cron deletes only the objects that are one plain row without dependants: InlineImage and
 * Attachment, the usual temporary objects of forms. Objects of any other class are left in place and
 * logged. The descriptor is deleted in every case. Returns nothing, as iTop.
 */
import { settingInt } from '../config/php.js';
import { DbGoneAwayError } from '../errors.js';
import type { BackgroundTask, TaskContext } from './types.js';

const BATCH = 200;

/** Classes whose objects are one row that nothing else points to (PHP class names are case-insensitive). */
const PLAIN_ROW_TABLES: Readonly<Record<string, string>> = { inlineimage: 'inline_image', attachment: 'attachment' };

interface DescriptorRow {
  id: number;
  item_class: string | null;
  item_id: number | null;
  operation: string | null;
}

/** Deletes the descriptor and, for a `create` of a plain-row class, the object, in one transaction. */
async function handle(ctx: TaskContext, d: DescriptorRow): Promise<void> {
  const { db } = ctx;
  const itemClass = d.item_class ?? '';
  const table = Object.hasOwn(PLAIN_ROW_TABLES, itemClass.toLowerCase()) ? PLAIN_ROW_TABLES[itemClass.toLowerCase()] : undefined;
  const deleteItem = d.operation === 'create' && table !== undefined && (await db.hasTable(table));
  await db.transaction(async (tx) => {
    if (deleteItem) await tx.execute(`DELETE FROM ${db.table(table)} WHERE id = ?`, [d.item_id ?? 0]);
    await tx.execute(`DELETE FROM ${db.table('priv_temporary_object_descriptor')} WHERE id = ?`, [d.id]);
  });
  if (deleteItem) {
    ctx.log.info(`Temporary Object [${itemClass}:${d.item_id ?? 0}] removed (operation: create)`);
  } else if (d.operation === 'create') {
    ctx.log.warn(
      { itemClass, itemId: d.item_id, descriptor: d.id },
      'TemporaryObjectGC: the expired temporary object was NOT deleted (deleting this class needs iTop\'s data model); its descriptor was',
    );
  }
}

/** iTop's TemporaryObjectGC. */
export const temporaryObjectGC: BackgroundTask = {
  className: 'Combodo\\iTop\\Service\\TemporaryObjects\\TemporaryObjectGC',
  periodicity: (config) => settingInt(config.settings, 'temporary_object.garbage_interval', 60),
  async process(ctx) {
    const { db } = ctx;
    if (!(await db.hasTable('priv_temporary_object_descriptor'))) return undefined;
    const now = ctx.clock.nowLocal();
    let lastId = Number.MAX_SAFE_INTEGER;
    while (Date.now() < ctx.deadline && !ctx.signal.aborted) {
      const rows = await db.query<DescriptorRow>(
        `SELECT id, item_class, item_id, operation FROM ${db.table('priv_temporary_object_descriptor')} ` +
          `WHERE expiration_date < ? AND id < ? ORDER BY id DESC LIMIT ${BATCH}`,
        [now, lastId],
      );
      for (const d of rows) {
        lastId = d.id;
        try {
          await handle(ctx, d);
        } catch (e) {
          if (e instanceof DbGoneAwayError) throw e;
          // As iTop: an error on one descriptor is logged and the others go on.
          ctx.log.error({ descriptor: d.id, err: (e as Error).message }, 'TemporaryObjectGC: cannot handle a descriptor');
        }
      }
      if (rows.length < BATCH) break;
    }
    return undefined;
  },
};
