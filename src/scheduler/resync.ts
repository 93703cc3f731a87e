import { allTasks, insertTask, NEVER, updateTask } from '../db/backgroundTasks.js';
import { ProcessInvalidConfigError } from '../errors.js';
import type { BackgroundTask } from '../tasks/types.js';
import type { RunEnv } from './runEnv.js';
import { firstRun, isScheduled } from './taskSchedule.js';

/**
 * cron.php's ReSyncProcesses (spec §3.3): one registry row per task class, created as cron.php creates it;
 * `removed` rows of known classes come back to `active`; scheduled tasks parked at 3000-01-01 are
 * re-evaluated. Rows of classes no loaded task implements are left alone unless the configuration says
 * the registry is complete. A task whose schedule setting is invalid is reported and left out of this run
 * instead of aborting the whole run (spec §11.6). Returns the tasks that may run, by class name.
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
        await updateTask(db, row.id, changes);
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
      if (row.status !== 'removed') await updateTask(db, row.id, { status: 'removed' });
    }
  }
  if (verbose) out.line(`Background processes: ${tasks.map((t) => t.className).join(', ')}`);
  return runnable;
}

/**
 * Clears `running` flags left by a run that died (crash, kill -9, lost connection). Holding the cron lock
 * proves no other runner owns them (spec §11.2). Logged, one line per task.
 */
export async function clearStaleRunningFlags(env: RunEnv): Promise<string[]> {
  const { db, log } = env;
  const stale = (await allTasks(db)).filter((r) => Number(r.running) === 1);
  for (const row of stale) {
    await updateTask(db, row.id, { running: 0 });
    log.warn({ task: row.class_name, since: row.latest_run_date }, 'cleared a running flag left by a previous run');
  }
  return stale.map((r) => r.class_name ?? '');
}
