import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import type { ConnectionOptions, Pool, PoolOptions } from 'mysql2/promise';
import { describeDbHost } from '../config/load.js';
import type { DbSettings } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { translateDbError } from './errors.js';
import type { Db, Queryable, SqlParam } from './types.js';

/**
 * mysql2 options for iTop's database settings (spec §9): host forms `host`, `host:port`, `p:host[:port]`,
 * `localhost` without port = the Unix socket; utf8mb4_unicode_ci as iTop's `SET NAMES`; naive DATETIMEs
 * kept as strings (they are iTop-local times); TLS per `db_tls.*`.
 */
export function connectionOptions(db: DbSettings): ConnectionOptions {
  const where = describeDbHost(db.host);
  const options: ConnectionOptions = {
    user: db.user,
    password: db.password,
    database: db.name,
    charset: 'UTF8MB4_UNICODE_CI',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    connectTimeout: 10_000,
  };
  if (where.socket && db.socketPath !== undefined) options.socketPath = db.socketPath;
  else {
    options.host = where.host;
    options.port = where.port ?? 3306;
  }
  if (db.tlsEnabled) options.ssl = tlsOptions(db);
  return options;
}

function tlsOptions(db: DbSettings): { ca?: string; rejectUnauthorized: boolean } {
  // iTop: with a CA the certificate is verified; without one the link is encrypted but not verified.
  if (db.tlsCa === undefined || db.tlsCa === '') return { rejectUnauthorized: false };
  try {
    return { ca: readFileSync(db.tlsCa, 'utf8'), rejectUnauthorized: true };
  } catch (e) {
    throw new ConfigError(`Cannot read the database CA file 'db_tls.ca' = '${db.tlsCa}': ${(e as Error).message}`);
  }
}

const PREFIX_RE = /^[A-Za-z0-9_$]*$/;

/** Escapes an identifier once, for the prefixed table names. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

function wrap(run: () => Promise<unknown>): Promise<unknown> {
  return run().catch((e: unknown) => {
    throw translateDbError(e);
  });
}

function queryable(target: Pool | mysql.PoolConnection): Queryable {
  return {
    async query<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
      const [rows] = (await wrap(() => target.query(sql, params as SqlParam[]))) as [T[], unknown];
      return rows;
    },
    async execute(sql: string, params: readonly SqlParam[] = []) {
      const [result] = (await wrap(() => target.query(sql, params as SqlParam[]))) as [mysql.ResultSetHeader, unknown];
      return result;
    },
  };
}

/** Opens the pool on iTop's database. The pool is small: the runner does one thing at a time. */
export function openDb(settings: DbSettings, extra: Partial<PoolOptions> = {}): Db {
  if (!PREFIX_RE.test(settings.prefix)) {
    throw new ConfigError(`Invalid table prefix 'db_subname' = '${settings.prefix}' (letters, digits and _ only)`);
  }
  const pool = mysql.createPool({ ...connectionOptions(settings), connectionLimit: 4, maxIdle: 2, ...extra });
  const base = queryable(pool);
  const tables = new Map<string, boolean>();
  return {
    ...base,
    prefix: settings.prefix,
    table: (name: string) => quoteIdentifier(settings.prefix + name),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const conn = (await wrap(() => pool.getConnection())) as mysql.PoolConnection;
      try {
        await wrap(() => conn.query('START TRANSACTION'));
        const result = await fn(queryable(conn));
        await wrap(() => conn.query('COMMIT'));
        return result;
      } catch (e) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        conn.release();
      }
    },
    async hasTable(name: string): Promise<boolean> {
      const cached = tables.get(name);
      if (cached !== undefined) return cached;
      const rows = await base.query(
        'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [settings.prefix + name],
      );
      tables.set(name, rows.length > 0);
      return rows.length > 0;
    },
    close: () => pool.end(),
  };
}
