/**
 * Leases for cluster mode (issue 15): rows of `{p}itop_cron_lease` (sql/own/92-itop-cron-leases.sql), each
 * held by one runner until its `expires`, on the database's clock (NOW(3)) so that runners' own clocks do
 * not count. A claim is a compare-and-set UPDATE checked by its affected rows; every claim adds one to the
 * row's `epoch`, the fencing token a holder's writes carry (fenced()).
 *
 * On Galera two nodes may run the same UPDATE at once: both succeed locally and certification aborts one
 * of them at COMMIT with error 1213. That, a lock wait timeout (1205) and a node that left the cluster
 * (1047, "WSREP has not yet prepared node for application use") all mean "not yours": undefined / false,
 * never an exception.
 */
import { ensureOwnTable } from '../db/ownDdl.js';
import { isMissingTable } from '../db/runHistory.js';
import type { RowFence } from '../db/backgroundTasks.js';
import type { Db, Queryable } from '../db/types.js';

/** The unprefixed table name. */
export const LEASE_TABLE = 'itop_cron_lease';

/** A lease this runner holds: what every renewal and fenced write is checked against. */
export interface Lease {
  readonly name: string;
  readonly owner: string;
  /** The fencing token: grows at every claim, by anyone. */
  readonly epoch: number;
  /** Who held it before this claim ('' for the first claim ever, `owner` for a re-claim). */
  readonly previous: string;
  /**
   * True when `previous` released the lease (release()); false when it let the lease expire (it died, was
   * paused or cut off past the TTL) and for the first claim ever.
   */
  readonly released: boolean;
}

/** Errors that mean another runner (or the cluster) decided against us. */
const LOST_ERRNOS = new Set([1213, 1205, 1047]);

/** True for a certification failure / deadlock, a lock wait timeout or a node outside the primary component. */
export function isLeaseConflict(e: unknown): boolean {
  const errno = (e as { errno?: number } | null)?.errno;
  return errno !== undefined && LOST_ERRNOS.has(errno);
}

async function orLost<T>(fn: () => Promise<T>, lost: T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isLeaseConflict(e)) return lost;
    throw e;
  }
}

/** Creates the table once per Db (CREATE TABLE IF NOT EXISTS: runners starting together may all run it). */
export async function ensureLeaseTable(db: Db): Promise<void> {
  await ensureOwnTable(db, '92-itop-cron-leases.sql', LEASE_TABLE);
}

function checkTtl(ttlSeconds: number): void {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`lease TTL must be a positive number of seconds, not ${ttlSeconds}`);
}

/**
 * Claims `name` for `owner` for `ttlSeconds`: taken when it is free, expired, or already `owner`'s (which
 * starts a new epoch). Returns the lease with its new epoch, or undefined when another runner holds it or
 * won the race.
 */
export async function claim(db: Db, name: string, owner: string, ttlSeconds: number): Promise<Lease | undefined> {
  checkTtl(ttlSeconds);
  await ensureLeaseTable(db);
  const t = db.table(LEASE_TABLE);
  return orLost(async () => {
    // The row as it is, then a compare-and-set on its epoch: what was read is what the claim replaced (who
    // held it, whether it was released), and a live lease of someone else costs no write.
    const rows = await db.query<{ epoch: string | number; owner: string; free: string | number; released: string | number }>(
      `SELECT epoch, owner, expires < NOW(3) AS free, expires <= claimed AS released FROM ${t} WHERE name = ?`,
      [name],
    );
    const row = rows[0];
    if (row !== undefined) {
      if (row.owner !== owner && Number(row.free) !== 1) return undefined;
      const epoch = Number(row.epoch);
      const updated = await db.execute(
        `UPDATE ${t} SET previous = owner, owner = ?, epoch = epoch + 1, expires = NOW(3) + INTERVAL ? SECOND, claimed = NOW(3) ` +
          'WHERE name = ? AND epoch = ? AND (owner = ? OR expires < NOW(3))',
        [owner, ttlSeconds, name, epoch, owner],
      );
      return updated.affectedRows === 1 ? { name, owner, epoch: epoch + 1, previous: row.owner, released: Number(row.released) === 1 } : undefined;
    }
    // No row yet (first claim ever): the primary key decides between runners inserting it together.
    const inserted = await db.execute(
      `INSERT IGNORE INTO ${t} (name, owner, epoch, expires, claimed) VALUES (?, ?, 1, NOW(3) + INTERVAL ? SECOND, NOW(3))`,
      [name, owner, ttlSeconds],
    );
    return inserted.affectedRows === 1 ? { name, owner, epoch: 1, previous: '', released: false } : undefined;
  }, undefined);
}

/** The WHERE of a lease still held: same owner, same epoch, not expired. */
const HELD = 'name = ? AND owner = ? AND epoch = ? AND expires >= NOW(3)';

/**
 * Extends a held lease by `ttlSeconds` from now (database clock). False when it expired or was taken over:
 * the holder must stop and claim again (getting a new epoch). An expired lease is never renewed, even if
 * nobody took it, so that "held" always means "renewed within the TTL".
 */
