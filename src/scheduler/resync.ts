import { allTasks, insertTask, NEVER, updateTask } from '../db/backgroundTasks.js';
import { isConnectionLost } from '../db/errors.js';
import { coerceError, DbGoneAwayError, ProcessInvalidConfigError } from '../errors.js';
import type { BackgroundTask } from '../tasks/types.js';
import type { RunEnv } from './runEnv.js';
import { registryRepairs, repairChanges } from './registryRepair.js';
import { firstRun, isScheduled } from './taskSchedule.js';

/** A statement the server refused for this row (not a lost connection, which ends the run as cron.php's). */
function refusedByServer(e: unknown): boolean {
  return !(e instanceof DbGoneAwayError) && !isConnectionLost(e) && typeof (e as { sqlState?: unknown } | null)?.sqlState === 'string';
}

/**
 * cron.php's ReSyncProcesses: one registry row per task class, created as cron.php creates it;
 * `removed` rows of known classes come back to `active`; scheduled tasks parked at 3000-01-01 are
 * re-evaluated. Rows of classes no loaded task implements are left alone unless the configuration says
 * the registry is complete. A task whose schedule setting is invalid is reported and left out of this run
 * instead of aborting the whole run. Returns the tasks that may run, by class name.
 */
export async function reSyncProcesses(env: RunEnv, tasks: readonly BackgroundTask[]): Promise<Map<string, BackgroundTask>> {
  const { db, config, clock, out, verbose, log } = env;
  const rows = new Map((await allTasks(db)).map((r) => [r.class_name, r]));
  const runnable = new Map<string, BackgroundTask>();
  for (const task of tasks) {
    const nowMs = clock.nowMs();
    const row = rows.get(task.className);
    rows.delete(task.className);
    try {
      if (row === undefined) {
        const next = firstRun(task, config, nowMs, clock.format(nowMs));
        await insertTask(db, task.className, next);
        if (verbose) {
          out.line(`Creating record for: ${task.className}`);
          out.line(`First execution planned at: ${next}`);
        }
      } else {
        const changes: Parameters<typeof updateTask>[2] = {};
        if (row.next_run_date === NEVER && isScheduled(task)) {
          const next = firstRun(task, config, nowMs, clock.format(nowMs));
          if (next !== NEVER) changes.next_run_date = next;
        }
        if (row.status === 'removed') changes.status = 'active';
        // Values no run can work with (issue 16): repaired here, once the lock is ours, or the task skipped.
        const repairs = registryRepairs(row, task, config, clock);
        Object.assign(changes, repairChanges(repairs));
        try {
          await updateTask(db, row.id, changes);
        } catch (e) {
          if (!refusedByServer(e)) throw e;
          log.error({ task: task.className, id: row.id, err: coerceError(e).message, changes }, 'registry row could not be repaired: task skipped for this run');
          continue;
        }
        for (const r of repairs) {
          log.warn({ task: task.className, id: row.id, column: r.column, value: r.value, repaired: r.repaired }, 'bad registry value repaired');
        }
      }
      runnable.set(task.className, task);
    } catch (e) {
      if (!(e instanceof ProcessInvalidConfigError)) throw e;
      log.error({ task: task.className, err: e.message }, 'invalid schedule setting: task skipped for this run');
      out.line(`ERROR: '${e.message}'`);
    }
  }
  if (config.ownsRegistry) {
    for (const row of rows.values()) {
      if (row.status === 'removed') continue;
      try {
        await updateTask(db, row.id, { status: 'removed' });
      } catch (e) {
        if (!refusedByServer(e)) throw e;
        log.error({ task: row.class_name, id: row.id, err: coerceError(e).message }, 'registry row could not be marked removed');
      }
    }
  }
  if (verbose) out.line(`Background processes: ${tasks.map((t) => t.className).join(', ')}`);
  return runnable;
}

/**
 * Clears `running` flags left by a run that died (crash, kill -9, lost connection). Holding the cron lock
 * proves no other runner owns them. Logged, one line per task.
 */
export async function clearStaleRunningFlags(env: RunEnv): Promise<string[]> {
  const { db, log } = env;
  const stale = (await allTasks(db)).filter((r) => Number(r.running) === 1);
  for (const row of stale) {
    try {
      await updateTask(db, row.id, { running: 0 });
    } catch (e) {
      // A row the server refuses to change stays as it is; the others are cleared.
      if (!refusedByServer(e)) throw e;
      log.error({ task: row.class_name, id: row.id, err: coerceError(e).message }, 'a running flag left by a previous run could not be cleared');
      continue;
    }
    log.warn({ task: row.class_name, since: row.latest_run_date }, 'cleared a running flag left by a previous run');
  }
  return stale.map((r) => r.class_name ?? '');
}
