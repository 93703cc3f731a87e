/**
 * iTop's ExecAsyncTask: every 2 s, runs the queued asynchronous tasks — e-mails
 * (AsyncSendEmail) and newsroom notifications (AsyncSendNewsroom) — oldest first, deletes those that
 * succeed, and applies iTop's retry policy (`async_task_retries`) to those that fail.
 *
 * Beyond cron.php: due tasks are fetched a batch at a time and claimed one by one with a conditional
 * UPDATE; one SMTP connection serves the whole run; rows left `running` by a crash are recovered after
 * `itop_cron.async_running_timeout` seconds as a failed attempt; tasks of classes itop-cron does not know
 * (an extension's) are left alone and reported once per run.
 */
import type { InlineImageLookup } from '../mail/buildMail.js';
import { buildMail } from '../mail/buildMail.js';
import { cronMailSettings, inlineImageLookup } from '../mail/queue.js';
import { isServerFailure, mailOutageGate, type MailOutageGate } from '../mail/outage.js';
import { createMailTransport, MailSendError, type MailSettings, type MailTransport } from '../mail/transport.js';
import { decodeV2 } from '../mail/v2Message.js';
import { settingInt } from '../config/php.js';
import {
  claimTask,
  deleteTask,
  loadEmailTask,
  loadNewsroomTask,
  otherPlannedClasses,
  recordFailure,
  selectDueTasks,
  selectStuckTasks,
  setEventMessage,
  SUBCLASS_TABLES,
  type AsyncEmailRow,
  type AsyncNewsroomRow,
  type AsyncTaskRow,
} from '../db/asyncTasks.js';
import { releaseClaim } from '../db/asyncRelease.js';
import type { Queryable } from '../db/types.js';
import { coerceError, DbGoneAwayError } from '../errors.js';
import { prepareNewsroom } from './asyncNewsroom.js';
import { planFailure, retryPolicy } from './asyncRetry.js';
import { runOtherClassesInPhp } from './asyncInPhp.js';
import { EXEC_ASYNC_TASK_SCHEDULE } from './schedules.js';
import { timeIsUp } from './timeIsUp.js';
import type { BackgroundTask, TaskContext } from './types.js';

/** Due tasks fetched per query: enough to keep the SMTP connection busy, few enough to stay fresh. */
const BATCH = 100;
const DEFAULT_RUNNING_TIMEOUT = 600;

/** State of one process() call. */
interface Run {
  readonly ctx: TaskContext;
  readonly settings: MailSettings;
  readonly lookup: InlineImageLookup;
  /** Opened on the first e-mail, closed at the end of the run. */
  transport: MailTransport | undefined;
  /** The last success, whose bookkeeping commits with the next claim (see claimNext). */
  done: { readonly row: AsyncTaskRow; readonly outcome: Outcome } | undefined;
  /** Whether the mail server is known to be down (src/mail/outage.ts). */
  readonly gate: MailOutageGate;
}

/** What a task's own work produced: cron.php's status string, and the writes that must commit with the deletion. */
interface Outcome {
  status: string;
  write?: (tx: Queryable) => Promise<void>;
}

/** A task whose data cannot be read at all (iTop: MarkAsRunning failed): it is deleted, not retried. */
class CorruptedTaskError extends Error {}

/** The SMTP reply code (e.g. 550) or a numeric error code; iTop stores the exception code, usually 0. */
function errorCode(e: unknown): number {
  const { responseCode, code } = (e ?? {}) as { responseCode?: unknown; code?: unknown };
  if (typeof responseCode === 'number' && Number.isSafeInteger(responseCode)) return responseCode;
  if (typeof code === 'number' && Number.isSafeInteger(code)) return code;
  return 0;
}

/** AsyncSendEmail, and AsyncSendNewsroom where the table exists (iTop ≥ 3.2). */
async function handledClasses(ctx: TaskContext): Promise<string[]> {
  const classes = ['AsyncSendEmail'];
  if (await ctx.db.hasTable('priv_async_send_newsroom')) classes.push('AsyncSendNewsroom');
  return classes;
}

