/**
 * iTop's CheckStopWatchThresholds: every 10 s, for each class, stopwatch and threshold of the
 * definitions, the objects whose threshold deadline has passed get the threshold's actions (the SLA
 * escalation `ev_timeout` at 100 %) and are marked triggered, so that each threshold fires once.
 *
 * Objects are handled in transactions of up to GROUP (re-read under lock, escalate, mark): a crash never
 * leaves a ticket escalated but unmarked (cron.php saves the two separately), and when an object fails its
 * group is rolled back and redone one object per transaction, so that the failing one is logged and
 * retried at the next pass without holding back the others (cron.php aborts the task and retries the same
 * object forever).
 */
import { DbGoneAwayError, coerceError } from '../errors.js';
import type { Queryable } from '../db/types.js';
import { hasArchiveFlag, lockDueTicket, markThresholdTriggered, selectDueTickets } from '../db/tickets.js';
import type { LockedTicket, ThresholdTarget } from '../db/tickets.js';
import type { ClassDefinition, StopwatchDefinition, ThresholdDefinition } from './stopwatches/definitions.js';
import { STOPWATCH_CLASSES } from './stopwatches/definitions.js';
import type { Transition } from './stopwatches/escalate.js';
import { applyThresholdActions } from './stopwatches/escalate.js';
import type { CurrentChange } from './stopwatches/history.js';
import { markChange, taskChange } from './stopwatches/history.js';
import { onThresholdReached } from './stopwatches/thresholdReached.js';
import type { BackgroundTask, TaskContext } from './types.js';
import { CHECK_STOPWATCH_THRESHOLDS_SCHEDULE } from './schedules.js';
import { timeIsUp } from './timeIsUp.js';

/** One (class, stopwatch, threshold) of a pass. */
interface Check {
  readonly def: ClassDefinition;
  readonly sw: StopwatchDefinition;
  readonly threshold: ThresholdDefinition;
  readonly target: ThresholdTarget;
}

/** What one object's transaction did. */
interface Outcome {
  readonly row: LockedTicket;
  readonly transitions: Transition[];
  /** When the mark was saved: the next escalation's history change is dated from it. */
  readonly markedAt: string;
}

/** The checks of the installed classes, in cron.php's order; a class whose table is absent is skipped. */
async function checksOf(ctx: TaskContext): Promise<Check[]> {
  const checks: Check[] = [];
  for (const def of STOPWATCH_CLASSES) {
    // Module not installed (e.g. no Incident in a request-only iTop): nothing to check, nothing to say.
    if (!(await ctx.db.hasTable(def.table))) continue;
    const excludeArchived = await hasArchiveFlag(ctx.db, def.rootTable);
    for (const sw of def.stopwatches) {
      const thresholds = sw.thresholds.map((th) => th.index);
      for (const threshold of sw.thresholds) {
        const target = {
          table: def.table,
          rootTable: def.rootTable,
          stopwatch: sw.code,
          threshold: threshold.index,
          thresholds,
          excludeArchived,
        };
        checks.push({ def, sw, threshold, target });
      }
    }
  }
  return checks;
}

/**
 * Objects escalated per transaction: one durable commit for up to this many instead of one each, since
 * the commit was a third of each escalation's time (bench/RESULTS.md).
 */
const GROUP = 20;

/** Escalates and marks one object inside `tx`. Undefined when it is no longer due (changed since the list was read). */
async function escalateIn(ctx: TaskContext, tx: Queryable, check: Check, id: number, change: CurrentChange): Promise<Outcome | undefined> {
  const { db } = ctx;
  const now = ctx.clock.nowLocal();
  const row = await lockDueTicket(db, tx, check.target, id, now);
  if (row === undefined) return undefined;
  const transitions = await applyThresholdActions(
    { db, log: ctx.log, userId: ctx.userId },
    tx,
    { def: check.def, id, status: row.status },
    check.threshold.actions,
    change,
    now,
  );
  await markThresholdTriggered(db, tx, check.target, id, now);
  return { row, transitions, markedAt: now };
}

