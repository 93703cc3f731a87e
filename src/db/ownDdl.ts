/**
 * The DDL of itop-cron's own tables (sql/own/*.sql), read from the shipped files so that each table has one
 * definition: comment lines dropped, the trailing `;` removed, `{prefix}` replaced by iTop's table prefix.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { listSchemaFiles } from './schema.js';
import type { Db } from './types.js';

export function ownTableDdl(file: string, prefix: string): string {
  const [first] = listSchemaFiles();
  if (first === undefined) throw new Error("itop-cron's sql/ folder is empty");
  return readFileSync(join(dirname(first), 'own', file), 'utf8')
    .split(/\r?\n/)
    .filter((l) => !/^\s*--/.test(l))
    .join('\n')
    .trim()
    .replace(/;$/, '')
    .replaceAll('{prefix}', prefix);
}

const ensured = new WeakMap<Db, Set<string>>();

/**
 * Creates one of itop-cron's own tables (`file` of sql/own/, unprefixed `table`) unless it exists: once per
 * Db. The existence check comes first because on Galera every DDL statement, even a CREATE TABLE IF NOT
 * EXISTS of a table that is there, is replicated in total order and holds the whole cluster for a moment,
 * and a database user without CREATE can still use a table that exists.
 */
export async function ensureOwnTable(db: Db, file: string, table: string): Promise<void> {
  const done = ensured.get(db) ?? new Set<string>();
  ensured.set(db, done);
  if (done.has(table)) return;
  if (!(await db.hasTable(table))) await db.execute(ownTableDdl(file, db.prefix));
  done.add(table);
}