/** Logs, once per class and per cron run, planned tasks of classes no one here runs. */
async function reportOtherClasses(ctx: TaskContext, classes: readonly string[], reported: Set<string>): Promise<void> {
  for (const { realclass, n } of await otherPlannedClasses(ctx.db, classes)) {
    if (reported.has(realclass)) continue;
    reported.add(realclass);
    ctx.log.warn(
      { realclass, planned: n },
      `ExecAsyncTask: ${n} planned async task(s) of class '${realclass}' left alone: itop-cron does not implement that class`,
    );
  }
}

/** Writes the event message, falling back to the short text as iTop does when the long one cannot be written. */
async function reportOnEvent(run: Run, eventId: number | null, message: string, fallback: string): Promise<void> {
  if (eventId === null || eventId === 0) return;
  const { db, log } = run.ctx;
  for (const text of [message, fallback]) {
    try {
      if ((await setEventMessage(db, db, eventId, text)) > 0) return;
      break; // no such event: the fallback would not find it either
    } catch (e) {
      if (e instanceof DbGoneAwayError) throw e;
      log.warn({ eventId, err: coerceError(e).message }, 'cannot write the async task result on its event');
    }
  }
  log.warn({ eventId }, 'the event of an async task is missing; its result is only in the log');
}

/**
 * iTop's HandleError: the task is planned again while retries remain, else left in `error`. With
 * `expectStartedAt`, only a row still `running` since then is changed (stuck-row recovery).
 */
async function handleError(run: Run, row: AsyncTaskRow, error: string, code: number, expectStartedAt?: string | null): Promise<void> {
  const { ctx } = run;
  const plan = planFailure(row, retryPolicy(ctx.config, row.realclass), error, code, ctx.clock);
  if (!(await recordFailure(ctx.db, row.id, plan.update, expectStartedAt))) return;
  if (plan.retryIn !== undefined) {
    ctx.log.info(
      { asyncTask: row.id, realclass: row.realclass, remaining: plan.remaining, retryIn: plan.retryIn },
      `Failed to process async task #${row.id} - reason: ${error} - remaining retries: ${plan.remaining} - next retry in ${plan.retryIn}s`,
    );
  } else {
    ctx.log.error({ asyncTask: row.id, realclass: row.realclass }, `Failed to process async task #${row.id} - reason: ${error}`);
  }
  await reportOnEvent(run, row.event_id, plan.eventMessage, plan.eventFallback);
}

/**
 * Tasks left `running` for longer than `itop_cron.async_running_timeout` seconds (default 600, 0 = never)
 * belong to a run that died: each counts as a failed attempt, so it is retried only as the policy allows.
 */
async function recoverStuck(run: Run, classes: readonly string[]): Promise<void> {
  const { ctx } = run;
  const timeout = settingInt(ctx.config.settings, 'itop_cron.async_running_timeout', DEFAULT_RUNNING_TIMEOUT);
  if (timeout <= 0) return;
  const cutoff = ctx.clock.format(ctx.clock.nowMs() - timeout * 1000);
  for (const row of await selectStuckTasks(ctx.db, cutoff, classes)) {
    const error = `Interrupted while running (started ${row.started ?? 'at an unknown time'}); requeued`;
    ctx.log.warn({ asyncTask: row.id, realclass: row.realclass, started: row.started }, `async task #${row.id}: ${error}`);
    await handleError(run, row, error, 0, row.started);
  }
}

