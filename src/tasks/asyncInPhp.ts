/**
 * Async tasks of classes itop-cron does not implement (an extension's `AsyncTask` subclass, such as the
 * webhook extension's SendWebRequest) run in iTop's own PHP, where `AsyncTask::Process()` keeps the row's
 * status, retries and deletion itself. Only a worker killed mid-task (hard deadline, stop) leaves its row
 * `running`, which iTop would never pick again: that counts here as one failed attempt, under the class's
 * retry policy.
 */
import { recordFailure, selectDueOtherTasks, taskState, type AsyncTaskRow } from '../db/asyncTasks.js';
import { planFailure, retryPolicy } from './asyncRetry.js';
import { timeIsUp } from './timeIsUp.js';
import type { AsyncTaskRunner, TaskContext } from './types.js';

const BATCH = 100;

async function recordKilled(ctx: TaskContext, row: AsyncTaskRow, why: string): Promise<void> {
  const now = await taskState(ctx.db, row.id);
  if (now?.status !== 'running') return;
  const plan = planFailure(row, retryPolicy(ctx.config, row.realclass), why, 0, ctx.clock);
  await recordFailure(ctx.db, row.id, plan.update, now.started);
  const fate = plan.update.status === 'planned' ? 'requeued' : 'no retry left';
  ctx.log.warn({ asyncTask: row.id, realclass: row.realclass, status: plan.update.status }, `async task #${row.id}: ${why}; ${fate}`);
}

/** Runs the due tasks of the other classes until the deadline; returns how many ran. */
export async function runOtherClassesInPhp(ctx: TaskContext, php: AsyncTaskRunner, nativeClasses: readonly string[], nowLocal: string): Promise<number> {
  let processed = 0;
  const seen = new Set<number>();
  while (!timeIsUp(ctx)) {
    const due = (await selectDueOtherTasks(ctx.db, nowLocal, nativeClasses, BATCH)).filter((r) => !seen.has(r.id));
    if (due.length === 0) break;
    for (const row of due) {
      if (timeIsUp(ctx)) break;
      seen.add(row.id);
      const a = await php.runAsync(row.id, ctx.signal);
      if (a.ok) {
        if (a.found === true) processed++;
        continue;
      }
      if (a.kind === 'killed' || a.kind === 'crashed' || a.kind === 'exit' || a.kind === 'php-fatal') {
        await recordKilled(ctx, row, `Interrupted in iTop's PHP (${a.error ?? a.kind})`);
        if (a.kind === 'killed') return processed;
        continue;
      }
      ctx.log.error({ asyncTask: row.id, realclass: row.realclass, kind: a.kind }, `async task #${row.id} failed in iTop's PHP: ${a.error ?? ''}`);
      if (a.kind === 'gone-away' || a.kind === 'bootstrap') return processed;
    }
  }
  return processed;
}
