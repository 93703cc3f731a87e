import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';

/** A value bound to a `?` placeholder. */
export type SqlParam = string | number | bigint | boolean | null | Date | Buffer;

/** The statements a task or a SQL module may run: on the pool, or inside a transaction. */
export interface Queryable {
  /** SELECT: rows as plain objects (DATETIME as 'Y-m-d H:i:s' strings, DECIMAL as strings). */
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
  /** INSERT/UPDATE/DELETE: affected rows and insert id. */
  execute(sql: string, params?: readonly SqlParam[]): Promise<ResultSetHeader>;
}

/** The database of one iTop, with its table prefix. */
export interface Db extends Queryable {
  /** `db_subname`. */
  readonly prefix: string;
  /** The escaped, prefixed table name: table('priv_backgroundtask') → `` `pfx_priv_backgroundtask` ``. */
  table(name: string): string;
  /** Runs `fn` inside START TRANSACTION ... COMMIT on one pooled connection; ROLLBACK on error. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** True when the table (unprefixed name) exists in this database; cached. */
  hasTable(name: string): Promise<boolean>;
  /**
   * The run's hard deadline (epoch ms), or none: while set, no statement waits past it (only a short
   * grace for bookkeeping, src/db/bounds.ts). Optional: a Db made by other code may not bound anything.
   */
  setDeadline?(epochMs: number | undefined): void;
  /**
   * SELECT whose rows come one at a time as the server sends them, the connection paused while the
   * consumer is behind: a table of any size in bounded memory. Bounded by the same timeout as a statement,
   * for the whole result. Leaving the loop early closes the connection. Optional: a Db made by other
   * code may only have query().
   */
  stream?<T extends object = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): AsyncIterable<T>;
  deadline?(): number | undefined;
  /** Ends the connections; bounded, a frozen server does not keep it waiting. */
  close(): Promise<void>;
}

export type { ResultSetHeader, RowDataPacket };
