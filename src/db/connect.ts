import mysql from 'mysql2/promise';
import { unreadableReason } from '../config/safeRead.js';
import { readTrustedFile } from '../config/trust.js';
import type { ConnectionOptions, PoolOptions } from 'mysql2/promise';
import type { Connection as CoreConnection } from 'mysql2';
import { describeDbHost } from '../config/load.js';
import type { DbSettings } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { translateDbError } from './errors.js';
import type { Db, Queryable, SqlParam } from './types.js';
import { bounded, CLOSE_TIMEOUT_MS, DbTimeoutError, DEFAULT_STATEMENT_TIMEOUT_MS, statementTimeoutMs } from './bounds.js';

/**
 * mysql2 options for iTop's database settings: host forms `host`, `host:port`, `p:host[:port]`,
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
    // As root, a CA file another user can write would let that user impersonate the server.
    return { ca: readTrustedFile(db.tlsCa), rejectUnauthorized: true };
  } catch (e) {
    const known = ['ENOTREG', 'ETOOBIG', 'ENOENT', 'EACCES', 'EISDIR', 'EUNTRUSTED'].includes(String((e as { code?: unknown }).code));
    throw new ConfigError(`Cannot read the database CA file 'db_tls.ca' = '${db.tlsCa}': ${known ? unreadableReason(e) : (e as Error).message}`);
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

/** True for mysql2's statement timeout: the connection still waits for that answer and must not be reused. */
function isTimeout(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'PROTOCOL_SEQUENCE_TIMEOUT';
}

/** One statement on `conn` with mysql2's `timeout`; a connection whose statement timed out is destroyed. */
async function run(conn: mysql.PoolConnection, sql: string, params: readonly SqlParam[], timeoutMs: number): Promise<unknown> {
  try {
    const [result] = await conn.query({ sql, values: params as SqlParam[], timeout: timeoutMs });
    return result;
  } catch (e) {
    if (isTimeout(e)) conn.destroy();
    throw e;
  }
}

/**
 * Statements on a connection taken from the pool for each one (or on the transaction's connection): every
 * one, and the wait for a connection, is bounded by `timeoutMs()` (src/db/bounds.ts).
 */
function queryable(
  conn: () => Promise<{ conn: mysql.PoolConnection; release: () => void }>,
  timeoutMs: () => number,
  onTimeout: () => void,
): Queryable {
  const once = async (sql: string, params: readonly SqlParam[]): Promise<unknown> =>
    wrap(async () => {
      const ms = timeoutMs();
      const c = await conn();
      try {
        return await run(c.conn, sql, params, ms);
      } catch (e) {
        if (isTimeout(e)) onTimeout();
        throw e;
      } finally {
        c.release();
      }
    });
  return {
    async query<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
      return (await once(sql, params)) as T[];
    },
    async execute(sql: string, params: readonly SqlParam[] = []) {
      return (await once(sql, params)) as mysql.ResultSetHeader;
    },
  };
}

/**
 * The rows of one SELECT as mysql2 streams them (src/db/types.ts Db.stream). mysql2 pauses the socket
 * while the stream's buffer is full, so memory holds a few hundred rows, not the result.
 */
async function* streamRows<T>(
  take: () => Promise<{ conn: mysql.PoolConnection; release: () => void }>,
  sql: string,
  params: readonly SqlParam[],
  timeoutMs: () => number,
  onTimeout: () => void,
): AsyncGenerator<T> {
  const ms = timeoutMs();
  const c = (await wrap(take)) as { conn: mysql.PoolConnection; release: () => void };
  let reusable = false;
  try {
    // mysql2's typings give the promise wrapper's `connection` the promise type; it is the callback one.
    const core = c.conn.connection as unknown as CoreConnection;
    const rows = core.query({ sql, values: params as SqlParam[], timeout: ms }).stream({ highWaterMark: 256 });
    try {
      for await (const row of rows as AsyncIterable<T>) yield row;
      reusable = true;
    } catch (e) {
      if (isTimeout(e)) onTimeout();
      throw translateDbError(e);
    }
  } finally {
    // Left early (the consumer stopped) or failed: the rest of the result is still on the wire.
    if (reusable) c.release();
    else c.conn.destroy();
  }
}

