/**
 * A database on a MariaDB server of the test's own (startThrowawayServer), for scenarios that stop,
 * freeze (SIGSTOP) or restart the server under a run: our schema and an administrator, a parameter
 * file with its credentials, and a query helper that opens a fresh connection each time.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import mysql from 'mysql2/promise';
import { applySchema } from '../../src/db/schema.js';
import { writeParamFile } from './cli.js';
import { startThrowawayServer, type ThrowawayServer } from './mariadb.js';
import { createAdminUser, type TestDb } from './testDb.js';

export interface OwnServerDb {
  readonly server: ThrowawayServer;
  /** The parts of TestDb the CLI helpers need (env, name, table, execute). */
  readonly db: TestDb;
  /** A parameter file with the administrator's credentials. */
  readonly params: string;
  /** One statement on a fresh connection (the server may have gone away since the last one). */
  query(sql: string): Promise<Record<string, unknown>[]>;
}

/** Starts the server, creates the database and the administrator `admin` / `password`. */
export async function ownServerDb(t: TestContext, password: string): Promise<OwnServerDb> {
  const server = await startThrowawayServer();
  t.after(() => {
    // A test that failed while the server was frozen must not leave it stopped.
    if (server.pid !== undefined) {
      try {
        process.kill(server.pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    return server.stop();
  });
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.query(`USE \`${name}\``);
  await applySchema({ execute: (sql) => admin.query(sql) }, '');
  const db = {
    name,
    prefix: '',
    server: { host: '127.0.0.1', port: server.port, user: 'root', password: '', url: server.url },
    env: { ITOP_DB_HOST: `127.0.0.1:${server.port}`, ITOP_DB_USER: 'root', ITOP_DB_PWD: '', ITOP_DB_NAME: name, ITOP_DB_SUBNAME: '' },
    table: (tbl: string) => `\`${tbl}\``,
    execute: async (sql: string, params: readonly unknown[] = []) => (await admin.query(sql, [...params]))[0],
    query: async (sql: string, params: readonly unknown[] = []) => (await admin.query(sql, [...params]))[0],
  } as unknown as TestDb;
  await createAdminUser(db, { login: 'admin', password, admin: true });
  await admin.end();
  const query = async (sql: string): Promise<Record<string, unknown>[]> => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', database: name, dateStrings: true });
    try {
      return (await c.query<mysql.RowDataPacket[]>(sql))[0];
    } finally {
      await c.end();
    }
  };
  return { server, db, params: writeParamFile(`auth_user=admin\nauth_pwd=${password}\n`), query };
}
