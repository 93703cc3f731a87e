/**
 * Repairs of registry values no runner can work with (issue 16 item 4): a zero or missing date, a negative
 * counter, negative durations, a NULL status. cron.php aborts every run on such a row ('Invalid date',
 * 'Incorrect decimal value'), and the tasks after it never run; here the bad value is that task's problem
 * only. Each repair gives the value a new row would have, so the task simply runs again.
 */
import type { Config } from '../config/types.js';
import type { BackgroundTaskRow, TaskUpdate } from '../db/backgroundTasks.js';
import type { BackgroundTask } from '../tasks/types.js';
import { parseOrUndefined, type Clock } from '../time/clock.js';
import { firstRun } from './taskSchedule.js';

/** min_run_duration before the first run (cron.php's sentinel, the largest DECIMAL(8,3)). */
export const NO_RUN_MIN = '99999.999';

/** One bad value and what replaces it. */
export interface RegistryRepair {
  readonly column: keyof TaskUpdate;
  readonly value: string | number | null;
  readonly repaired: string | number | null;
}

const DURATIONS = ['latest_run_duration', 'max_run_duration', 'average_run_duration'] as const;

function badNumber(v: string | number | null): boolean {
  return v !== null && !(Number(v) >= 0);
}

/**
 * The repairs one row of an implemented task needs (empty for a sound row):
 * - `next_run_date` NULL or not a date: the first run of a new row (now for a periodic task);
 * - `first_run_date`, `latest_run_date` not a date: NULL (as before the first run; the run writes them);
 * - `total_exec_count` negative: 0 (the average is then recomputed from the next run);
 * - a negative duration: 0, and `min_run_duration` the "no run yet" sentinel;
 * - `status` NULL or empty (not a value of iTop's enum): 'active', iTop's default.
 */
export function registryRepairs(row: BackgroundTaskRow, task: BackgroundTask, config: Config, clock: Clock): RegistryRepair[] {
  const out: RegistryRepair[] = [];
  if (parseOrUndefined(clock, row.next_run_date) === undefined) {
    const nowMs = clock.nowMs();
    out.push({ column: 'next_run_date', value: row.next_run_date, repaired: firstRun(task, config, nowMs, clock.format(nowMs)) });
  }
  for (const column of ['first_run_date', 'latest_run_date'] as const) {
    const v = row[column];
    if (v !== null && parseOrUndefined(clock, v) === undefined) out.push({ column, value: v, repaired: null });
  }
  if (badNumber(row.total_exec_count)) out.push({ column: 'total_exec_count', value: row.total_exec_count, repaired: 0 });
  for (const column of DURATIONS) {
    if (badNumber(row[column])) out.push({ column, value: row[column], repaired: '0.000' });
  }
  if (row.min_run_duration === null || badNumber(row.min_run_duration)) {
    out.push({ column: 'min_run_duration', value: row.min_run_duration, repaired: NO_RUN_MIN });
  }
  if (row.status === null || (row.status as string) === '') out.push({ column: 'status', value: row.status, repaired: 'active' });
  return out;
}

/** The repairs as the columns to write. */
export function repairChanges(repairs: readonly RegistryRepair[]): TaskUpdate {
  const changes: Record<string, string | number | null> = {};
  for (const r of repairs) changes[r.column] = r.repaired;
  return changes as TaskUpdate;
}
