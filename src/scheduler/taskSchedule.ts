import type { Config } from '../config/types.js';
import type { BackgroundTask } from '../tasks/types.js';
import { nextPeriodicRun } from './nextRun.js';

/** True for iScheduledProcess-like tasks (a computed next occurrence instead of a period). */
export function isScheduled(task: BackgroundTask): boolean {
  return typeof task.nextOccurrence === 'function';
}

/** The period of a periodic task, at least 1 s (a 0 or negative setting must not spin the loop). */
export function periodOf(task: BackgroundTask, config: Config): number {
  const p = Math.trunc(task.periodicity?.(config) ?? 1);
  return Number.isFinite(p) && p > 0 ? p : 1;
}

/**
 * The next run after a run that was planned at `plannedLocal`: the next occurrence for a
 * scheduled task, the drift-free step for a periodic one.
 */
export function nextRunAfter(task: BackgroundTask, config: Config, plannedLocal: string | null, nowMs: number): string {
  if (task.nextOccurrence !== undefined) return task.nextOccurrence(config, nowMs);
  return nextPeriodicRun(plannedLocal, periodOf(task, config), nowMs, config.timezone);
}

/** The first run of a newly registered task: its next occurrence, or now for periodic tasks. */
export function firstRun(task: BackgroundTask, config: Config, nowMs: number, nowLocal: string): string {
  return task.nextOccurrence !== undefined ? task.nextOccurrence(config, nowMs) : nowLocal;
}
