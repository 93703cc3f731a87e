/**
 * Task control: pause, resume, reschedule, and run one task now. Everything goes through
 * priv_backgroundtask as cron.php reads it, so that PHP's cron.php sees the same state: a paused row
 * (status 'paused') is never run by either runner, and neither runner's resync touches it.
 */
import { LeaseLostError } from '../cluster/guarded.js';
import { claim } from '../cluster/leases.js';
import { newRunnerIdentity } from '../cluster/runners.js';
import { keepLease, taskLeaseName } from '../cluster/taskClaim.js';
import type { ClusterSettings, Config } from '../config/types.js';
import { retryAsyncTask } from '../db/consoleQueries.js';
import { allTasks, insertTask, taskByClass, updateTask, type BackgroundTaskRow } from '../db/backgroundTasks.js';
import { isLockFree, lockName, NamedLock } from '../db/lock.js';
import type { Db } from '../db/types.js';
import { CronError, EXIT_FATAL } from '../errors.js';
import { messageText, taskEndLine, taskStartLine } from '../output/text.js';
import { maintenanceDetected } from '../scheduler/maintenance.js';
import type { RunEnv } from '../scheduler/runEnv.js';
import { runTask, type TaskRunResult } from '../scheduler/runTask.js';
import { firstRun } from '../scheduler/taskSchedule.js';
import type { BackgroundTask } from '../tasks/types.js';
import type { Clock } from '../time/clock.js';

/** A class name that matches no row (or no implemented task), or matches several: exit 254. */
export class UnknownTaskError extends CronError {
  constructor(message: string) {
    super('ENOTASK', message, EXIT_FATAL);
    this.name = 'UnknownTaskError';
  }
}

/** The last part of a namespaced class name, as users type it (`SessionGC`). */
function shortName(className: string): string {
  return className.slice(className.lastIndexOf('\\') + 1);
}

/**
 * The full class name for what the user typed: exact, else case-insensitive, else a unique short name
 * (`SessionGC` for `Combodo\iTop\SessionTracker\SessionGC`).
 */
export function resolveClassName(names: readonly (string | null)[], typed: string): string {
  // A row without a class name (NULL, issue 16) can never be what the user typed.
  const known = names.filter((k): k is string => k !== null);
  const name = typed.replace(/^\\/, '');
  if (known.includes(name)) return name;
  const lower = name.toLowerCase();
  const matches = [...new Set(known.filter((k) => k.toLowerCase() === lower || shortName(k).toLowerCase() === lower))];
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  if (matches.length > 1) throw new UnknownTaskError(`'${typed}' matches several tasks: ${matches.join(', ')}`);
  throw new UnknownTaskError(`No task '${typed}' in the registry (see itop-cron task list)`);
}

async function rowsOf(db: Db, typed: string): Promise<BackgroundTaskRow[]> {
  const rows = await allTasks(db);
  const className = resolveClassName(rows.map((r) => r.class_name), typed);
  return rows.filter((r) => r.class_name === className);
}

/** Sets every row of the class to `status`; returns the rows as they were. */
async function setStatus(db: Db, typed: string, status: 'active' | 'paused'): Promise<BackgroundTaskRow[]> {
  const rows = await rowsOf(db, typed);
  for (const r of rows) await updateTask(db, r.id, { status });
  return rows;
}

/** `status = 'paused'`: neither itop-cron nor cron.php runs the task until it is resumed. */
export function pauseTask(db: Db, typed: string): Promise<BackgroundTaskRow[]> {
  return setStatus(db, typed, 'paused');
}

/** `status = 'active'` again (also brings back a `removed` row). */
export function resumeTask(db: Db, typed: string): Promise<BackgroundTaskRow[]> {
  return setStatus(db, typed, 'active');
}

const RELATIVE = /^\+(\d+)([smhd])$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * True when every field of a 'Y-m-d H:i:s' names a real calendar time: PHP (and parseLocal) carry
 * 2026-02-30 over to 2026-03-02, or 24:00:00 to the next day, which a user typing a date never means.
 */
function onTheCalendar(w: string): boolean {
  const [y, mo, d, h, mi, s] = w.split(/[- :]/).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s);
  return y >= 1000 && date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d &&
    date.getUTCHours() === h && date.getUTCMinutes() === mi && date.getUTCSeconds() === s;
}

/**
 * `now`, `+<n>s|m|h|d`, or 'Y-m-d H:i:s' in iTop's time zone → the 'Y-m-d H:i:s' to store.
 * @throws CronError EARG (exit 254) on anything else.
 */
export function parseWhen(when: string, clock: Clock): string {
  const w = when.trim();
  if (w === 'now') return clock.nowLocal();
  const rel = RELATIVE.exec(w);
  if (rel !== null) return clock.format(clock.nowMs() + Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]);
  if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(w) && onTheCalendar(w)) {
    try {
      // Normalised as iTop would store it (a time in a DST gap moves forward).
      return clock.format(clock.parse(w));
    } catch {
      // fall through to the error below
    }
  }
  throw new CronError('EARG', `Invalid date '${when}' (expected now, +10m, +2h, +1d or 'Y-m-d H:i:s')`, EXIT_FATAL);
}

