import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { Db } from '../db/types.js';
import type { Clock } from '../time/clock.js';

/**
 * What a task gets to do its work. Tasks never touch the scheduler's bookkeeping
 * (`priv_backgroundtask`): they do their work and return cron.php's message.
 */
export interface TaskContext {
  readonly db: Db;
  readonly config: Config;
  /** Now, in iTop's time zone. */
  readonly clock: Clock;
  /** Epoch milliseconds by which the task should return (cron.php's `$iUnixTimeLimit`, cooperative). */
  readonly deadline: number;
  /** Aborted when the task must stop now (hard deadline, maintenance, signal). */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Writes a line to stdout, as cron.php's tasks that echo progress (BackupExec). */
  readonly print: (line: string) => void;
  /** `--debug`. */
  readonly debug: boolean;
  /** id of the iTop user running the cron (for `priv_change.user_id`). */
  readonly userId: number;
  /** Extra parameters from the command line and parameter files (e.g. `mysql_bindir`). */
  readonly params: Readonly<Record<string, string>>;
  /** iTop's own PHP (src/php/), when this run has it: async tasks of classes itop-cron does not implement go there. */
  readonly php?: AsyncTaskRunner;
}

/** Runs one async task (a `priv_async_task` row) in iTop's PHP, which keeps the row's status and retries itself. */
export interface AsyncTaskRunner {
  runAsync(
    id: number,
    signal?: AbortSignal,
  ): Promise<{ readonly ok: boolean; readonly kind?: string; readonly error?: string; readonly found?: boolean; readonly done?: boolean }>;
}

/**
 * One background process, named after the iTop class it stands for. Exactly one of
 * `periodicity` (periodic, iBackgroundProcess) or `nextOccurrence` (scheduled, iScheduledProcess)
 * is given.
 */
export interface BackgroundTask {
  /** The iTop class name, fully qualified without a leading backslash. */
  readonly className: string;
  /** Periodic tasks: the period in seconds (may depend on the configuration). */
  periodicity?(config: Config): number;
  /**
   * Scheduled tasks: the next run, as iTop-local 'Y-m-d H:i:s', computed from `nowMs` (epoch ms).
   * '3000-01-01 00:00:00' parks the task. Throws ProcessInvalidConfigError on a bad setting.
   */
  nextOccurrence?(config: Config, nowMs: number): string;
  /**
   * Does the work until `ctx.deadline` or `ctx.signal`, and returns the message cron.php prints
   * after `<Class>: ` in verbose mode. `true` prints as `1`; `false`, `null`, `undefined` and '' print nothing.
   */
  process(ctx: TaskContext): Promise<string | boolean | null | undefined>;
  /**
   * Extension tasks only: run `process` in a worker thread of its own (the module is imported there by
   * path, with its own Db and TaskContext), so that the daemon can terminate it at its hard deadline even
   * when it never yields (a busy loop). The setting `itop_cron.isolate_extensions` isolates every extension
   * task. Ignored for built-in tasks. Optional; default false.
   */
  readonly isolated?: boolean;
}

/** A task without its work: what the scheduler needs to plan it (its class and when it is due). */
export type TaskSchedule = Omit<BackgroundTask, 'process' | 'isolated'>;

/** What an extension module exports: a task, a list of tasks, or a function of the config returning them. */
export type ExtensionExport =
  | BackgroundTask
  | readonly BackgroundTask[]
  | ((config: Config) => BackgroundTask | readonly BackgroundTask[] | Promise<BackgroundTask | readonly BackgroundTask[]>);
