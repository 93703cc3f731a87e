/**
 * The pieces a cron pass is made of, shared by the one-task-at-a-time loop (cron.php's order, cronExec.ts)
 * and the parallel lanes (lanes.ts): how a run ends, the pause between passes, and one task's run with
 * its output and the events that end the run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { tasksForStatus, type NamedTaskRow } from '../db/backgroundTasks.js';
import { LeaseLostError } from '../cluster/guarded.js';
import { DbGoneAwayError } from '../errors.js';
import { messageText, statusTable, taskEndLine, taskStartLine } from '../output/text.js';
import type { BackgroundTask } from '../tasks/types.js';
import { maintenanceDetected } from './maintenance.js';
import type { RunEnv } from './runEnv.js';
import { runTask } from './runTask.js';
import { watchTask, type LockProbe } from './taskWatch.js';

/** Why a cron execution ended. */
export type CronExit =
  | { kind: 'time-limit' }
  | { kind: 'maintenance' }
  | { kind: 'stopped' }
  | { kind: 'lock-lost' }
  | { kind: 'gone-away'; className: string; errno: number };

/** How often the maintenance flag files are checked while sleeping. */
const FLAG_POLL_MS = 1000;

/** Sleeps `seconds` unless the run is stopped or a maintenance flag appears; returns false in that case. */
export async function pause(env: RunEnv, seconds: number, wake?: AbortSignal): Promise<boolean> {
  const until = Date.now() + seconds * 1000;
  const signal = wake === undefined ? env.signal : AbortSignal.any([env.signal, wake]);
  // A lane that frees up ends the pause early (lanes.ts): the waiting due tasks start at once.
  const woken = (): boolean => wake?.aborted === true && !env.signal.aborted;
  while (Date.now() < until) {
    if (env.signal.aborted || maintenanceDetected(env.config.appRoot)) return false;
    if (woken()) return true;
    try {
      await sleep(Math.min(FLAG_POLL_MS, until - Date.now()), undefined, { signal });
    } catch {
      return woken();
    }
  }
  return true;
}

/**
 * Runs one due task with its verbose lines, cron.php's `ERROR :` line for a fatal error, and the watch
 * (maintenance flags, the lock, the database). Returns how the run must end, or undefined to go on.
 * `interrupt` also stops the task (another lane ended the run).
 */
export async function runOneTask(
  env: RunEnv,
  lock: LockProbe,
  task: BackgroundTask,
  row: NamedTaskRow,
  timeLimit: number,
  interrupt?: AbortSignal,
): Promise<CronExit | undefined> {
  const { clock, out, verbose, log } = env;
  const className = task.className;
  if (verbose) out.line(taskStartLine(clock.nowLocal(), className));
  let result;
  const watch = watchTask(env, lock);
  try {
    const signal = interrupt === undefined ? watch.signal : AbortSignal.any([watch.signal, interrupt]);
    result = await runTask(env, task, row, timeLimit * 1000, signal);
  } catch (e) {
    if (e instanceof DbGoneAwayError) return { kind: 'gone-away', className, errno: e.errno };
    // Cluster mode: another runner took the task over (this one was paused or cut off past the lease's
    // TTL); nothing of this run's bookkeeping was written, the new owner's is what counts. The run goes on.
    if (e instanceof LeaseLostError) {
      log.warn({ task: className, lease: e.lease.name, epoch: e.lease.epoch }, 'cluster: the task lease was lost during the run: its bookkeeping is left to the runner that took it over');
      return undefined;
    }
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
  return undefined;
}

/** The end of a run that reached its time limit: the verbose status table and the last line. */
export async function finish(env: RunEnv, timeLimit: number): Promise<CronExit> {
  if (env.verbose) {
    env.out.line('');
    for (const l of statusTable(await tasksForStatus(env.db, 'next_run_date'))) env.out.line(l);
    env.out.line(`Reached normal execution time limit (exceeded by ${env.clock.nowUnix() - timeLimit}s)`);
  }
  return { kind: 'time-limit' };
}
