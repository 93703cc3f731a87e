/**
 * Telling an installed iTop from a trial database that `itop-cron init` made. iTop's setup records every
 * module it installs in `priv_module_install`; init creates that table but never writes to it. So a
 * database whose iTop tables (those of sql/*.sql, with the prefix) are present and whose
 * `priv_module_install` has rows, or is missing altogether, was installed by something else: iTop.
 */
import { schemaStatements } from '../db/schema.js';
import type { Db } from '../db/types.js';

/** What init found in the database before touching it. */
export interface ExistingTables {
  /** The iTop tables of sql/*.sql already present (prefixed names). */
  readonly present: readonly string[];
  /** Rows of priv_module_install; undefined when the table is missing. */
  readonly modules: number | undefined;
  /** True for an installed iTop: init must not add iTop tables or users there. */
  readonly installedItop: boolean;
}

const CREATE_RE = /^CREATE TABLE IF NOT EXISTS `([^`]+)`/;

/** The prefixed table names sql/*.sql creates. */
export function schemaTables(prefix: string): string[] {
  return schemaStatements(prefix).flatMap((s) => {
    const m = CREATE_RE.exec(s);
    return m?.[1] === undefined ? [] : [m[1]];
  });
}

/** Reads which iTop tables exist, and priv_module_install's row count, without changing anything. */
export async function inspectDatabase(db: Db): Promise<ExistingTables> {
  const wanted = schemaTables(db.prefix);
  const rows = await db.query<{ name: string }>(
    'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  );
  const existing = new Set(rows.map((r) => r.name));
  const present = wanted.filter((t) => existing.has(t));
  let modules: number | undefined;
  if (existing.has(`${db.prefix}priv_module_install`)) {
    const [count] = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${db.table('priv_module_install')}`);
    modules = Number(count?.n ?? 0);
  }
  const installedItop = present.length > 0 && (modules === undefined || modules > 0);
  return { present, modules, installedItop };
}
