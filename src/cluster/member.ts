/**
 * One runner's membership of a cluster (issue 15) for the length of a run: its row and heartbeat
 * (runners.ts), the classic cron lock kept by one runner per database node without stopping the others,
 * the database's clock, and the cluster-wide maintenance flag.
 *
 * The lock: GET_LOCK is node-local on Galera, so it cannot be the cluster's mutex (the leases are), but it
 * still keeps PHP's cron.php and iTop's setup out. Each runner writes the key of its lock connection in its
 * row before it tries the lock; a runner that finds the lock taken looks the holder's key up: a runner's
 * (go on without it, try again when it is free) or not (PHP's cron.php: stop as cron.php would).
 */
import type { Logger } from 'pino';
import type { ClusterSettings } from '../config/types.js';
import { lockOwner, type NamedLock } from '../db/lock.js';
import type { Db } from '../db/types.js';
import { createClock, type Clock } from '../time/clock.js';
import { ensureLeaseTable, LEASE_TABLE } from './leases.js';
import { heartbeat, lockKeyOf, markStopped, registerRunner, runnerWithLockKey, type RunnerIdentity } from './runners.js';

/** The lease row that tells every runner a maintenance flag was seen (on any host). */
export const MAINTENANCE_LEASE = 'maintenance';
/**
 * How long a seen maintenance flag stops the cluster: past one start of a crontab (every minute) of the
 * runner that sees the file, which marks it again while it is there.
 */
const MAINTENANCE_MARK_SECONDS = 120;

/** What the lock policy says about a pass. */
export type LockVerdict = 'ok' | 'foreign';

export class ClusterMember {
  private offsetMs = 0;
  private knownPeerOwner: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private beating = false;
  /** The database's clock in iTop's zone: what this runner schedules with. */
  readonly clock: Clock;

  private constructor(
    private readonly db: Db,
    readonly settings: ClusterSettings,
    readonly me: RunnerIdentity,
    private readonly lock: NamedLock,
    private readonly lockKey: string,
    private readonly log: Logger,
    private readonly localClock: Clock,
    private lockHeld: boolean,
  ) {
    this.clock = createClock(localClock.timezone, () => localClock.nowMs() + this.offsetMs);
  }

  /** This host's own clock (epoch ms), to time a reading of the database's clock for followClock(). */
  localNow(): number {
    return this.localClock.nowMs();
  }

  /**
   * Registers the runner and tries the cron lock. Undefined when the lock is held by something that is
   * no runner of ours (PHP's cron.php): the caller prints cron.php's `Already running...`.
   */
  static async join(
    db: Db, settings: ClusterSettings, me: RunnerIdentity, lock: NamedLock, log: Logger, localClock: Clock, version: string,
  ): Promise<ClusterMember | undefined> {
    await ensureLeaseTable(db);
    const lockKey = await lockKeyOf(db, lock.connectionId);
    await registerRunner(db, me, version, lockKey);
    const held = await lock.acquire(0);
    const member = new ClusterMember(db, settings, me, lock, lockKey, log, localClock, held);
    await member.measureClock();
    if (!held) {
      const owner = await lockOwner(db, lock.name);
      if (owner !== null && !(await member.isPeer(owner))) {
        await markStopped(db, me).catch(() => undefined);
        return undefined;
      }
    }
    log.info({ runner: me.label, id: me.id, lock: held, ttl: settings.ttlSeconds, renew: settings.renewSeconds }, 'cluster runner joined');
    member.startHeartbeat();
    return member;
  }

  /** Follows the database's clock from a reading (`dbNowMs`) taken between the localNow() readings `before` and `after`. */
  followClock(dbNowMs: number, beforeMs: number, afterMs: number): void {
    if (Number.isFinite(dbNowMs)) this.offsetMs = dbNowMs - (beforeMs + afterMs) / 2;
  }

  /**
   * The lock at a pass, from the pass statement's IS_USED_LOCK: a runner that holds it goes on (and gets it
   * back if its connection lost it); one that does not takes it when it is free; a holder that is no
   * runner of ours is 'foreign'.
   */
  async checkLock(owner: number | null): Promise<LockVerdict> {
    if (owner === this.lock.connectionId) return 'ok';
    if (this.lockHeld) {
      this.lockHeld = false;
      this.log.warn({ runner: this.me.label, owner }, 'cluster runner: the cron lock was lost; the leases still guard the tasks');
    }
    if (owner === null) {
      this.lockHeld = await this.lock.acquire(0).catch(() => false);
      if (this.lockHeld) this.log.info({ runner: this.me.label }, 'cluster runner: took the cron lock over');
      return 'ok';
    }
    return (await this.isPeer(owner)) ? 'ok' : 'foreign';
  }

  /** Tells every runner (on every host) to stop: this one saw a maintenance flag file. */
  async markMaintenance(): Promise<void> {
    await this.db.execute(
      `INSERT INTO ${this.db.table(LEASE_TABLE)} (name, owner, epoch, expires, claimed) VALUES (?, ?, 1, NOW(3) + INTERVAL ? SECOND, NOW(3)) ` +
        'ON DUPLICATE KEY UPDATE owner = VALUES(owner), epoch = epoch + 1, expires = GREATEST(expires, VALUES(expires)), claimed = NOW(3)',
      [MAINTENANCE_LEASE, this.me.id, MAINTENANCE_MARK_SECONDS],
    );
  }

  /** The run is over: the heartbeat stops and the row says so. */
  async leave(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await markStopped(this.db, this.me).catch((e: unknown) => {
      this.log.warn({ runner: this.me.label, err: (e as Error).message }, 'cluster runner: could not record its stop (its heartbeat will age out)');
    });
  }

  private async isPeer(owner: number): Promise<boolean> {
    if (owner === this.knownPeerOwner) return true;
    const key = this.lockKey.replace(/#\d+$/, `#${owner}`);
    const peer = await runnerWithLockKey(this.db, key);
    if (peer === undefined) return false;
    this.knownPeerOwner = owner;
    return true;
  }

  private async measureClock(): Promise<void> {
    const before = this.localNow();
    const rows = await this.db.query<{ now: string | number }>('SELECT UNIX_TIMESTAMP(NOW(3)) AS now');
    this.followClock(Math.round(Number(rows[0]?.now) * 1000), before, this.localNow());
  }

  private startHeartbeat(): void {
    this.timer = setInterval(() => {
      if (this.beating) return;
      this.beating = true;
      heartbeat(this.db, this.me)
        .catch((e: unknown) => this.log.warn({ runner: this.me.label, err: (e as Error).message }, 'cluster runner: heartbeat failed'))
        .finally(() => {
          this.beating = false;
        });
    }, this.settings.renewSeconds * 1000);
    this.timer.unref();
  }
}
