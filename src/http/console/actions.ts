/**
 * The console's actions (POST /action): Pause, Resume, Run now, Reschedule and Retry, done by the same
 * functions as `itop-cron task …` (src/ops/taskControl.ts), so PHP's cron.php sees the same rows. Each is
 * logged with the administrator's login.
 */
import type { CronUser } from '../../auth/authenticate.js';
import { coerceError, CronError } from '../../errors.js';
import { createRunOps } from '../../ops/runOps.js';
import { pauseTask, rescheduleTask, resumeTask, retryAsync, runTaskNow } from '../../ops/taskControl.js';
import { memorySink } from '../../output/stdout.js';
import type { CronPageContext } from '../cronPage.js';

export const ACTIONS = ['pause', 'resume', 'run', 'reschedule', 'retry'] as const;
export type ConsoleAction = (typeof ACTIONS)[number];

/** What an action did, for the result page. */
export interface ActionResult {
  readonly status: number;
  readonly title: string;
  readonly text: string;
  readonly output?: string;
}

export function isAction(a: string | null): a is ConsoleAction {
  return (ACTIONS as readonly string[]).includes(a ?? '');
}

async function runNow(ctx: CronPageContext, user: CronUser, task: string): Promise<ActionResult> {
  const text = memorySink();
  const out = ctx.live === undefined ? text : ctx.live.tee(text);
  const controller = new AbortController();
  const untrack = ctx.track(controller);
  const ops = createRunOps({ config: ctx.config, db: ctx.db, clock: ctx.clock, log: ctx.log, params: ctx.params, tasks: ctx.tasks, serveMetrics: false });
  try {
    const r = await runTaskNow(
      {
        db: ctx.db, config: ctx.config, clock: ctx.clock, log: ctx.log, out, verbose: true, debug: false,
        userId: user.id, params: ctx.params, signal: controller.signal, observer: ops.observer,
      },
      ctx.tasks,
      task,
    );
    if (r.kind === 'already-running') return { status: 409, title: 'Not run', text: `${task} was not run: a cron holds the lock (Already running...)` };
    if (r.kind === 'blocked') return { status: 503, title: 'Not run', text: r.reason };
    return { status: 200, title: 'Run now', text: `${r.className}: ${r.result.outcome} in ${r.result.durationSeconds.toFixed(3)} s`, output: text.text() };
  } finally {
    await ops.close();
    untrack();
  }
}

async function perform(ctx: CronPageContext, user: CronUser, action: ConsoleAction, form: URLSearchParams): Promise<ActionResult> {
  const task = form.get('task') ?? '';
  if (action !== 'retry' && task === '') return { status: 400, title: 'Refused', text: 'Missing task' };
  switch (action) {
    case 'pause': {
      const rows = await pauseTask(ctx.db, task);
      return { status: 200, title: 'Paused', text: `Paused ${rows[0]?.class_name ?? task}: neither itop-cron nor cron.php runs it until it is resumed` };
    }
    case 'resume': {
      const rows = await resumeTask(ctx.db, task);
      return { status: 200, title: 'Resumed', text: `Resumed ${rows[0]?.class_name ?? task}: next run ${rows[0]?.next_run_date ?? ''}` };
    }
    case 'reschedule': {
      const r = await rescheduleTask(ctx.db, ctx.clock, task, form.get('when') ?? 'now');
      return { status: 200, title: 'Rescheduled', text: `${r.className}: next run ${r.next}` };
    }
    case 'run':
      return runNow(ctx, user, task);
    case 'retry': {
      const id = form.get('id') ?? '';
      if (!/^\d{1,10}$/.test(id)) return { status: 400, title: 'Refused', text: `Invalid async task id '${id}'` };
      await retryAsync(ctx.db, ctx.clock, Number(id));
      return { status: 200, title: 'Retry', text: `Async task #${id} planned again: the next ExecAsyncTask run takes it` };
    }
  }
}

/** Performs the action and logs it with the login; a bad task name or date is a 4xx result, not an error. */
export async function doAction(ctx: CronPageContext, user: CronUser, action: ConsoleAction, form: URLSearchParams, ip: string): Promise<ActionResult> {
  const what = { ip, user: user.login, action, task: form.get('task') ?? undefined, asyncTask: form.get('id') ?? undefined };
  try {
    const r = await perform(ctx, user, action, form);
    ctx.log.info({ ...what, status: r.status, result: r.text }, 'console: action');
    return r;
  } catch (e) {
    if (!(e instanceof CronError) || (e.code !== 'ENOTASK' && e.code !== 'EARG')) throw e;
    ctx.log.warn({ ...what, err: e.message }, 'console: action refused');
    return { status: e.code === 'ENOTASK' ? 404 : 400, title: 'Refused', text: coerceError(e).message };
  }
}
