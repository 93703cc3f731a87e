import { userInfo } from 'node:os';
import { LeaseLostError } from '../cluster/guarded.js';
import { fenceOf } from '../cluster/leases.js';
import { NEVER, updateTask, type BackgroundTaskRow, type TaskUpdate } from '../db/backgroundTasks.js';
import { coerceError, DbGoneAwayError, ProcessFatalError, ProcessInvalidConfigError } from '../errors.js';
import { messageText } from '../output/text.js';
import type { BackgroundTask } from '../tasks/types.js';
import { runWithDeadline, TaskTimeoutError } from './deadline.js';
import { notifyObserver, type TaskRunEvent } from './observer.js';
import type { RunEnv } from './runEnv.js';
import { parseOrUndefined } from '../time/clock.js';
import { isScheduled, nextRunAfter, periodOf } from './taskSchedule.js';
import { taskRunLevel } from './runSummary.js';

/** The outcome of one task run, for the loop's output and the history. */
export interface TaskRunResult {
  readonly message: string | boolean | null | undefined;
  readonly nextRunDate: string | null;
  readonly durationSeconds: number;
  readonly outcome: 'success' | 'failure' | 'fatal' | 'timeout';
  /** Set when the task threw iTop's ProcessFatalException equivalent. */
  readonly fatal?: ProcessFatalError;
  readonly error?: Error;
}

/** The OS user running the cron, as cron.php stores it in `system_user` (posix effective user). */
export function systemUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USERNAME'] ?? process.env['USER'] ?? '';
  }
}

/**
 * The writes of a task's row; in cluster mode fenced by the task's lease, LeaseLostError (nothing
 * written) when another runner took the task over.
 */
function bookkeeping(env: RunEnv, id: number): (changes: TaskUpdate) => Promise<void> {
  const lease = env.fence;
  return async (changes) => {
    if (await updateTask(env.db, id, changes, env.db, lease === undefined ? undefined : fenceOf(env.db, lease))) return;
    if (lease !== undefined) throw new LeaseLostError(lease);
  };
}

/** `%.3f` as PHP's sprintf formats it. */
const f3 = (n: number): string => n.toFixed(3);

/** The cooperative limit of one task: a periodic task gets period × cron_task_max_execution_time. */
export function taskTimeLimitMs(task: BackgroundTask, env: RunEnv, cronTimeLimitMs: number): number {
  const factor = env.config.cron.taskMaxExecutionTime;
  if (isScheduled(task) || factor <= 0) return cronTimeLimitMs;
  const taskLimit = env.clock.nowMs() + periodOf(task, env.config) * factor * 1000;
  return taskLimit < cronTimeLimitMs ? taskLimit : cronTimeLimitMs;
}

/** The largest values of the columns: INT(11) for the count, DECIMAL(8,3) for the durations. */
const INT_MAX = 2_147_483_647;
const DECIMAL_MAX = 99_999.999;

/** A duration as the column can hold it: a run past ~27 h, or a damaged average, must not fail the UPDATE. */
const d3 = (n: number): string => f3(Number.isFinite(n) ? Math.min(Math.max(n, 0), DECIMAL_MAX) : 0);

/**
 * The statistics cron.php keeps, as `%.3f` strings, kept within the columns' range: the
 * count stops at INT's maximum instead of failing every later run with 'Out of range' (issue 16).
 */
function statistics(row: BackgroundTaskRow, duration: number): TaskUpdate {
  const count = Number(row.total_exec_count ?? 0);
  const n = Number.isFinite(count) ? Math.min(Math.max(count, 0), INT_MAX) : 0;
  const avg = Number(row.average_run_duration ?? 0);
  const min = Number(row.min_run_duration ?? 0);
  const max = Number(row.max_run_duration ?? 0);
  const stats: TaskUpdate = {
    average_run_duration: d3((avg * n + duration) / (n + 1)),
    total_exec_count: Math.min(n + 1, INT_MAX),
    latest_run_duration: d3(duration),
  };
  if (duration < min) stats.min_run_duration = d3(duration);
  if (duration > max) stats.max_run_duration = d3(duration);
  return stats;
}

/**
 * cron.php's RunTask: marks the row running, runs the task within its limit, then writes the
 * statistics and the drift-free next run. `running` stays 1 after a failure, as in cron.php. Beyond
 * cron.php: a task that overruns its hard deadline is aborted and the loop goes on (issue: hung tasks).
 */
