import mysql from 'mysql2/promise';
import { hashItopPassword } from '../auth/hash.js';
import type { Config } from '../config/types.js';
import { connectionOptions } from '../db/connect.js';
import { applySchema, schemaStatements } from '../db/schema.js';
import type { Db } from '../db/types.js';
import { createLocalUser, findEnabledUser } from '../db/users.js';
import { ensureHistoryTable, HISTORY_TABLE } from '../db/runHistory.js';

/** What `itop-cron init` did. */
export interface InitReport {
  readonly database: string;
  readonly statements: number;
  readonly adminCreated: boolean;
}

/** CREATE DATABASE IF NOT EXISTS, as iTop's setup creates it (utf8mb4_unicode_ci). */
export async function ensureDatabase(config: Config): Promise<void> {
  const { database: _ignored, ...server } = connectionOptions(config.db);
  const conn = await mysql.createConnection(server);
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${config.db.name.replace(/`/g, '``')}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
}

/**
 * A standalone database for trying itop-cron without iTop: the iTop tables the runner touches (from the
 * package's sql/ files, with the prefix) and one local administrator. Idempotent: existing tables and an
 * existing enabled user of that login are kept.
 */
export async function initStandalone(config: Config, db: Db, admin: { login: string; password: string }): Promise<InitReport> {
  await applySchema({ execute: (sql: string) => db.execute(sql) }, config.db.prefix);
  let adminCreated = false;
  if ((await findEnabledUser(db, admin.login)) === undefined) {
    await createLocalUser(db, { login: admin.login, passwordHash: await hashItopPassword(admin.password), administrator: true });
    adminCreated = true;
  }
  return { database: config.db.name, statements: schemaStatements(config.db.prefix).length, adminCreated };
}

/**
 * `init --existing_itop=1` on an installed iTop: only itop-cron's own tables (sql/own/), which iTop does
 * not know about. No iTop table (a module that is not installed must stay absent) and no user: the
 * iTop's own setup owns those. Returns the names of the tables that were missing.
 */
export async function initOwnTables(db: Db): Promise<string[]> {
  const missing = !(await db.hasTable(HISTORY_TABLE));
  await ensureHistoryTable(db);
  return missing ? [db.prefix + HISTORY_TABLE] : [];
}
