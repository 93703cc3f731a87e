/**
 * The runners of cluster mode (issue 15): each itop-cron run registers a row of `{p}itop_cron_runner`
 * (sql/own/93-itop-cron-runners.sql) and renews its heartbeat on the database's clock, which is how
 * `status` tells who is alive and how a runner that finds the classic cron lock taken tells a peer (go
 * on) from PHP's cron.php (stop, as cron.php would).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ensureOwnTable } from '../db/ownDdl.js';
import { isMissingTable } from '../db/runHistory.js';
import type { Db } from '../db/types.js';

/** The unprefixed table name. */
export const RUNNER_TABLE = 'itop_cron_runner';

/** Who a runner is: `id` is unique (a pid comes back after a restart, on another host too). */
export interface RunnerIdentity {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** `host:pid`, what the history and the status show. */
  readonly label: string;
}

export function newRunnerIdentity(): RunnerIdentity {
  const host = hostname();
  const pid = process.pid;
  return { id: `${host}:${pid}:${randomBytes(4).toString('hex')}`, host, pid, label: `${host}:${pid}` };
}

/** Rows of runners gone for longer than this are removed when a runner registers. */
const FORGET_AFTER_DAYS = 7;

export async function ensureRunnerTable(db: Db): Promise<void> {
  await ensureOwnTable(db, '93-itop-cron-runners.sql', RUNNER_TABLE);
}

/**
 * The key of a lock connection as IS_USED_LOCK()'s answer can be matched with from any connection to the
 * same server: the server's host and port (connection ids are per server, and on Galera per node) and
 * the connection id.
 */
export async function lockKeyOf(db: Db, connectionId: number): Promise<string> {
  const rows = await db.query<{ server: string }>("SELECT CONCAT(@@hostname, ':', @@port) AS server");
  return `${rows[0]?.server ?? ''}#${connectionId}`;
}

/**
 * Registers this runner, alive from now. `lockKey` is the key of its own lock connection, written before
 * it tries the lock, so that whoever finds that connection holding the lock can tell it is a runner.
 */
export async function registerRunner(db: Db, me: RunnerIdentity, version: string, lockKey: string): Promise<void> {
  await ensureRunnerTable(db);
  const t = db.table(RUNNER_TABLE);
  await db.execute(`DELETE FROM ${t} WHERE heartbeat < NOW(3) - INTERVAL ? DAY`, [FORGET_AFTER_DAYS]);
  await db.execute(
    `INSERT INTO ${t} (id, host, pid, version, started, heartbeat, lock_key) VALUES (?, ?, ?, ?, NOW(3), NOW(3), ?)`,
    [me.id, me.host.slice(0, 255), me.pid, version.slice(0, 64), lockKey.slice(0, 255)],
  );
}

/** Renews the heartbeat: one statement. False when the row is gone (removed by hand). */
export async function heartbeat(db: Db, me: RunnerIdentity): Promise<boolean> {
  const r = await db.execute(`UPDATE ${db.table(RUNNER_TABLE)} SET heartbeat = NOW(3) WHERE id = ?`, [me.id]);
  return r.affectedRows === 1;
}

/** The run is over: no longer alive, and its lock connection no longer a peer's. */
export async function markStopped(db: Db, me: RunnerIdentity): Promise<void> {
  await db.execute(`UPDATE ${db.table(RUNNER_TABLE)} SET stopped = NOW(3) WHERE id = ?`, [me.id]);
}

/**
 * The runner whose lock connection has `lockKey`, if one is registered and has not stopped: its heartbeat
 * is not required to be fresh, since a runner paused (SIGSTOP) keeps its lock and is still no cron.php.
 */
export async function runnerWithLockKey(db: Db, lockKey: string): Promise<string | undefined> {
  const rows = await db.query<{ id: string }>(
    `SELECT id FROM ${db.table(RUNNER_TABLE)} WHERE lock_key = ? AND stopped IS NULL LIMIT 1`,
    [lockKey],
  );
  return rows[0]?.id;
}

/** A runner as the status shows it. */
export interface RunnerRow {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly version: string;
  readonly started: string;
  readonly heartbeat: string;
  /** Seconds since the heartbeat, on the database's clock. */
  readonly heartbeatAge: number;
  readonly stopped: string | null;
}

/**
 * The runners seen in the last `withinSeconds` (stopped ones included, most recent first), or [] when no
 * runner ever registered. A read creates nothing.
 */
export async function recentRunners(db: Db, withinSeconds: number): Promise<RunnerRow[]> {
  try {
    const rows = await db.query<RunnerRow & { heartbeatAge: string | number; pid: string | number }>(
      'SELECT id, host, pid, version, started, heartbeat, stopped, ' +
        'TIMESTAMPDIFF(MICROSECOND, heartbeat, NOW(3)) / 1000000 AS heartbeatAge ' +
        `FROM ${db.table(RUNNER_TABLE)} WHERE heartbeat >= NOW(3) - INTERVAL ? SECOND ORDER BY heartbeat DESC`,
      [withinSeconds],
    );
    return rows.map((r) => ({ ...r, pid: Number(r.pid), heartbeatAge: Number(r.heartbeatAge), started: String(r.started), heartbeat: String(r.heartbeat), stopped: r.stopped === null ? null : String(r.stopped) }));
  } catch (e) {
    if (isMissingTable(e)) return [];
    throw e;
  }
}
