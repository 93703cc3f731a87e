/**
 * Per-task claims of cluster mode (issue 15): a due occurrence runs on the runner that claims the task's
 * lease (`task:<class>`), which renews it while the task runs and releases it at the end. Right after the
 * claim the row is read again: a runner that read the row as due before another finished it sees its new
 * `next_run_date` and leaves it (the previous holder's bookkeeping was committed before its release, and a
 * Galera node applies write sets in the cluster's order). A row still `running` after the claim of a lease
 * its previous holder let expire is a run whose runner died (or stopped renewing): it is taken over, at
 * least once rather than never.
 */
import type { Logger } from 'pino';
import { taskById, type NamedTaskRow } from '../db/backgroundTasks.js';
import type { Db } from '../db/types.js';
import { claim, release, renew, type Lease } from './leases.js';
import type { ClusterSettings } from '../config/types.js';

/** A lease name per task class. */
export const taskLeaseName = (className: string): string => `task:${className}`;

/** A claimed occurrence: its bookkeeping fenced by `lease` (leases.ts fenceOf), stopped when `keeper.signal` fires. */
export interface ClaimedTask {
  readonly lease: Lease;
  readonly row: NamedTaskRow;
  /** Set when the occurrence's previous run did not finish: who ran it (a runner id, or '' if unknown). */
  readonly takenOverFrom?: string;
  readonly keeper: LeaseKeeper;
  /** Stops renewing and releases the lease (call it once the task is over). */
  done(): Promise<void>;
}

/**
 * Claims the task of `row` for `owner`; undefined when another runner holds it or already ran the
 * occurrence (or the row is gone or no longer active).
 */
export async function claimDueTask(
  db: Db, row: NamedTaskRow, owner: string, settings: ClusterSettings, nowLocal: string, log: Logger,
): Promise<ClaimedTask | undefined> {
  const lease = await claim(db, taskLeaseName(row.class_name), owner, settings.ttlSeconds);
  if (lease === undefined) return undefined;
  const fresh = await taskById(db, Number(row.id)).catch((e: unknown) => {
    void release(db, lease).catch(() => false);
    throw e;
  });
  const next = fresh?.next_run_date;
  if (fresh === undefined || fresh.status !== 'active' || next === null || next === undefined || next > nowLocal) {
    await release(db, lease).catch(() => false);
    return undefined;
  }
  const keeper = keepLease(db, lease, settings, log);
  // `running` also stays 1 after a run that failed (cron.php's rule), whose runner released the lease:
  // only a lease that expired under its holder means a run that did not finish.
  const takenOver = Number(fresh.running) === 1 && !lease.released;
  return {
    lease,
    row: { ...fresh, class_name: row.class_name },
    ...(takenOver ? { takenOverFrom: lease.previous === owner ? '' : lease.previous } : {}),
    keeper,
    done: () => keeper.end(),
  };
}

/** Renews a lease every renewal period while a task runs; `signal` fires when it is lost. */
export interface LeaseKeeper {
  readonly signal: AbortSignal;
  /** Stops renewing and gives the lease up if it is still held (a lost one is nobody's to release). */
  end(): Promise<void>;
}

export function keepLease(db: Db, lease: Lease, settings: ClusterSettings, log: Logger): LeaseKeeper {
  const lost = new AbortController();
  let renewing = false;
  const timer = setInterval(() => {
    if (renewing || lost.signal.aborted) return;
    renewing = true;
    renew(db, lease, settings.ttlSeconds)
      // A renewal that fails for another reason (the server unreachable) is retried at the next period;
      // the lease is lost only when the database says so, or by expiry, which the next renewal sees.
      .then((ok) => {
        if (ok) return;
        log.warn({ lease: lease.name, epoch: lease.epoch }, 'cluster: a task lease was lost (expired or taken over): stopping the task');
        lost.abort(new Error(`the lease '${lease.name}' was lost`));
        clearInterval(timer);
      }, (e: unknown) => log.warn({ lease: lease.name, err: (e as Error).message }, 'cluster: a lease renewal failed'))
      .finally(() => {
        renewing = false;
      });
  }, settings.renewSeconds * 1000);
  timer.unref();
  return {
    signal: lost.signal,
    async end() {
      clearInterval(timer);
      if (!lost.signal.aborted) await release(db, lease).catch(() => false);
    },
  };
}
