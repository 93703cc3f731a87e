/**
 * The daemon-enforced limits of one task run (issue "a hung task cannot block the others"). cron.php's
 * limits are only cooperative: here every task also has a hard deadline. Past it the task's
 * AbortSignal fires and the run is abandoned (a never-resolving promise) or its worker thread is
 * terminated (an isolated task, even one stuck in a busy loop), so that the loop goes on.
 */
import { getOwn, phpInt, phpString } from '../config/php.js';
import type { Config, PhpValue } from '../config/types.js';
import type { BackgroundTask, TaskContext } from '../tasks/types.js';
import { isolatedModuleOf, startIsolated, type TaskExecution } from './isolated.js';
import type { RunEnv } from './runEnv.js';

/** A task the daemon stopped before it returned: past its hard deadline, or interrupted by the run. */
export class TaskTimeoutError extends Error {
  /**
   * @param seconds how long the task had run, or its deadline.
   * @param reason why it was interrupted; absent for a hard deadline.
   */
  constructor(className: string, seconds: number, reason?: string) {
    super(
      reason === undefined
        ? `${className} exceeded its hard deadline of ${seconds}s and was aborted`
        : `${className} was aborted after ${seconds}s: ${reason}`,
    );
    this.name = 'TaskTimeoutError';
  }
}

/** What `process` returns. */
export type TaskMessage = Awaited<ReturnType<BackgroundTask['process']>>;

/** How long an interrupted task (maintenance, lock lost) may take to honour its signal before it is abandoned. */
export const INTERRUPT_GRACE_MS = 500;

/** Time a task gets past its cooperative limit before the daemon aborts it (overridable, ms). */
export function hardDeadlineGraceMs(env: Pick<RunEnv, 'params' | 'config'>): number {
  const v = Number(env.params['task_grace_seconds'] ?? env.config.settings['itop_cron.task_grace_seconds'] ?? 30);
  return Number.isFinite(v) && v >= 0 ? v * 1000 : 30_000;
}

/**
 * The setting `itop_cron.task_deadlines`: class name → hard deadline in seconds, counted from the task's
 * start. Either a PHP array (`array('ExecAsyncTask' => 120)`) or a string `'ExecAsyncTask=120, BackupExec=3600'`
 * (handy in parameter-free setups). Entries that are not a positive number of seconds are ignored.
 */
export function taskDeadlineOverrides(config: Config): Map<string, number> {
  const raw = getOwn(config.settings, 'itop_cron.task_deadlines');
  const entries: [string, PhpValue][] = [];
  if (typeof raw === 'string') {
    for (const item of raw.split(',')) {
      const eq = item.lastIndexOf('=');
      if (eq > 0) entries.push([item.slice(0, eq).trim(), item.slice(eq + 1)]);
    }
  } else if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    entries.push(...Object.entries(raw));
  }
  const map = new Map<string, number>();
  for (const [cls, v] of entries) {
    const seconds = phpInt(phpString(v));
    if (cls !== '' && seconds > 0) map.set(cls.replace(/^\\/, ''), seconds);
  }
  return map;
}

/**
 * The epoch ms past which the daemon aborts a task that started at `startMs` with the cooperative limit
 * `limitMs`: the per-class override when set, else the limit plus the grace. The limit itself derives from
 * `cron_task_max_execution_time` × period and the end of the run (`cron_max_execution_time`).
 */
export function hardDeadlineMs(env: RunEnv, task: BackgroundTask, limitMs: number, startMs: number): number {
  const override = taskDeadlineOverrides(env.config).get(task.className);
  return override !== undefined ? startMs + override * 1000 : limitMs + hardDeadlineGraceMs(env);
}

/** Runs `process` in this thread; it can be abandoned but not stopped. */
function inThread(env: RunEnv, task: BackgroundTask, deadline: number, signal: AbortSignal): TaskExecution {
  const ctx: TaskContext = {
    db: env.db,
    config: env.config,
    clock: env.clock,
    deadline,
    signal,
    log: env.log.child({ task: task.className }),
    print: (line) => env.out.line(line),
    debug: env.debug,
    userId: env.userId,
    params: env.params,
    ...(env.php !== undefined ? { php: env.php } : {}),
  };
  return { result: Promise.resolve().then(() => task.process(ctx)), kill: () => Promise.resolve() };
}

const MAX_TIMER_MS = 2_147_483_647;

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'interrupted';
}

/**
 * Runs `task.process` with the cooperative limit `limitMs` (epoch ms) and a hard deadline (see
 * hardDeadlineMs): past it the task's AbortSignal fires and the run is abandoned (or its worker
 * terminated) with TaskTimeoutError. A stop of the whole run (`env.signal`, SIGTERM) only fires the
 * task's signal; an `interrupt` (maintenance flag, lock lost) fires it and abandons the task
 * INTERRUPT_GRACE_MS later if it has not returned by then.
 */
export function runWithDeadline(env: RunEnv, task: BackgroundTask, limitMs: number, interrupt?: AbortSignal): Promise<TaskMessage> {
  const startMs = Date.now();
  const hardMs = hardDeadlineMs(env, task, limitMs, startMs);
  const controller = new AbortController();
  const modulePath = isolatedModuleOf(env, task);
  const deadline = Math.min(limitMs, hardMs);
  // The database's bound is the run's deadline; a task allowed to run longer (task_deadlines) gets its own.
  const runBound = env.db.deadline?.();
  const extended = runBound !== undefined && hardMs > runBound;
  if (extended) env.db.setDeadline?.(hardMs);
  const exec =
    modulePath === undefined
      ? inThread(env, task, deadline, controller.signal)
      : startIsolated(env, task, modulePath, deadline, controller.signal);

  return new Promise<TaskMessage>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    let settled = false;
    const onStop = (): void => controller.abort(env.signal.reason);
    const cleanup = (): void => {
      settled = true;
      if (extended) env.db.setDeadline?.(runBound);
      for (const t of timers) clearTimeout(t);
      env.signal.removeEventListener('abort', onStop);
      interrupt?.removeEventListener('abort', onInterrupt);
    };
    // Abandons the run: fire the signal, stop the worker if any, and report why.
    const abandon = (error: TaskTimeoutError): void => {
      if (settled) return;
      cleanup();
      env.log.error({ task: task.className, isolated: modulePath !== undefined }, error.message);
      controller.abort(error);
      exec.kill().then(
        () => reject(error),
        () => reject(error),
      );
    };
    function onInterrupt(): void {
      const why = reasonText(interrupt?.reason);
      controller.abort(interrupt?.reason);
      timers.push(
        setTimeout(() => {
          abandon(new TaskTimeoutError(task.className, Math.round((Date.now() - startMs) / 1000), why));
        }, INTERRUPT_GRACE_MS),
      );
    }
    exec.result.then(
      (v) => {
        if (settled) return;
        cleanup();
        resolve(v);
      },
      (e: unknown) => {
        if (settled) return;
        cleanup();
        reject(e);
      },
    );
    const hardSeconds = Math.round((hardMs - startMs) / 1000);
    timers.push(
      setTimeout(() => abandon(new TaskTimeoutError(task.className, hardSeconds)), Math.min(MAX_TIMER_MS, Math.max(0, hardMs - startMs))),
    );
    if (env.signal.aborted) onStop();
    else env.signal.addEventListener('abort', onStop, { once: true });
    if (interrupt?.aborted === true) onInterrupt();
    else interrupt?.addEventListener('abort', onInterrupt, { once: true });
  });
}
