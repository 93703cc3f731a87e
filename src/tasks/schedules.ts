/**
 * The class and schedule of the built-in tasks whose code is heavy to load (the notification code,
 * nodemailer, tar): the registry plans them from here and imports their code on their first native run,
 * so that a run where iTop's PHP runs them never loads it (bench/RESULTS.md, php group).
 */
import type { TaskSchedule } from './types.js';

export { BACKUP_EXEC_SCHEDULE } from './backup/settings.js';

/** iTop's CheckStopWatchThresholds: periodic, every 10 seconds. */
export const CHECK_STOPWATCH_THRESHOLDS_SCHEDULE: TaskSchedule = { className: 'CheckStopWatchThresholds', periodicity: () => 10 };

/** iTop's ExecAsyncTask: periodic, every 2 seconds. */
export const EXEC_ASYNC_TASK_SCHEDULE: TaskSchedule = { className: 'ExecAsyncTask', periodicity: () => 2 };
