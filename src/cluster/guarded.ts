/**
 * Work that only one runner of a cluster may do at a time (issue 15), such as the registry resync: runners
 * starting together on an empty priv_backgroundtask would each insert a row per class (the table has no
 * unique key on class_name, and on Galera each node hands out its own auto-increment ids, so nothing
 * conflicts). underLease() serialises them: each claims one lease, does the work, releases it. The one that
 * claims it after another released it sees that one's rows, also on another Galera node: a node applies
 * write sets in the cluster's order, so once it has applied the release it has applied what was committed
 * before it.
 *
 * The work writes through fencedDb(): every write commits together with a change of the lease row, so a
 * runner that lost the lease (paused past its TTL, or cut off with its node) writes nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db, Queryable, SqlParam } from '../db/types.js';
import { claim, fenced, release, type Lease } from './leases.js';

/** The lease was lost in the middle of the work: nothing of the refused write was committed. */
export class LeaseLostError extends Error {
  constructor(readonly lease: Lease) {
    super(`the lease '${lease.name}' (epoch ${lease.epoch}) was lost: the write was not made`);
    this.name = 'LeaseLostError';
  }
}

/**
 * `db` for the holder of `lease`: reads as they are, each execute() and transaction() in one transaction
 * with a fenced touch of the lease (src/cluster/leases.ts fenced()); LeaseLostError when it is not held.
 */
export function fencedDb(db: Db, lease: Lease): Db {
  const write = async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
    const r = await fenced(db, lease, fn);
    if (r === undefined) throw new LeaseLostError(lease);
    return r.value;
  };
  return {
    ...db,
    prefix: db.prefix,
    table: (name) => db.table(name),
    query: (sql, params) => db.query(sql, params),
    hasTable: (name) => db.hasTable(name),
    close: () => db.close(),
    execute: (sql: string, params?: readonly SqlParam[]) => write((tx) => tx.execute(sql, params)),
    transaction: (fn) => write(fn),
  };
}

export interface UnderLeaseOptions {
  /** The lease's TTL (s): how long a runner that died in the middle holds the others back. */
  readonly ttlSeconds: number;
  /** How long to wait for the lease (ms) before giving up (undefined is returned). */
  readonly waitMs: number;
  /** Pause between two claims (ms). */
  readonly pollMs?: number;
}

/**
 * Claims `name` (waiting up to `waitMs` while another runner holds it), runs `work` with a fenced Db, and
 * releases the lease. Undefined when the lease could not be had in time. A LeaseLostError from `work` (the
 * TTL passed in the middle and another runner took over) is passed on: the work is incomplete.
 */
export async function underLease<T>(
  db: Db, name: string, owner: string, opts: UnderLeaseOptions, work: (fenced: Db, lease: Lease) => Promise<T>,
): Promise<{ value: T; lease: Lease; waitedMs: number } | undefined> {
  const started = Date.now();
  let lease: Lease | undefined;
  for (;;) {
    lease = await claim(db, name, owner, opts.ttlSeconds);
    if (lease !== undefined || Date.now() - started >= opts.waitMs) break;
    await sleep(opts.pollMs ?? 100);
  }
  if (lease === undefined) return undefined;
  const waitedMs = Date.now() - started;
  try {
    return { value: await work(fencedDb(db, lease), lease), lease, waitedMs };
  } finally {
    // Released at once, so the next runner need not wait for the TTL; a lost lease is nothing to release.
    await release(db, lease).catch(() => false);
  }
}
