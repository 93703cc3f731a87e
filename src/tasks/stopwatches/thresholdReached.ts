/**
 * EXTENSION POINT: what happens once a threshold has been marked triggered and committed.
 *
 * In iTop this is where the `TriggerOnThresholdReached` triggers are looked up (`target_class IN
 * (<classPath>)`, `MATCH(stop_watch_code) AGAINST('<sw>')`, `threshold_index = '<i>'`, by description)
 * and activated, running their actions (ActionEmail...).
 * The threshold-notification feature plugs in here; until then this does nothing.
 */
import { activateThresholdTriggers } from '../../notify/index.js';
import type { TaskContext } from '../types.js';
import type { Transition } from './escalate.js';

export interface ThresholdReachedEvent {
  /** The object's class, e.g. 'UserRequest'. */
  readonly class: string;
  /** The class and its parents, parents first (for `target_class IN (...)`). */
  readonly classPath: readonly string[];
  readonly id: number;
  /** The stopwatch attribute code, e.g. 'tto'. */
  readonly stopwatch: string;
  /** The threshold index, e.g. 100. */
  readonly threshold: number;
  /** The object as read under lock before the change: id, ref, finalclass, status and the stopwatch's columns. */
  readonly row: Readonly<Record<string, unknown>>;
  /** The lifecycle changes the threshold's actions made (empty at 75 %, or when not allowed). */
  readonly transitions: readonly Transition[];
}

/**
 * Called by CheckStopWatchThresholds after each threshold is marked and committed, in the order of the
 * message. Awaited. As in iTop, the mark is already saved: an error thrown here ends the task's pass
 * (cron.php records `Processing failed with message: ...`) and the notification is not retried.
 */
export async function onThresholdReached(ctx: TaskContext, event: ThresholdReachedEvent): Promise<void> {
  // Threshold notifications (TriggerOnThresholdReached → ActionEmail): src/notify.
  await activateThresholdTriggers(ctx, event);
}
