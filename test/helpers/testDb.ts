/**
 * One fresh database per test (`t_<hex>`) on the test server, holding our schema or a real iTop dump.
 * It is dropped after the test, or kept (and named on stderr) when the test failed, for inspection.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { TestContext } from 'node:test';
import bcrypt from 'bcryptjs';
import mysql from 'mysql2/promise';
import type { Connection, ResultSetHeader } from 'mysql2/promise';
import { applySchema } from '../../src/db/schema.js';
import { getTestServer, type TestServer } from './mariadb.js';
import { referenceDir } from './reference.js';
import { findBinary } from '../../src/mariadb/throwaway.js';

export interface TestDbOptions {
  /** iTop's `db_subname`, prepended to every table name; default ''. */
  prefix?: string;
  /** Apply our sql/ schema (default true; ignored when `reference` is given). */
  schema?: boolean;
  /** Load a real iTop dump instead: a name in reference/itop-3.2, or a path to a .sql file. */
  reference?: 'fresh-install' | 'sla-scenario' | string;
}

export interface TestDb {
  /** The database name, `t_<12 hex>`; also what iTop's lock-name formula is fed with. */
  readonly name: string;
  readonly prefix: string;
  readonly server: TestServer;
  /** `mysql://user:pwd@host:port/<name>`. */
  readonly url: string;
  /** A connection on this database, DATETIMEs as strings. */
  readonly conn: Connection;
  /** Runs one statement (text protocol) and returns its rows. */
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs one INSERT/UPDATE/DELETE/DDL statement and returns its result header. */
  execute(sql: string, params?: readonly unknown[]): Promise<ResultSetHeader>;
  /** `` `<prefix><name>` ``, the quoted table name. */
  table(name: string): string;
  /** ITOP_DB_* variables pointing the CLI at this database (merge into a child's env). */
  readonly env: Readonly<Record<string, string>>;
  /** Drops the database (idempotent). */
  drop(): Promise<void>;
}

/** Creates the database, fills it, and registers its clean-up on `t`. */
export async function createTestDb(t: TestContext, opts: TestDbOptions = {}): Promise<TestDb> {
  const server = await getTestServer();
  const name = `t_${randomBytes(6).toString('hex')}`;
  const prefix = opts.prefix ?? '';
  const conn = await mysql.createConnection({
    host: server.host, port: server.port, user: server.user, password: server.password,
    charset: 'UTF8MB4_UNICODE_CI', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true,
  });
  await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await conn.query(`USE \`${name}\``);
  let dropped = false;
  const db: TestDb = {
    name, prefix, server, conn,
    url: `${server.url}/${name}`,
    async query<T extends object>(sql: string, params: readonly unknown[] = []) {
      const [rows] = await conn.query(sql, [...params]);
      return rows as T[];
    },
    async execute(sql: string, params: readonly unknown[] = []) {
      const [result] = await conn.query(sql, [...params]);
      return result as ResultSetHeader;
    },
    table: (table) => `\`${prefix}${table}\``,
    env: {
      ITOP_DB_HOST: `${server.host}:${server.port}`,
      ITOP_DB_USER: server.user,
      ITOP_DB_PWD: server.password,
      ITOP_DB_NAME: name,
      ITOP_DB_SUBNAME: prefix,
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    },
  };
  t.after(async () => {
    // TestContext.passed exists at run time on Node >= 20.12 but not in @types/node 20.
    const passed = (t as TestContext & { passed?: boolean }).passed;
    if (passed === false) process.stderr.write(`kept test database ${name} on ${server.host}:${server.port}\n`);
    else await db.drop().catch(() => undefined);
    await conn.end().catch(() => undefined);
  });
  if (opts.reference !== undefined) {
    await loadDump(server, name, referenceFile(opts.reference));
    if (prefix !== '') await prefixAllTables(db, prefix);
  } else if (opts.schema !== false) {
    await applySchema({ execute: (sql) => conn.query(sql) }, prefix);
  }
  return db;
}

function referenceFile(reference: string): string {
  if (reference.endsWith('.sql') || isAbsolute(reference)) return reference;
  const dir = referenceDir();
  if (dir === undefined) throw new Error(`reference dump '${reference}' wanted but reference/itop-3.2 was not found`);
  return join(dir, `${reference}.sql`);
}

/**
 * Loads a mysqldump file. The client binary is preferred: it understands everything a dump may hold
 * (DELIMITER, the sandbox line); mysql2 with multipleStatements is the fallback, for tests only.
 */