/** Replays a queued e-mail and sends it (AsyncSendEmail::DoProcess). */
async function sendEmail(run: Run, row: AsyncEmailRow): Promise<Outcome> {
  const version = row.version === null ? '' : String(row.version);
  if (version === '1') {
    throw new Error(
      'Version 1 of the serialization format (a serialized PHP object) cannot be replayed by itop-cron; use iTop\'s cron.php for this task',
    );
  }
  // iTop counts an unknown version as done: the task is deleted with this message.
  if (version !== '2') return { status: `Unknown version of the serialization format: ${version}` };
  const mail = await buildMail(decodeV2(row.message ?? ''), {
    ...(run.settings.defaultFrom !== undefined ? { defaultFrom: run.settings.defaultFrom } : {}),
    inlineImages: run.lookup,
  });
  run.transport ??= createMailTransport(run.settings, run.ctx.log);
  await run.transport.send(mail);
  return { status: 'Sent' };
}

/** One attempt: what the task's work produced, or why it failed. */
type Attempt = { row: AsyncTaskRow; outcome: Outcome; error?: undefined } | { row: AsyncTaskRow; outcome?: undefined; error: unknown };

/** Performs one claimed task. Undefined when the row vanished in the meantime. */
async function perform(run: Run, id: number, realclass: string): Promise<Attempt | undefined> {
  const { db } = run.ctx;
  const row: AsyncEmailRow | AsyncNewsroomRow | undefined =
    realclass === 'AsyncSendNewsroom' ? await loadNewsroomTask(db, id) : await loadEmailTask(db, id);
  if (row === undefined) return undefined;
  try {
    if (row.sub_id === null) {
      throw new CorruptedTaskError(`no ${realclass} row #${id} in ${SUBCLASS_TABLES[realclass] ?? 'its table'}`);
    }
    if (realclass !== 'AsyncSendNewsroom') return { row, outcome: await sendEmail(run, row as AsyncEmailRow) };
    const { write } = await prepareNewsroom(db, row as AsyncNewsroomRow, run.ctx.clock.nowLocal());
    return { row, outcome: { status: 'Sent', write } };
  } catch (e) {
    if (e instanceof DbGoneAwayError) throw e;
    return { row, error: e };
  }
}

/**
 * Success: the event gets the status (first, as cron.php), then the task is deleted, in `tx`; a newsroom
 * task's events are created in the same transaction, so they exist exactly once. An e-mail was already
 * accepted by the server at this point: if the process dies before the deletion, the row stays `running`
 * and recoverStuck later counts it as a failed attempt, so the mail may be sent once more when the policy
 * allows a retry. That window (server reply → COMMIT) is a few round trips (see claimNext).
 */
async function finishIn(tx: Queryable, run: Run, row: AsyncTaskRow, outcome: Outcome): Promise<void> {
  const { db } = run.ctx;
  if (outcome.write !== undefined) await outcome.write(tx);
  if (row.event_id !== null && row.event_id !== 0) await setEventMessage(tx, db, row.event_id, outcome.status);
  await deleteTask(tx, db, row.id, row.realclass);
  run.ctx.log.debug({ asyncTask: row.id, realclass: row.realclass, status: outcome.status }, 'async task done');
}

/** Commits the last success's bookkeeping on its own (before a failure's, and at the end of the run). */
async function flush(run: Run): Promise<void> {
  const done = run.done;
  if (done === undefined) return;
  run.done = undefined;
  await run.ctx.db.transaction((tx) => finishIn(tx, run, done.row, done.outcome));
}

/**
 * Claims the next task, in one transaction with the previous success's deletion: one durable commit per
 * mail instead of two, and commits (fsync) were half of each mail's time (bench/RESULTS.md). Nothing is
 * sent between them, so the crash windows stay those of cron.php: a task is `running` before its mail
 * goes, and at most one claimed task is unsent.
 */
async function claimNext(run: Run, id: number): Promise<boolean> {
  const { db, clock } = run.ctx;
  const done = run.done;
  if (done === undefined) return claimTask(db, id, clock.nowLocal());
  run.done = undefined;
  return db.transaction(async (tx) => {
    await finishIn(tx, run, done.row, done.outcome);
    return claimTask(db, id, clock.nowLocal(), tx);
  });
}

