import { setTimeout as sleep } from 'node:timers/promises';
import { dueTasksAndLockOwner, laterTasks, tasksForStatus, type NamedTaskRow } from '../db/backgroundTasks.js';
import type { NamedLock } from '../db/lock.js';
import { DbGoneAwayError } from '../errors.js';
import { dueTasksTable, messageText, skippingLine, statusTable, taskEndLine, taskStartLine } from '../output/text.js';
import type { BackgroundTask } from '../tasks/types.js';
import { maintenanceDetected } from './maintenance.js';
import { clearStaleRunningFlags, reSyncProcesses } from './resync.js';
import type { RunEnv } from './runEnv.js';
import { sleepAfterPass } from './cadence.js';
import { createHeapTrimmer } from './memory.js';
import { reportTasksWithoutRunner, tasksOfThisRun } from './runnerChoice.js';
import { runTask } from './runTask.js';
import { watchTask } from './taskWatch.js';

/** Why a cron execution ended. */
export type CronExit =
  | { kind: 'time-limit' }
  | { kind: 'maintenance' }
  | { kind: 'stopped' }
  | { kind: 'lock-lost' }
  | { kind: 'gone-away'; className: string; errno: number };

/** How often the maintenance flag files are checked while sleeping. */
const FLAG_POLL_MS = 1000;

/**
 * Sleeps `seconds` unless the run is stopped or a maintenance flag appears; returns false in that case.
 */
async function pause(env: RunEnv, seconds: number): Promise<boolean> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (env.signal.aborted || maintenanceDetected(env.config.appRoot)) return false;
    try {
      await sleep(Math.min(FLAG_POLL_MS, until - Date.now()), undefined, { signal: env.signal });
    } catch {
      return false;
    }
  }
  return true;
}

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
  const runnable = await reSyncProcesses(env, runTasks);
  await clearStaleRunningFlags(env);
  await reportTasksWithoutRunner(env, runnable);
  const classes = [...runnable.keys()];
  const heap = createHeapTrimmer();

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
        if (verbose) out.line(taskStartLine(clock.nowLocal(), className));
        let result;
        // During the task: maintenance flags, the lock and the database are watched (issue: reliability).
        const watch = watchTask(env, lock);
        try {
          result = await runTask(env, task, row, timeLimit * 1000, watch.signal);
        } catch (e) {
          if (e instanceof DbGoneAwayError) return { kind: 'gone-away', className, errno: e.errno };
          throw e;
        } finally {
          watch.stop();
        }
        if (result.fatal !== undefined) {
          const text = `an exception was thrown when processing '${className}' (error_code=0, message="${result.fatal.message}")`;
          out.line(`ERROR : ${text}`);
          log.error({ task: className }, `Cron.php error : ${text}`);
        }
        if (verbose) {
          const text = messageText(result.message);
          if (text !== undefined && result.fatal === undefined) out.line(`${className}: ${text}`);
          out.line(taskEndLine(clock.nowLocal(), className, result.nextRunDate));
        }
        if (watch.reason() === 'lock-lost') return { kind: 'lock-lost' };
        if (watch.reason() === 'gone-away') return { kind: 'gone-away', className, errno: 2006 };
        if (watch.reason() === 'maintenance') return { kind: 'maintenance' };
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

/** The end of a run that reached its time limit: the verbose status table and the last line. */
async function finish(env: RunEnv, timeLimit: number): Promise<CronExit> {
  if (env.verbose) {
    env.out.line('');
    for (const l of statusTable(await tasksForStatus(env.db, 'next_run_date'))) env.out.line(l);
    env.out.line(`Reached normal execution time limit (exceeded by ${env.clock.nowUnix() - timeLimit}s)`);
  }
  return { kind: 'time-limit' };
}