/** Sets next_run_date of the class; returns the date stored. */
export async function rescheduleTask(db: Db, clock: Clock, typed: string, when: string): Promise<{ className: string; next: string }> {
  const next = parseWhen(when, clock);
  const rows = await rowsOf(db, typed);
  for (const r of rows) await updateTask(db, r.id, { next_run_date: next });
  return { className: rows[0]?.class_name ?? typed, next };
}

/** Why a cron cannot run now (cron.php's gates), or undefined when it can. */
async function blocked(db: Db, config: Config): Promise<string | undefined> {
  if (maintenanceDetected(config.appRoot)) return 'A maintenance is ongoing';
  if ((config.accessMode & 2) === 0) return 'A maintenance is ongoing';
  if (!(await isLockFree(db, lockName('restore.production', config.db.name, config.db.prefix)))) return 'A maintenance is ongoing';
  return undefined;
}

export type RunNowResult =
  | { kind: 'ran'; className: string; result: TaskRunResult }
  | { kind: 'already-running' }
  | { kind: 'blocked'; reason: string };

/**
 * Runs one task now with the scheduler's own bookkeeping (runTask: running flag, statistics, next run,
 * history and alerts through env.observer), holding the cron lock so that no cron (itop-cron or PHP)
 * runs at the same time. The task runs even when paused: asking for it is explicit.
 */
export async function runTaskNow(env: RunEnv, tasks: readonly BackgroundTask[], typed: string): Promise<RunNowResult> {
  const { db, config } = env;
  const rows = await allTasks(db);
  const known = [...new Set([...rows.map((r) => r.class_name), ...tasks.map((t) => t.className)])];
  const className = resolveClassName(known, typed);
  const task = tasks.find((t) => t.className === className);
  if (task === undefined) throw new UnknownTaskError(`itop-cron does not implement '${className}' (cron.php's task); it cannot run it`);
  const reason = await blocked(db, config);
  if (reason !== undefined) return { kind: 'blocked', reason };
  if (config.cluster !== undefined) return runClaimed(env, task, config.cluster);
  const lock = await NamedLock.open(config.db, lockName('cron', config.db.name, config.db.prefix));
  try {
    if (!(await lock.acquire(0))) return { kind: 'already-running' };
    env.log.info({ task: className, lock: lock.name }, 'running one task on request');
    return { kind: 'ran', className, result: await runOnce(env, task) };
  } finally {
    await lock.close();
  }
}

/**
 * Cluster mode: the cron lock is held by a runner on each node, so the request takes the task's own
 * lease instead (src/cluster/taskClaim.ts), as a runner would: 'already-running' while a runner runs it,
 * and the bookkeeping fenced by the lease.
 */
async function runClaimed(env: RunEnv, task: BackgroundTask, settings: ClusterSettings): Promise<RunNowResult> {
  const className = task.className;
  const me = newRunnerIdentity();
  const lease = await claim(env.db, taskLeaseName(className), me.id, settings.ttlSeconds);
  if (lease === undefined) return { kind: 'already-running' };
  const keeper = keepLease(env.db, lease, settings, env.log);
  try {
    env.log.info({ task: className, lease: lease.name, epoch: lease.epoch }, 'running one task on request (cluster mode: under its lease)');
    return { kind: 'ran', className, result: await runOnce({ ...env, fence: lease, runner: { label: me.label } }, task, keeper.signal) };
  } catch (e) {
    // A runner took the task over while this request ran it (paused past the TTL): its run counts.
    if (e instanceof LeaseLostError) return { kind: 'already-running' };
    throw e;
  } finally {
    await keeper.end();
  }
}

/** The task's run with cron.php's lines, its registry row created first when it has none. */
async function runOnce(env: RunEnv, task: BackgroundTask, interrupt?: AbortSignal): Promise<TaskRunResult> {
  const { db, config, clock, out } = env;
  const className = task.className;
  let row = await taskByClass(db, className);
  if (row === undefined) {
    const nowMs = clock.nowMs();
    await insertTask(db, className, firstRun(task, config, nowMs, clock.format(nowMs)));
    row = await taskByClass(db, className);
    if (row === undefined) throw new Error(`the registry row of ${className} could not be created`);
  }
  out.line(taskStartLine(clock.nowLocal(), className));
  const result = await runTask(env, task, row, clock.nowMs() + config.cron.maxExecutionTime * 1000, interrupt);
  if (result.fatal !== undefined) {
    out.line(`ERROR : an exception was thrown when processing '${className}' (error_code=0, message="${result.fatal.message}")`);
  } else {
    const text = messageText(result.message);
    if (text !== undefined) out.line(`${className}: ${text}`);
  }
  out.line(taskEndLine(clock.nowLocal(), className, result.nextRunDate));
  return result;
}

/**
 * Puts the async task `id`, given up in `error`, back in the queue for the next ExecAsyncTask run.
 * @throws UnknownTaskError (exit 254) when no task `id` is in error.
 */
export async function retryAsync(db: Db, clock: Clock, id: number): Promise<void> {
  if (!(await retryAsyncTask(db, id, clock.nowLocal()))) throw new UnknownTaskError(`No async task #${id} in error`);
}
