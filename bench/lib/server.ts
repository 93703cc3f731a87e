/**
 * The bench's own MariaDB (test/helpers' throwaway server) with one database per figure, an iTop
 * administrator hashed as iTop hashes it (bcrypt cost 10, not the tests' cost 4), and a dedicated SQL
 * account for itop-cron so that the general log tells its statements from the harness's.
 */
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import mysql from 'mysql2/promise';
import type { Connection, ResultSetHeader } from 'mysql2/promise';
import type { DbSettings } from '../../src/config/types.js';
import { applySchema } from '../../src/db/schema.js';
import { createAdminUser, type TestDb } from '../../test/helpers/testDb.js';
import { startThrowawayServer, type ThrowawayServer } from '../../src/mariadb/throwaway.js';

/** The iTop administrator every bench database holds. */
export const ADMIN = { login: 'admin', password: 'Bench.Admin.2024!' } as const;
/** The SQL account itop-cron and the floors connect with (never root: see the general log filter). */
export const CRON_SQL_USER = 'itopcron';

export interface BenchDb extends TestDb {
  /** iTop's database settings for openDb(), as the cron SQL account. */
  readonly settings: DbSettings;
}

export interface BenchServer {
  readonly port: number;
  readonly version: string;
  /** Root connection of the harness (no default database). */
  readonly root: Connection;
  /** A fresh database with our schema and the administrator. */
  createDb(label: string): Promise<BenchDb>;
  stop(): Promise<void>;
}

function connect(port: number, user: string, password: string, database?: string): Promise<Connection> {
  return mysql.createConnection({
    host: '127.0.0.1', port, user, password, database,
    charset: 'UTF8MB4_UNICODE_CI', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true,
  });
}

/**
 * Starts the server. The buffer pool is raised to 1 GiB (the default 128 MiB cannot hold the million-row
 * tables, and a production server would be sized for its data) and commits are durable again; both sides
 * of every figure run on it.
 */
export async function startBenchServer(): Promise<BenchServer> {
  const server: ThrowawayServer = await startThrowawayServer();
  const root = await connect(server.port, 'root', '');
  await root.query('SET GLOBAL innodb_buffer_pool_size = 1073741824');
  // Durable commits, as a production server (the test fixture starts with 0 for speed). BENCH_DURABLE=0
  // keeps them off, to see what the disk's fsync costs; never for results.
  const durable = process.env['BENCH_DURABLE'] === '0' ? 0 : 1;
  await root.query(`SET GLOBAL innodb_flush_log_at_trx_commit = ${durable}`);
  const cronPassword = randomBytes(12).toString('hex');
  await root.query(`CREATE USER '${CRON_SQL_USER}'@'127.0.0.1' IDENTIFIED BY ?`, [cronPassword]);
  await root.query(`GRANT ALL PRIVILEGES ON *.* TO '${CRON_SQL_USER}'@'127.0.0.1'`);
  const [rows] = await root.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
  const version = String(rows[0]?.['v'] ?? '?');
  const hash = bcrypt.hashSync(ADMIN.password, 10).replace(/^\$2[ab]\$/, '$2y$');
  return {
    port: server.port,
    version,
    root,
    createDb: (label) => createDb(server.port, cronPassword, hash, label),
    async stop() {
      await root.end().catch(() => undefined);
      await server.stop();
    },
  };
}

async function createDb(port: number, cronPassword: string, adminHash: string, label: string): Promise<BenchDb> {
  const name = `bench_${label}_${randomBytes(3).toString('hex')}`;
  const admin = await connect(port, 'root', '');
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.query(`USE \`${name}\``);
  const settings: DbSettings = {
    host: `127.0.0.1:${port}`, user: CRON_SQL_USER, password: cronPassword, name, prefix: '',
    tlsEnabled: false, tlsCa: undefined, socketPath: undefined,
  };
  const db: BenchDb = {
    name, prefix: '', conn: admin, settings,
    server: { host: '127.0.0.1', port, user: 'root', password: '', url: `mysql://root@127.0.0.1:${port}` },
    url: `mysql://root@127.0.0.1:${port}/${name}`,
    async query<T extends object>(sql: string, params: readonly unknown[] = []) {
      const [r] = await admin.query(sql, [...params]);
      return r as T[];
    },
    async execute(sql: string, params: readonly unknown[] = []) {
      const [r] = await admin.query(sql, [...params]);
      return r as ResultSetHeader;
    },
    table: (t) => `\`${t}\``,
    env: {
      ITOP_DB_HOST: settings.host, ITOP_DB_USER: CRON_SQL_USER, ITOP_DB_PWD: cronPassword, ITOP_DB_NAME: name,
    },
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
  await applySchema({ execute: (sql) => admin.query(sql) }, '');
  const id = await createAdminUser(db, { login: ADMIN.login, password: ADMIN.password, admin: true });
  // iTop's own hash (PHP password_hash default: bcrypt cost 10), so that start-up pays what it pays on iTop.
  await admin.query('UPDATE priv_user_local SET password_hash = ? WHERE id = ?', [adminHash, id]);
  return db;
}
