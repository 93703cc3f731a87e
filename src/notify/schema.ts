/**
 * The columns of iTop's tables, read once per database from information_schema: an attribute the
 * described model does not know but the tables hold (a custom field of an extension) can still be used
 * in placeholders and queries.
 */
import type { Db } from '../db/types.js';

const cache = new WeakMap<Db, Map<string, readonly string[]>>();

/** The columns of each table (unprefixed names in, unprefixed names out); a missing table has none. */
export async function tableColumns(db: Db, tables: readonly string[]): Promise<ReadonlyMap<string, readonly string[]>> {
  let known = cache.get(db);
  if (known === undefined) {
    known = new Map();
    cache.set(db, known);
  }
  const missing = tables.filter((t) => !known.has(t));
  if (missing.length > 0) {
    const rows = await db.query<{ t: string; c: string }>(
      'SELECT table_name AS t, column_name AS c FROM information_schema.columns ' +
        `WHERE table_schema = DATABASE() AND table_name IN (${missing.map(() => '?').join(', ')}) ORDER BY ordinal_position`,
      missing.map((t) => db.prefix + t),
    );
    for (const t of missing) known.set(t, []);
    for (const row of rows) {
      const table = row.t.slice(db.prefix.length);
      known.set(table, [...(known.get(table) ?? []), row.c]);
    }
  }
  const out = new Map<string, readonly string[]>();
  for (const t of tables) out.set(t, known.get(t) ?? []);
  return out;
}