export async function runTask(
  env: RunEnv,
  task: BackgroundTask,
  row: BackgroundTaskRow,
  cronTimeLimitMs: number,
  interrupt?: AbortSignal,
): Promise<TaskRunResult> {
  const { clock, config, log } = env;
  const startMs = clock.nowMs();
  const plannedLocal = row.next_run_date;
  const write = bookkeeping(env, row.id);
  await write({ latest_run_date: clock.format(startMs), system_user: systemUser(), running: 1 });
  await notifyObserver(log, 'taskStarted', () => env.observer?.taskStarted?.(task.className, plannedLocal));

  const limitMs = taskTimeLimitMs(task, env, cronTimeLimitMs);
  let message: TaskRunResult['message'];
  let outcome: TaskRunResult['outcome'] = 'success';
  let fatal: ProcessFatalError | undefined;
  let error: Error | undefined;
  const changes: TaskUpdate = {};
  try {
    message = await runWithDeadline(env, task, limitMs, interrupt);
    changes.running = 0;
  } catch (e) {
    if (e instanceof DbGoneAwayError) throw e;
    error = coerceError(e);
    if (e instanceof ProcessFatalError) {
      fatal = e;
      outcome = 'fatal';
    } else {
      outcome = e instanceof TaskTimeoutError ? 'timeout' : 'failure';
      message = `Processing failed with message: ${error.message}`;
      if (env.debug && error.stack !== undefined) message += `. ${error.stack}`;
    }
  }
  const endMs = clock.nowMs();
  const duration = (endMs - startMs) / 1000;
  if (Number(row.total_exec_count ?? 0) === 0) changes.first_run_date = clock.format(startMs);
  Object.assign(changes, statistics(row, duration));
  changes.latest_run_date = clock.format(endMs);
  try {
    // A planned date that is no date (a zero date written while the run went on) counts as none: the
    // next run is computed from now instead of failing the whole run (issue 16).
    changes.next_run_date = nextRunAfter(task, config, parseOrUndefined(clock, plannedLocal) === undefined ? null : plannedLocal, endMs);
  } catch (e) {
    if (!(e instanceof ProcessInvalidConfigError)) throw e;
    // cron.php would leave the old date and re-run the task at every start: park it instead;
    // the next start re-evaluates parked scheduled tasks.
    log.error({ task: task.className, err: e.message }, 'invalid schedule setting: task parked until the next start');
    changes.next_run_date = NEVER;
  }
  try {
    await write(changes);
  } catch (e) {
    // A server that stopped answering: the row keeps running = 1, which the next start clears. (A lost
    // cluster lease is no error of this run: passParts.ts says what happened.)
    if (e instanceof LeaseLostError) throw e;
    log.error({ task: task.className, outcome, err: coerceError(e).message, changes }, 'the task bookkeeping could not be written');
    throw e;
  }
  const result = { message, nextRunDate: changes.next_run_date ?? null, durationSeconds: duration, outcome };
  // A fatal error has no message of its own: its text is what the run history and the log keep.
  const text = fatal !== undefined ? fatal.message : (messageText(message)?.trim() ?? null);
  // At debug when it went well: the run's summary line says how many ran (runSummary.ts).
  log[taskRunLevel(outcome)](
    {
      task: task.className,
      planned: plannedLocal,
      start: clock.format(startMs),
      end: changes.latest_run_date,
      duration: Number(f3(duration)),
      outcome,
      message: text,
      next: result.nextRunDate,
    },
    'task run',
  );
  const event: TaskRunEvent = {
    className: task.className,
    planned: plannedLocal,
    startMs,
    endMs,
    durationSeconds: duration,
    outcome,
    message: text,
    nextRunDate: result.nextRunDate,
    ...(env.runner !== undefined ? { runner: env.runner.label } : {}),
    ...(env.runner?.takenOverFrom !== undefined ? { takenOverFrom: env.runner.takenOverFrom } : {}),
  };
  await notifyObserver(log, 'taskFinished', () => env.observer?.taskFinished?.(event));
  return { ...result, ...(fatal !== undefined ? { fatal } : {}), ...(error !== undefined ? { error } : {}) };
}
