/**
 * A threshold's actions on one object: in the standard data model the only one is
 * `ApplyStimulus('ev_timeout')` at 100 %, which moves the ticket along its lifecycle and records the
 * change in its history, exactly the statements the real escalation issued: the status with
 * `ticket.last_update`, then priv_change and the `status` changeop.
 *
 * Not reproduced (docs/tasks.md, "CheckStopWatchThresholds"): iTop recomputes the running stopwatches' deadlines
 * on every save (SLT goals, working hours); itop-cron keeps the stored deadlines. No built-in `ev_timeout`
 * transition starts or stops a stopwatch (each runs in both states or in neither), so no stopwatch column
 * changes; a definition that would need one is refused rather than half-applied.
 */
import type { Logger } from 'pino';
import { updateTicketStatus } from '../../db/tickets.js';
import type { Db, Queryable } from '../../db/types.js';
import type { ClassDefinition, ThresholdAction } from './definitions.js';
import { stopwatchesChangingState, targetState } from './definitions.js';
import type { CurrentChange } from './history.js';
import { openChange, recordStatusChange } from './history.js';

export interface ActionEnv {
  readonly db: Db;
  readonly log: Logger;
  /** The cron user (priv_change.user_id). */
  readonly userId: number;
}

/** A lifecycle change made by the actions. */
export interface Transition {
  readonly from: string;
  readonly to: string;
  /** The priv_change row holding its history. */
  readonly changeId: number;
}

export interface ActionTarget {
  readonly def: ClassDefinition;
  readonly id: number;
  /** The state read under lock. */
  readonly status: string;
}

/**
 * Runs `actions` in order inside the object's transaction. A stimulus the current state does not accept
 * is logged as iTop logs it (`<Class>: Transition <stimulus> is not allowed in <state>`, error level)
 * and changes nothing. Returns the transitions made (none, or one in the standard model).
 */
export async function applyThresholdActions(
  env: ActionEnv,
  tx: Queryable,
  target: ActionTarget,
  actions: readonly ThresholdAction[],
  change: CurrentChange,
  nowLocal: string,
): Promise<Transition[]> {
  const transitions: Transition[] = [];
  let status = target.status;
  let changeId: number | undefined;
  for (const action of actions) {
    const to = targetState(target.def, action.stimulus, status);
    if (to === undefined) {
      env.log.error(
        { class: target.def.className, id: target.id, stimulus: action.stimulus, state: status },
        `${target.def.className}: Transition ${action.stimulus} is not allowed in ${status}`,
      );
      continue;
    }
    const moved = stopwatchesChangingState(target.def, status, to);
    if (moved.length > 0) {
      throw new Error(
        `${target.def.className}::${target.id}: ${action.stimulus} from ${status} to ${to} would start or stop ` +
          `the stopwatch(es) ${moved.join(', ')}, which itop-cron does not reproduce`,
      );
    }
    await updateTicketStatus(env.db, tx, target.def, target.id, to, nowLocal);
    // Written when first needed, as iTop does; several changes of one object share it.
    changeId ??= await openChange(env.db, tx, change, env.userId);
    await recordStatusChange(env.db, tx, changeId, { objClass: target.def.className, id: target.id, from: status, to });
    transitions.push({ from: status, to, changeId });
    status = to;
  }
  return transitions;
}