/** Bounds of one pool: the cap of a statement (ms, DEFAULT_STATEMENT_TIMEOUT_MS by default). */
export interface DbBounds {
  readonly statementTimeoutMs?: number;
}

/**
 * Opens the pool on iTop's database. The pool is small: the runner does one thing at a time. Every
 * statement is bounded (src/db/bounds.ts): by the cap, and by the run's deadline once one is set.
 */
export function openDb(settings: DbSettings, extra: Partial<PoolOptions> = {}, bounds: DbBounds = {}): Db {
  if (!PREFIX_RE.test(settings.prefix)) {
    throw new ConfigError(`Invalid table prefix 'db_subname' = '${settings.prefix}' (letters, digits and _ only)`);
  }
  const pool = mysql.createPool({ ...connectionOptions(settings), connectionLimit: 4, maxIdle: 2, ...extra });
  const cap = bounds.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  let deadline: number | undefined;
  // Set when a statement went unanswered past the deadline: the next ones fail at once instead of each
  // waiting its grace, so that the end of an aborted run (bookkeeping, history) takes one grace in all.
  let silent = false;
  const pastDeadline = (): boolean => deadline !== undefined && Date.now() >= deadline;
  const timeoutMs = (): number => {
    if (silent && pastDeadline()) throw new DbTimeoutError('past the run deadline (it stopped answering)', 0);
    return statementTimeoutMs(deadline, cap);
  };
  const onTimeout = (): void => {
    if (pastDeadline()) silent = true;
  };
  // Every connection the pool opened, to destroy them when a frozen server never answers the QUIT.
  const opened = new Set<{ destroy(): void }>();
  pool.on('connection', (c) => {
    opened.add(c);
    c.once('end', () => opened.delete(c));
    c.once('error', () => opened.delete(c));
  });
  const fromPool = async (): Promise<{ conn: mysql.PoolConnection; release: () => void }> => {
    const pending = pool.getConnection();
    try {
      const c = await bounded(pending, timeoutMs(), 'with a connection', onTimeout);
      return { conn: c, release: () => c.release() };
    } catch (e) {
      // A connection that comes after the caller gave up goes back to the pool.
      pending.then((late) => late.release(), () => undefined);
      throw e;
    }
  };
  const base = queryable(fromPool, timeoutMs, onTimeout);
  const tables = new Map<string, boolean>();
  return {
    ...base,
    prefix: settings.prefix,
    table: (name: string) => quoteIdentifier(settings.prefix + name),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const conn = (await wrap(() => fromPool())) as { conn: mysql.PoolConnection; release: () => void };
      const own = async (): Promise<{ conn: mysql.PoolConnection; release: () => void }> => ({ conn: conn.conn, release: () => undefined });
      const tx = queryable(own, timeoutMs, onTimeout);
      try {
        await tx.execute('START TRANSACTION');
        const result = await fn(tx);
        await tx.execute('COMMIT');
        return result;
      } catch (e) {
        await tx.execute('ROLLBACK').catch(() => undefined);
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
    stream<T extends object>(sql: string, params: readonly SqlParam[] = []): AsyncIterable<T> {
      return streamRows<T>(fromPool, sql, params, timeoutMs, onTimeout);
    },
    setDeadline(epochMs: number | undefined) {
      deadline = epochMs;
      silent = false;
    },
    deadline: () => deadline,
    async close() {
      try {
        await bounded(pool.end(), CLOSE_TIMEOUT_MS, 'to the end of the connections');
      } catch {
        // A frozen server never answers QUIT: drop the sockets, the server cleans up its side.
        for (const c of opened) c.destroy();
      }
    },
  };
}
