import type { TaskContext } from './types.js';

/** cron.php's `time() < $iTimeLimit` turned round, plus the run's stop signal: a task's loops end on it. */
export function timeIsUp(ctx: TaskContext): boolean {
  return ctx.signal.aborted || ctx.clock.nowMs() >= ctx.deadline;
}
