import type { Logger } from 'pino';
import { coerceError } from '../errors.js';

/** One finished task run, as the run history, the metrics and the alerts see it. */
export interface TaskRunEvent {
  readonly className: string;
  /** The planned `next_run_date` the run was due at (iTop-local 'Y-m-d H:i:s'). */
  readonly planned: string | null;
  /** Epoch ms. */
  readonly startMs: number;
  /** Epoch ms. */
  readonly endMs: number;
  readonly durationSeconds: number;
  readonly outcome: 'success' | 'failure' | 'fatal' | 'timeout';
  /** cron.php's message for a success, the error text otherwise; null when the task said nothing. */
  readonly message: string | null;
  readonly nextRunDate: string | null;
  /** Cluster mode: the runner that ran it (`host:pid`). */
  readonly runner?: string;
  /** Cluster mode: the occurrence's previous run did not finish; the runner id it was taken over from ('' if unknown). */
  readonly takenOverFrom?: string;
}

/** How one cron execution ended, for the run-level hooks (a CronExit kind, or `error` when it threw). */
export interface RunEnd {
  readonly kind: string;
  readonly error?: string;
}

/**
 * Optional hooks called by the scheduler around runs and tasks (history, metrics, pings, alerts live in
 * src/ops). Every call goes through `notifyObserver`: an observer that fails is logged, never fatal.
 */
export interface RunObserver {
  /** The cron lock is held and the loop is about to start. */
  runStarted?(): Promise<void>;
  /** A task's row was marked running; its work starts now. */
  taskStarted?(className: string, planned: string | null): Promise<void>;
  /** A task run ended and its row was updated. */
  taskFinished?(event: TaskRunEvent): Promise<void>;
  /** The loop ended (before the lock is released). */
  runFinished?(end: RunEnd): Promise<void>;
}

/** Calls one hook; whatever it throws is logged and swallowed, so that bookkeeping never fails a run. */
export async function notifyObserver(log: Logger, hook: string, call: () => Promise<void> | undefined): Promise<void> {
  try {
    await call();
  } catch (e) {
    log.warn({ hook, err: coerceError(e).message }, 'run observer failed (ignored)');
  }
}

/**
 * Runs one cron execution between the observer's runStarted and runFinished hooks; `run`'s result or
 * error passes through unchanged.
 */
export async function observeRun<T extends { readonly kind: string }>(
  log: Logger,
  observer: RunObserver | undefined,
  run: () => Promise<T>,
): Promise<T> {
  if (observer === undefined) return run();
  await notifyObserver(log, 'runStarted', () => observer.runStarted?.());
  let exit: T;
  try {
    exit = await run();
  } catch (e) {
    await notifyObserver(log, 'runFinished', () => observer.runFinished?.({ kind: 'error', error: coerceError(e).message }));
    throw e;
  }
  await notifyObserver(log, 'runFinished', () => observer.runFinished?.({ kind: exit.kind }));
  return exit;
}
