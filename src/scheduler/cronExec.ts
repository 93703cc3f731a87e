import { dueTasksAndLockOwner, laterTasks, type NamedTaskRow } from '../db/backgroundTasks.js';
import type { NamedLock } from '../db/lock.js';
import { dueTasksTable, skippingLine } from '../output/text.js';
import type { BackgroundTask } from '../tasks/types.js';
import { maintenanceDetected } from './maintenance.js';
import { clearStaleRunningFlags, reSyncProcesses } from './resync.js';
import type { RunEnv } from './runEnv.js';
import { sleepAfterPass } from './cadence.js';
import { createHeapTrimmer } from './memory.js';
import { reportTasksWithoutRunner, tasksOfThisRun } from './runnerChoice.js';
import { settingInt } from '../config/php.js';
import { lockGate, runLanes } from './lanes.js';
import { clusterExec } from './clusterExec.js';
import { finish, pause, runOneTask, type CronExit } from './passParts.js';

export type { CronExit };

/** cron.php keeps the first position of a class and the last row read for it. */
function byClass(rows: readonly NamedTaskRow[]): Map<string, NamedTaskRow> {
  const map = new Map<string, NamedTaskRow>();
  for (const r of rows) map.set(r.class_name, r);
  return map;
}

/**
 * cron.php's CronExec: resync the registry, then until `cron_max_execution_time` run the due
 * tasks one after the other and sleep `cron_sleep`. Each idle pass costs one SQL statement, which also
 * checks that the cron lock is still ours.
 */
export async function cronExec(env: RunEnv, tasks: readonly BackgroundTask[], lock: NamedLock): Promise<CronExit> {
  const { config, clock, out, verbose, log } = env;
  // iTop's PHP is bootstrapped here (listing its process classes): cron.php bootstraps before its time limit
  // starts, so this does not eat into the run either (a first start fills the file opcache: seconds).
  const runTasks = await tasksOfThisRun(env, tasks);
  const started = clock.nowUnix();
  const timeLimit = started + config.cron.maxExecutionTime;
  if (verbose) {
    out.line(`Planned duration = ${config.cron.maxExecutionTime} seconds`);
    out.line(`Loop pause = ${config.cron.sleep} seconds`);
  }
  if (env.cluster !== undefined) return clusterExec(env, env.cluster, runTasks, lock.name, timeLimit);
  const runnable = await reSyncProcesses(env, runTasks);
  await clearStaleRunningFlags(env);
  await reportTasksWithoutRunner(env, runnable);
  const classes = [...runnable.keys()];
  const heap = createHeapTrimmer();
  const lanes = settingInt(config.settings, 'itop_cron.max_parallel', 1);
  if (lanes > 1) return (await runLanes(env, { runnable, gate: lockGate(env, lock), timeLimit, lanes, heap })) ?? finish(env, timeLimit);

  while (clock.nowUnix() < timeLimit) {
    if (env.signal.aborted) return { kind: 'stopped' };
    if (maintenanceDetected(config.appRoot)) return { kind: 'maintenance' };
    const passStart = clock.nowMs();
    const nowLocal = clock.nowLocal();
    const { due, lockOwner } = await dueTasksAndLockOwner(env.db, nowLocal, lock.name, classes);
    if (lockOwner !== lock.connectionId) {
      log.error({ lock: lock.name, owner: lockOwner, ours: lock.connectionId }, 'the cron lock was lost: stopping');
      return { kind: 'lock-lost' };
    }
    const dueByClass = byClass(due);
    if (dueByClass.size > 0) {
      if (verbose) {
        out.line(`${dueByClass.size} Tasks planned to run now (${nowLocal}):`);
        for (const l of dueTasksTable([...dueByClass.values()])) out.line(l);
      }
      const ran = new Set<string>();
      for (const [className, row] of dueByClass) {
        const task = runnable.get(className);
        if (task === undefined) continue;
        if (env.signal.aborted) return { kind: 'stopped' };
        ran.add(className);
        const exit = await runOneTask(env, lock, task, row, timeLimit);
        if (exit !== undefined) return exit;
        if (clock.nowUnix() > timeLimit) return finish(env, timeLimit);
        if (maintenanceDetected(config.appRoot)) return { kind: 'maintenance' };
      }
      if (verbose) {
        out.line('--');
        for (const r of await laterTasks(env.db, nowLocal)) {
          if (!ran.has(r.class_name)) out.line(skippingLine(r.class_name, r.next_run_date));
        }
        out.line('Sleeping...');
        out.line('');
      }
    }
    heap.afterPass();
    // From the pass's start, on a whole second: see cadence.ts (cron.php sleeps after the pass).
    if (!(await pause(env, sleepAfterPass(passStart, clock.nowMs(), config.cron.sleep)))) {
      return env.signal.aborted ? { kind: 'stopped' } : { kind: 'maintenance' };
    }
  }
  return finish(env, timeLimit);
}