export async function renew(db: Db, lease: Lease, ttlSeconds: number): Promise<boolean> {
  checkTtl(ttlSeconds);
  return orLost(async () => {
    const r = await db.execute(
      `UPDATE ${db.table(LEASE_TABLE)} SET expires = NOW(3) + INTERVAL ? SECOND WHERE ${HELD}`,
      [ttlSeconds, lease.name, lease.owner, lease.epoch],
    );
    return r.affectedRows === 1;
  }, false);
}

/**
 * Gives a held lease up at once, so another runner need not wait for the TTL. It expires at its claim's
 * time (or just before now), which no renewal ever sets: the next claim tells a holder that released it
 * (its work ended, a failed task included) from one that let it expire (died in the middle).
 */
export async function release(db: Db, lease: Lease): Promise<boolean> {
  return orLost(async () => {
    const r = await db.execute(
      `UPDATE ${db.table(LEASE_TABLE)} SET expires = LEAST(claimed, NOW(3) - INTERVAL 0.001 SECOND) WHERE ${HELD}`,
      [lease.name, lease.owner, lease.epoch],
    );
    return r.affectedRows === 1;
  }, false);
}

/**
 * Runs `write` in one transaction with a touch of the lease row (`writes + 1`, checked on owner, epoch and
 * expiry): undefined, and nothing written, when the lease is no longer ours. A claim from another node that
 * is applied while the transaction is open aborts it through that row's lock (1213). The change (not a
 * read, not an UPDATE that changes nothing, neither of which is in Galera's write set) also covers the
 * narrower race of the two committing at the same moment: certification sees both write the lease row and
 * aborts one of them.
 */
export async function fenced<T>(db: Db, lease: Lease, write: (tx: Queryable) => Promise<T>): Promise<{ value: T } | undefined> {
  return orLost(() => db.transaction(async (tx) => {
    const touched = await tx.execute(
      `UPDATE ${db.table(LEASE_TABLE)} SET writes = writes + 1 WHERE ${HELD}`,
      [lease.name, lease.owner, lease.epoch],
    );
    if (touched.affectedRows !== 1) throw new NotHeld();
    return { value: await write(tx) };
  }).catch((e: unknown) => {
    if (e instanceof NotHeld) return undefined;
    throw e;
  }), undefined);
}

/** Rolls fenced()'s transaction back when the lease is gone. */
class NotHeld extends Error {}

/**
 * Who holds `name` now (database clock), for status; undefined when nobody does or no lease was ever
 * claimed (a read creates nothing: DDL on Galera stops the whole cluster for a moment).
 */
export async function holder(db: Db, name: string): Promise<{ owner: string; epoch: number; expires: string } | undefined> {
  let rows: Array<{ owner: string; epoch: string | number; expires: string }>;
  try {
    rows = await db.query(
      `SELECT owner, epoch, expires FROM ${db.table(LEASE_TABLE)} WHERE name = ? AND expires >= NOW(3)`,
      [name],
    );
  } catch (e) {
    if (isMissingTable(e)) return undefined;
    throw e;
  }
  const row = rows[0];
  return row === undefined ? undefined : { owner: row.owner, epoch: Number(row.epoch), expires: String(row.expires) };
}

/** A live lease as the status shows it. */
export interface LiveLease {
  readonly name: string;
  readonly owner: string;
  readonly epoch: number;
  /** Seconds until it expires unless renewed (database clock). */
  readonly expiresInSeconds: number;
}

/** Every live lease (the maintenance flag included), by name; [] when no lease was ever claimed. */
export async function liveLeases(db: Db): Promise<LiveLease[]> {
  try {
    const rows = await db.query<{ name: string; owner: string; epoch: string | number; left: string | number }>(
      `SELECT name, owner, epoch, TIMESTAMPDIFF(MICROSECOND, NOW(3), expires) / 1000000 AS \`left\` FROM ${db.table(LEASE_TABLE)} ` +
        'WHERE expires >= NOW(3) ORDER BY name',
    );
    return rows.map((r) => ({ name: r.name, owner: r.owner, epoch: Number(r.epoch), expiresInSeconds: Number(r.left) }));
  } catch (e) {
    if (isMissingTable(e)) return [];
    throw e;
  }
}

/**
 * The fence of a bookkeeping UPDATE (src/db/backgroundTasks.ts updateTask): the task's row is written only
 * joined to the lease row still held (owner, epoch, not expired), which the same statement changes
 * (`writes + 1`, in Galera's write set, so a concurrent claim on another node fails one of the two at
 * certification). One statement, autocommitted: unlike fenced()'s transaction, a runner paused between
 * two statements holds no lock on the lease row that would make the runner taking over wait.
 */
export function fenceOf(db: Db, lease: Lease): RowFence {
  return {
    join: `JOIN ${db.table(LEASE_TABLE)} AS f ON f.name = ? AND f.owner = ? AND f.epoch = ? AND f.expires >= NOW(3)`,
    params: [lease.name, lease.owner, lease.epoch],
    set: 'f.writes = f.writes + 1',
  };
}