/** iTop: a task whose data cannot be loaded is reported on its event and deleted. */
async function dropCorrupted(run: Run, row: AsyncTaskRow, reason: string): Promise<void> {
  const { db, log } = run.ctx;
  log.error({ asyncTask: row.id }, `Failed to process async task #${row.id} - reason: ${reason} - fatal error, deleting the task.`);
  if (row.event_id !== null && row.event_id !== 0) await setEventMessage(db, db, row.event_id, `Failed, corrupted data: ${reason}`);
  await deleteTask(db, db, row.id, row.realclass);
}

/**
 * Runs one claimed task to its end state (a success's bookkeeping waits for the next claim). A mail server
 * that cannot be reached says nothing about the mail: it goes back to the queue as it was, no attempt
 * counted, and sending pauses (the gate's backoff) instead of burning the next mails' attempts. Returns
 * false for such a mail: it was not processed.
 */
async function runOne(run: Run, id: number, realclass: string): Promise<boolean> {
  const done = await perform(run, id, realclass);
  if (done === undefined) return true;
  const { row, outcome, error } = done;
  if (outcome !== undefined) {
    run.done = { row, outcome };
    if (realclass === 'AsyncSendEmail' && outcome.status === 'Sent') await run.gate.answered();
    return true;
  }
  // Tasks are finished in order: the previous success first.
  await flush(run);
  if (error instanceof CorruptedTaskError) {
    await dropCorrupted(run, row, error.message);
    return true;
  }
  if (isServerFailure(error)) {
    await releaseClaim(run.ctx.db, row.id, row.started);
    await run.gate.serverFailed(error);
    return false;
  }
  if (error instanceof MailSendError) await run.gate.answered();
  await handleError(run, row, coerceError(error).message, errorCode(error));
  return true;
}

/** Creates the task; the per-run memory (classes already reported) lives as long as the instance. */
export function createExecAsyncTask(): BackgroundTask {
  const reported = new Set<string>();
  return {
    ...EXEC_ASYNC_TASK_SCHEDULE,
    async process(ctx) {
      // Computed once, as cron.php: a task re-planned during this run is not due again in this run.
      const now = ctx.clock.nowLocal();
      const run: Run = {
        ctx, settings: cronMailSettings(ctx.config), lookup: inlineImageLookup(ctx.db), transport: undefined,
        done: undefined, gate: mailOutageGate(ctx),
      };
      let processed = 0;
      try {
        const classes = await handledClasses(ctx);
        if (ctx.php === undefined) await reportOtherClasses(ctx, classes, reported);
        await recoverStuck(run, classes);
        let more = true;
        while (more && !timeIsUp(ctx)) {
          // While the mail server is down, mails stay queued untouched; the other tasks go on.
          const sendable = run.gate.knownPaused() ? classes.filter((c) => c !== 'AsyncSendEmail') : classes;
          const due = sendable.length === 0 ? [] : await selectDueTasks(ctx.db, now, sendable, BATCH);
          more = due.length === BATCH;
          for (const task of due) {
            if (timeIsUp(ctx)) break;
            if (task.realclass === 'AsyncSendEmail' && (await run.gate.paused())) continue;
            // Recorded as running before anything is sent: a crash leaves a `running` row, never a silent resend.
            if (!(await claimNext(run, task.id))) continue;
            if (await runOne(run, task.id, task.realclass)) processed++;
          }
        }
        await flush(run);
        if (ctx.php !== undefined && !timeIsUp(ctx)) processed += await runOtherClassesInPhp(ctx, ctx.php, classes, now);
      } finally {
        // On an error path too, a mail that went must not stay `running` (it could be sent again).
        if (run.done !== undefined) await flush(run).catch(() => undefined);
        run.transport?.close();
      }
      if (processed > 0) ctx.log.info({ processed }, 'async tasks processed');
      return `processed ${processed} tasks`;
    },
  };
}
