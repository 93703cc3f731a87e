import type { BackgroundTask, TaskContext } from '../tasks/types.js';
import type { RunEnv } from './runEnv.js';

/** A task that overran its hard deadline and was abandoned. */
export class TaskTimeoutError extends Error {
  constructor(className: string, seconds: number) {
    super(`${className} exceeded its hard deadline of ${seconds}s and was aborted`);
    this.name = 'TaskTimeoutError';
  }
}

/** Time a task gets past its cooperative limit before the daemon aborts it (overridable, ms). */
export function hardDeadlineGraceMs(env: RunEnv): number {
  const v = Number(env.params['task_grace_seconds'] ?? env.config.settings['itop_cron.task_grace_seconds'] ?? 30);
  return Number.isFinite(v) && v >= 0 ? v * 1000 : 30_000;
}

/**
 * Runs `task.process` with the cooperative limit `limitMs` and a hard deadline (limit + grace): past it the
 * task's AbortSignal fires and, if the task still does not return, it is abandoned with TaskTimeoutError so
 * that the loop goes on. The signal also fires when the whole run is asked to stop.
 */
export async function runWithDeadline(
  env: RunEnv,
  task: BackgroundTask,
  limitMs: number,
): Promise<Awaited<ReturnType<BackgroundTask['process']>>> {
  const startMs = Date.now();
  const controller = new AbortController();
  const onStop = (): void => controller.abort(env.signal.reason);
  env.signal.addEventListener('abort', onStop, { once: true });
  const hardMs = limitMs + hardDeadlineGraceMs(env);
  let timer: NodeJS.Timeout | undefined;
  const ctx: TaskContext = {
    db: env.db,
    config: env.config,
    clock: env.clock,
    deadline: limitMs,
    signal: controller.signal,
    log: env.log.child({ task: task.className }),
    print: (line) => env.out.line(line),
    debug: env.debug,
    userId: env.userId,
    params: env.params,
  };
  const overrun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new Error('hard deadline'));
      reject(new TaskTimeoutError(task.className, Math.round((hardMs - startMs) / 1000)));
    }, Math.min(2_147_483_647, Math.max(0, hardMs - startMs)));
  });
  try {
    return await Promise.race([task.process(ctx), overrun]);
  } finally {
    clearTimeout(timer);
    env.signal.removeEventListener('abort', onStop);
  }
}
