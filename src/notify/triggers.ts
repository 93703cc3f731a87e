/**
 * Which TriggerOnThresholdReached fire and which actions they run:
 * triggers of the object's class or a parent class, for the stopwatch and the threshold index, by
 * `description`; each one's `filter` OQL must select the object and its `context` must be empty or name a
 * tag of the cron's context stack; its actions run by link `order`, then link id.
 */
import type { Db } from '../db/types.js';
import { escapeHtml } from './html.js';
import { OqlError, OqlUnsupportedError, parseOql } from './oql.js';
import { translateQuery, type ParamResolver } from './oqlSql.js';

export interface TriggerRow {
  id: number;
  description: string | null;
  context: string | null;
  target_class: string | null;
  filter: string | null;
}

export interface ActionLink {
  link_id: number;
  action_id: number;
  order: number | null;
}

/** The context tags of a cron task (iTop's ContextTag stack while CheckStopWatchThresholds runs). */
export const CRON_CONTEXT = ['CRON', 'CRON:Task:CheckStopWatchThresholds'] as const;

/** A trigger failure that ends the task's pass in iTop (the threshold mark is already saved). */
export class TriggerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TriggerError';
  }
}

/**
 * The triggers for (class path, stopwatch, threshold), in iTop's order: `description` ascending. The
 * stopwatch code is stored `|tto|`; iTop matches it with a FULLTEXT `MATCH ... AGAINST`, which this
 * reproduces as the exact `|code|` match it stands for.
 */
export async function selectTriggers(
  db: Db,
  classPath: readonly string[],
  stopwatch: string,
  threshold: string,
): Promise<TriggerRow[]> {
  if (classPath.length === 0) return [];
  return db.query<TriggerRow>(
    'SELECT t.id AS id, tr.description AS description, tr.context AS context, o.target_class AS target_class, o.filter AS filter ' +
      `FROM ${db.table('priv_trigger_threshold')} AS t ` +
      `INNER JOIN ${db.table('priv_trigger_onobject')} AS o ON o.id = t.id ` +
      `INNER JOIN ${db.table('priv_trigger')} AS tr ON tr.id = t.id ` +
      `WHERE o.target_class IN (${classPath.map(() => '?').join(', ')}) ` +
      "AND t.stop_watch_code LIKE CONCAT('%|', ?, '|%') AND t.threshold_index = ? " +
      'ORDER BY tr.description ASC, t.id ASC',
    [...classPath, stopwatch, threshold],
  );
}

/** iTop's string form of the trigger, appended to the message of an error raised while activating it. */
export function triggerLabel(t: TriggerRow): string {
  return `<b title="Trigger">TriggerOnThresholdReached</b>::${t.id} (${escapeHtml(t.description ?? '')})<br/>`;
}

/**
 * True when the trigger's filter selects the object (or there is no filter). A filter that does not
 * parse or translate throws a TriggerError with iTop's enriched message `<error> (<trigger>)`.
 */
export async function filterMatches(db: Db, t: TriggerRow, objectId: number, params: ParamResolver): Promise<boolean> {
  const filter = (t.filter ?? '').trim();
  if (filter === '') return true;
  try {
    const parsed = parseOql(filter);
    if (parsed.kind !== 'query') throw new OqlUnsupportedError(parsed.kind === 'union' ? 'UNION' : 'not a SELECT query', filter);
    const q = await translateQuery({ db, query: filter, params }, parsed);
    const rows = await db.query<{ n: number }>(
      `SELECT COUNT(DISTINCT \`${q.selectedAlias}\`.id) AS n FROM ${q.from} WHERE (${q.where}) AND \`${q.selectedAlias}\`.id = ?`,
      [...q.values, objectId],
    );
    return Number(rows[0]?.n ?? 0) > 0;
  } catch (e) {
    if (e instanceof OqlError || e instanceof OqlUnsupportedError) {
      throw new TriggerError(`${e.message} (${triggerLabel(t)})`, { cause: e });
    }
    throw e;
  }
}

/** True when the trigger's context set is empty or holds a tag of the cron context stack. */
export function contextMatches(t: TriggerRow): boolean {
  const tags = (t.context ?? '').split('|').map((s) => s.trim()).filter((s) => s !== '');
  return tags.length === 0 || tags.some((tag) => (CRON_CONTEXT as readonly string[]).includes(tag));
}

/** The action links of a trigger in execution order: `order` ascending, then link id (iTop's fetch order). */
export function actionLinks(db: Db, triggerId: number): Promise<ActionLink[]> {
  return db.query<ActionLink>(
    `SELECT link_id, action_id, \`order\` FROM ${db.table('priv_link_action_trigger')} WHERE trigger_id = ? ORDER BY COALESCE(\`order\`, 0) ASC, link_id ASC`,
    [triggerId],
  );
}