export async function loadDump(server: TestServer, database: string, file: string): Promise<void> {
  const client = findBinary('mariadb', 'mysql');
  if (client === undefined) {
    const conn = await mysql.createConnection({
      host: server.host, port: server.port, user: server.user, password: server.password,
      database, multipleStatements: true, charset: 'UTF8MB4_UNICODE_CI',
    });
    try {
      await conn.query(readFileSync(file, 'utf8'));
    } finally {
      await conn.end();
    }
    return;
  }
  // The password goes through the child's environment (readable by this user only), never on argv.
  await new Promise<void>((resolve, reject) => {
    const child = spawn(client, [
      '--no-defaults', '--protocol=TCP', `--host=${server.host}`, `--port=${server.port}`, `--user=${server.user}`,
      '--default-character-set=utf8mb4', database,
    ], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, MYSQL_PWD: server.password } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`loading ${file} failed (exit ${code}): ${stderr.trim()}`));
    });
    createReadStream(file).on('error', reject).pipe(child.stdin);
  });
}

/** Renames every table of a dump (written without prefix) to `<prefix><table>`, for prefix tests on real data. */
async function prefixAllTables(db: TestDb, prefix: string): Promise<void> {
  const tables = await db.query<{ name: string }>(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?', [db.name],
  );
  if (tables.length === 0) return;
  await db.execute(`RENAME TABLE ${tables.map((r) => `\`${r.name}\` TO \`${prefix}${r.name}\``).join(', ')}`);
}

export interface TestUserOptions {
  login: string;
  password: string;
  /** Links the `Administrator` profile; otherwise `Configuration Manager` (as user1 in sla-scenario.sql). */
  admin: boolean;
  status?: 'enabled' | 'disabled';
  /** The user's class; default UserLocal. Only UserLocal has a password in the database. */
  kind?: 'UserLocal' | 'UserExternal' | 'UserLDAP';
  /** Store the pre-2.5 salted SHA-256 instead of bcrypt. */
  legacySha256?: boolean;
  /** Profile names to link instead of the default one. */
  profiles?: readonly string[];
  /** `priv_user.contactid`; default 0. */
  contactId?: number;
}

/**
 * Writes an iTop user as the setup and the console do:
 * priv_user, then priv_internaluser + priv_user_local (UserLocal) or priv_user_ldap (UserLDAP), all with one
 * id, and the profile links. Returns the user id.
 */
export async function createAdminUser(db: TestDb, opts: TestUserOptions): Promise<number> {
  const kind = opts.kind ?? 'UserLocal';
  const user = await db.execute(
    `INSERT INTO ${db.table('priv_user')} (contactid, login, language, status, log, log_index, finalclass) ` +
      "VALUES (?, ?, 'EN US', ?, '', 'a:0:{}', ?)",
    [opts.contactId ?? 0, opts.login, opts.status ?? 'enabled', kind],
  );
  const id = user.insertId;
  if (kind !== 'UserExternal') {
    await db.execute(
      `INSERT INTO ${db.table('priv_internaluser')} (id, reset_pwd_token_hash, reset_pwd_token_salt, finalclass) VALUES (?, '', '', ?)`,
      [id, kind],
    );
  }
  if (kind === 'UserLocal') {
    const { hash, salt } = passwordColumns(opts.password, opts.legacySha256 === true);
    await db.execute(
      `INSERT INTO ${db.table('priv_user_local')} (id, password_hash, password_salt, expiration, password_renewed_date) ` +
        "VALUES (?, ?, ?, 'never_expire', CURDATE())",
      [id, hash, salt],
    );
  } else if (kind === 'UserLDAP') {
    await db.execute(`INSERT INTO ${db.table('priv_user_ldap')} (id, ldap_server) VALUES (?, '')`, [id]);
  }
  for (const profile of opts.profiles ?? [opts.admin ? 'Administrator' : 'Configuration Manager']) {
    await db.execute(
      `INSERT INTO ${db.table('priv_urp_userprofile')} (userid, profileid, description) ` +
        `SELECT ?, id, 'test' FROM ${db.table('priv_urp_profiles')} WHERE name = ? LIMIT 1`,
      [id, profile],
    );
  }
  return id;
}

/**
 * The two stored forms of an iTop password: bcrypt as PHP writes it (`$2y$`, empty salt; cost 4 keeps tests
 * fast, verification reads the cost from the hash), or the legacy hex(SHA-256(salt ‖ password)) with 16 raw
 * salt bytes.
 */
export function passwordColumns(password: string, legacySha256 = false): { hash: string; salt: Buffer | string } {
  if (legacySha256) {
    const salt = randomBytes(16);
    const hash = createHash('sha256').update(Buffer.concat([salt, Buffer.from(password, 'utf8')])).digest('hex');
    return { hash, salt };
  }
  return { hash: bcrypt.hashSync(password, 4).replace(/^\$2[ab]\$/, '$2y$'), salt: '' };
}