/**
 * Escalates and marks one object in a transaction. Undefined when it is no longer due or when it failed
 * (logged; it stays unmarked and is retried at the next pass). A lost connection is not an object's
 * failure: it ends the task as cron.php's MySQLHasGoneAwayException.
 */
async function processObject(ctx: TaskContext, check: Check, id: number, change: CurrentChange): Promise<Outcome | undefined> {
  try {
    return await ctx.db.transaction((tx) => escalateIn(ctx, tx, check, id, change));
  } catch (e) {
    if (e instanceof DbGoneAwayError) throw e;
    const err = coerceError(e);
    const item = `${check.def.className}::${id} ${check.sw.code} ${check.threshold.index}`;
    ctx.log.error(
      { err, class: check.def.className, id, stopwatch: check.sw.code, threshold: check.threshold.index },
      `${item}: not processed, retried at the next pass: ${err.message}`,
    );
    return undefined;
  }
}

/**
 * Escalates `ids` in order in one transaction, the history change passing from one object to the next as
 * in the pass. If one fails, everything is rolled back and the same objects go one transaction each
 * (processObject): the failing one is logged and skipped, the others are not held back. A crash rolls the
 * group back, and the next pass finds its objects due again.
 */
async function processGroup(ctx: TaskContext, check: Check, ids: readonly number[], start: CurrentChange): Promise<Array<{ id: number; outcome: Outcome }>> {
  const each = async (run: (id: number, change: CurrentChange) => Promise<Outcome | undefined>): Promise<Array<{ id: number; outcome: Outcome }>> => {
    const done: Array<{ id: number; outcome: Outcome }> = [];
    let change = start;
    for (const id of ids) {
      const outcome = await run(id, change);
      if (outcome === undefined) continue;
      done.push({ id, outcome });
      change = markChange(outcome.markedAt);
    }
    return done;
  };
  try {
    return await ctx.db.transaction((tx) => each((id, change) => escalateIn(ctx, tx, check, id, change)));
  } catch (e) {
    if (e instanceof DbGoneAwayError) throw e;
    ctx.log.debug({ err: coerceError(e).message, ids }, 'a threshold group failed: its objects are retried one by one');
    return each((id, change) => processObject(ctx, check, id, change));
  }
}

/** One pass: returns cron.php's message, `Triggered <n> threshold(s):<Class>::<id> <sw> <i>, ...`. */
async function process(ctx: TaskContext): Promise<string> {
  const fired: string[] = [];
  // cron.php opens the task's history change before running it.
  let change = taskChange(ctx.clock.nowLocal());
  for (const check of await checksOf(ctx)) {
    if (timeIsUp(ctx)) break;
    const { def, sw, threshold } = check;
    const due = await selectDueTickets(ctx.db, check.target, ctx.clock.nowLocal());
    // The time limit is checked between groups (a group of GROUP objects takes a few tens of ms); each
    // object is reported and notified once its group is committed, in order, as before.
    for (let i = 0; i < due.length && !timeIsUp(ctx); i += GROUP) {
      for (const { id, outcome } of await processGroup(ctx, check, due.slice(i, i + GROUP).map((d) => d.id), change)) {
        change = markChange(outcome.markedAt);
        fired.push(`${def.className}::${id} ${sw.code} ${threshold.index}`);
        ctx.log.info(
          { class: def.className, id, stopwatch: sw.code, threshold: threshold.index, transitions: outcome.transitions },
          'threshold triggered',
        );
        // ---- Extension point: threshold notifications (TriggerOnThresholdReached) plug in here. ----
        await onThresholdReached(ctx, {
          class: def.className,
          classPath: def.classPath,
          id,
          stopwatch: sw.code,
          threshold: threshold.index,
          row: outcome.row,
          transitions: outcome.transitions,
        });
      }
    }
  }
  return `Triggered ${fired.length} threshold(s):${fired.join(', ')}`;
}

/** iTop's CheckStopWatchThresholds: periodic, every 10 seconds. */
export const checkStopWatchThresholds: BackgroundTask = { ...CHECK_STOPWATCH_THRESHOLDS_SCHEDULE, process };
