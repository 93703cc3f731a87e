/**
 * ActionEmail's `FindRecipients`: the `to`/`cc`/`bcc` OQL of the action
 * selects objects whose first e-mail attribute gives the addresses. Contacts unsubscribed from this
 * (trigger, action) are left out, every Contact fetched gets its subscription link, and a query that
 * fails (syntax, unknown class, outside the subset itop-cron translates) or a class without e-mail
 * becomes the field's value with an error, as iTop records it.
 */
import type { Logger } from 'pino';
import type { Db, SqlParam } from '../db/types.js';
import { emailAttribute, isA, resolveAttribute, tablesOf } from './datamodel.js';
import { registerSubscription, type ChangeTracker } from './events.js';
import { OqlError, OqlUnsupportedError, parseOql } from './oql.js';
import { selectedFieldSql, selectedFriendlyNameSql, translateQuery, type ParamResolver } from './oqlSql.js';
import { tableColumns } from './schema.js';

export type RecipientField = 'to' | 'cc' | 'bcc';

export interface RecipientContext {
  readonly db: Db;
  readonly log: Pick<Logger, 'warn' | 'error'>;
  readonly triggerId: number;
  readonly actionId: number;
  /** `ignore_notify = 'no'`: only contacts with `notify = 'yes'`. */
  readonly honourNotify: boolean;
  readonly params: ParamResolver;
  readonly change: ChangeTracker;
}

export interface Recipients {
  /** The addresses joined by ', ', or the error text iTop puts in the field. */
  readonly value: string;
  /** Non-empty addresses found. */
  readonly count: number;
  /** iTop's issue for this field (`query syntax error for recipient 'to'`...), if any. */
  readonly error?: string;
}

function failure(ctx: RecipientContext, field: RecipientField, oql: string, e: Error, issue: string): Recipients {
  ctx.log.error(
    { actionId: ctx.actionId, triggerId: ctx.triggerId, field, oql, err: e.message },
    `ActionEmail #${ctx.actionId}: recipient '${field}': ${e.message}`,
  );
  return { value: e.message, count: 0, error: `${issue} for recipient '${field}'` };
}

interface RecipientRow {
  id: number;
  email: string | null;
}

/** Computes one recipient field. Database errors propagate (iTop records them as `Error: ...`). */
export async function findRecipients(ctx: RecipientContext, field: RecipientField, oql: string | null): Promise<Recipients> {
  if (oql === null || oql === '') return { value: '', count: 0 };
  let parsed;
  try {
    parsed = parseOql(oql);
    if (parsed.kind !== 'query') throw new OqlUnsupportedError(parsed.kind === 'union' ? 'UNION' : 'not a SELECT query', oql);
  } catch (e) {
    if (e instanceof OqlError || e instanceof OqlUnsupportedError) return failure(ctx, field, oql, e, 'query syntax error');
    throw e;
  }
  let t;
  try {
    t = await translateQuery({ db: ctx.db, query: oql, params: ctx.params }, parsed);
  } catch (e) {
    if (e instanceof OqlError || e instanceof OqlUnsupportedError) return failure(ctx, field, oql, e, 'query syntax error');
    throw e;
  }
  const emailCode = emailAttribute(t.selectedClass);
  if (emailCode === undefined) {
    const e = new Error(`The objects of the class '${t.selectedClass}' do not have any email attribute`);
    return failure(ctx, field, oql, e, 'wrong target');
  }
  const isContact = isA(t.selectedClass, 'Contact');
  let where = t.where;
  const values: SqlParam[] = [...t.values];
  const db = ctx.db;
  if (ctx.honourNotify) {
    const columns = await tableColumns(db, tablesOf(t.selectedClass));
    if (resolveAttribute(t.selectedClass, 'notify', columns) !== undefined) {
      where = `(${where}) AND (${await selectedFieldSql(t, 'notify')} = 'yes')`;
    }
  }
  if (isContact) {
    where =
      `(${where}) AND (\`${t.selectedAlias}\`.id NOT IN (SELECT lnk.contact_id FROM ${db.table('priv_lnk_action_notif_to_contact')} AS lnk ` +
      "WHERE lnk.trigger_id = ? AND lnk.action_id = ? AND lnk.subscribed = '0'))";
    values.push(ctx.triggerId, ctx.actionId);
  }
  const email = await selectedFieldSql(t, emailCode);
  const name = await selectedFriendlyNameSql(t);
  const rows = await db.query<RecipientRow>(
    `SELECT DISTINCT \`${t.selectedAlias}\`.id AS id, ${email} AS email, ${name} AS fn FROM ${t.from} WHERE ${where} ORDER BY fn ASC`,
    values,
  );
  const addresses: string[] = [];
  for (const row of rows) {
    const address = (row.email ?? '').trim();
    if (address !== '') addresses.push(address);
    // iTop registers the subscription of every Contact fetched, even one without an address.
    if (isContact) {
      await registerSubscription(db, { actionId: ctx.actionId, contactId: Number(row.id), triggerId: ctx.triggerId }, ctx.change);
    }
  }
  return { value: addresses.join(', '), count: addresses.length };
}
