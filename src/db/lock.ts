import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { DbSettings } from '../config/types.js';
import { bounded, CLOSE_TIMEOUT_MS } from './bounds.js';
import { connectionOptions } from './connect.js';
import { translateDbError } from './errors.js';
import type { Queryable } from './types.js';

/**
 * iTop's mutex name: 'itop.' + md5(base + db_name + db_subname), where nothing is appended
 * when the base already ends with that suffix. The same name as PHP's `new iTopMutex('cron')`, so that
 * itop-cron, cron.php, the setup and the restore exclude each other.
 */
export function lockName(base: string, dbName: string, prefix: string): string {
  const suffix = dbName + prefix;
  const s = base.endsWith(suffix) ? base : base + suffix;
  return `itop.${createHash('md5').update(s, 'utf8').digest('hex')}`;
}

/** The wait_timeout PHP sets on its lock connection so that an idle lock is not dropped by the server. */
const LOCK_WAIT_TIMEOUT = 86400;

/**
 * The bound of a statement on the lock connection (they are all instant on a healthy server): a frozen
 * server must not hold the run on a lock check or on the release at its end.
 */
const LOCK_STATEMENT_MS = 5_000;

/**
 * A named lock held on its own connection (never a pooled one: a lock belongs to a session).
 */
export class NamedLock {
  readonly name: string;
  private readonly conn: mysql.Connection;
  private held = false;
  /** Server id of the lock connection, to check `IS_USED_LOCK(name) = <id>` from any connection. */
  readonly connectionId: number;

  private constructor(name: string, conn: mysql.Connection, connectionId: number) {
    this.name = name;
    this.conn = conn;
    this.connectionId = connectionId;
  }

  /** Opens the dedicated connection and raises its wait_timeout as PHP's iTopMutex does. */
  static async open(db: DbSettings, name: string): Promise<NamedLock> {
    // Keep-alive: a lock connection idle for the whole run notices a dead path to the server.
    const conn = await mysql.createConnection({ ...connectionOptions(db), enableKeepAlive: true, keepAliveInitialDelay: 10_000 });
    try {
      conn.on('error', () => undefined); // a dropped lock connection is detected by isHeld(), not by a crash
      const [vars] = await conn.query<mysql.RowDataPacket[]>({ sql: "SHOW VARIABLES LIKE 'wait_timeout'", timeout: LOCK_STATEMENT_MS });
      if (Number(vars[0]?.['Value'] ?? 0) < LOCK_WAIT_TIMEOUT) {
        await conn.query({ sql: `SET SESSION wait_timeout=${LOCK_WAIT_TIMEOUT}`, timeout: LOCK_STATEMENT_MS });
      }
      const [ids] = await conn.query<mysql.RowDataPacket[]>({ sql: 'SELECT CONNECTION_ID() AS id', timeout: LOCK_STATEMENT_MS });
      return new NamedLock(name, conn, Number(ids[0]?.['id']));
    } catch (e) {
      conn.destroy();
      throw translateDbError(e);
    }
  }

  /** GET_LOCK(name, timeout): true when acquired, false when someone else holds it. */
  async acquire(timeoutSeconds = 0): Promise<boolean> {
    const [rows] = await this.run(() => this.statement('SELECT GET_LOCK(?, ?) AS r', [this.name, timeoutSeconds], timeoutSeconds * 1000 + LOCK_STATEMENT_MS));
    const r = rows[0]?.['r'];
    if (r === null || r === undefined) throw new Error(`Failed to acquire the lock '${this.name}'`);
    this.held = Number(r) === 1;
    return this.held;
  }

  /** True when this connection still owns the lock (the server releases it if the connection drops). */
  async isHeld(): Promise<boolean> {
    if (!this.held) return false;
    try {
      const [rows] = await this.statement('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [this.name]);
      return Number(rows[0]?.['mine']) === 1;
    } catch {
      return false;
    }
  }

  /**
   * RELEASE_LOCK, then closes the connection (which would release it anyway). Bounded: when the server
   * does not answer, the socket is dropped and the server releases the lock when it sees it closed.
   */
  async close(): Promise<void> {
    try {
      if (this.held) await this.statement('SELECT RELEASE_LOCK(?)', [this.name], CLOSE_TIMEOUT_MS);
    } catch {
      // the connection is gone (or the server frozen): the server releases the lock with the session
    } finally {
      this.held = false;
      await bounded(this.conn.end(), CLOSE_TIMEOUT_MS, 'to the end of the lock connection').catch(() => this.conn.destroy());
    }
  }

  /** One statement with a bound; a timed-out connection cannot be used again (it waits for that answer). */
  private async statement(sql: string, values: unknown[], timeoutMs = LOCK_STATEMENT_MS): Promise<[mysql.RowDataPacket[], unknown]> {
    try {
      return await this.conn.query<mysql.RowDataPacket[]>({ sql, values, timeout: timeoutMs });
    } catch (e) {
      if ((e as { code?: unknown }).code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
        this.held = false;
        this.conn.destroy();
      }
      throw e;
    }
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw translateDbError(e);
    }
  }
}

/** IS_USED_LOCK from any connection: the id of the connection holding `name`, or null when it is free. */
export async function lockOwner(q: Queryable, name: string): Promise<number | null> {
  const rows = await q.query<{ owner: number | string | null }>('SELECT IS_USED_LOCK(?) AS owner', [name]);
  const owner = rows[0]?.owner;
  return owner === null || owner === undefined ? null : Number(owner);
}

/** IS_FREE_LOCK from any connection: true when nobody holds `name` (used for the restore lock). */
export async function isLockFree(q: Queryable, name: string): Promise<boolean> {
  const rows = await q.query<{ free: number | string | null }>('SELECT IS_FREE_LOCK(?) AS free', [name]);
  return Number(rows[0]?.free) === 1;
}
