/**
 * Parallel lanes (`itop_cron.max_parallel` > 1): up to N tasks of different classes run at once, each with
 * its own deadlines and watch, so that one slow task (a mail-to-ticket poll, a backup) never holds the
 * others back: a due task waits at most `cron_sleep` for a free lane, and a lane that frees up starts the
 * waiting ones at once. A class never runs twice at the same time. PHP tasks run in workers of their own
 * (the bridge starts one per busy lane). Tasks that must not overlap keep their own exclusion (iTop's
 * `backup.production` lock, log rotation's locks). cron.php's order and verbose trace are those of the
 * default, one lane (cronExec.ts).
 */
import { dueTasksAndLockOwner, type NamedTaskRow } from '../db/backgroundTasks.js';
import type { NamedLock } from '../db/lock.js';
import type { BackgroundTask } from '../tasks/types.js';
import { sleepAfterPass } from './cadence.js';
import { maintenanceDetected } from './maintenance.js';
import type { HeapTrimmer } from './memory.js';
import { pause, runOneTask, type CronExit } from './passParts.js';
import type { RunEnv } from './runEnv.js';

export interface LaneRun {
  readonly runnable: ReadonlyMap<string, BackgroundTask>;
  readonly lock: NamedLock;
  /** Unix seconds: the end of the run (cron_max_execution_time). */
  readonly timeLimit: number;
  readonly lanes: number;
  readonly heap: HeapTrimmer;
}

/** Runs passes until the time limit; returns how the run ended, or undefined for the normal end. */
export async function runLanes(env: RunEnv, r: LaneRun): Promise<CronExit | undefined> {
  const { clock, config, log } = env;
  const classes = [...r.runnable.keys()];
  const running = new Map<string, Promise<void>>();
  const stopAll = new AbortController();
  let exit: CronExit | undefined;
  let freed = new AbortController();
  const start = (task: BackgroundTask, row: NamedTaskRow): void => {
    const done = runOneTask(env, r.lock, task, row, r.timeLimit, stopAll.signal)
      .then(
        (e) => {
          if (e !== undefined && exit === undefined) {
            exit = e;
            stopAll.abort(new Error(`the run is ending (${e.kind})`));
          }
        },
        (e: unknown) => {
          log.error({ task: task.className, err: (e as Error).message }, 'a lane failed');
          if (exit === undefined) exit = { kind: 'stopped' };
          stopAll.abort(e);
        },
      )
      .finally(() => {
        running.delete(task.className);
        freed.abort();
      });
    running.set(task.className, done);
  };
  let ended: CronExit | undefined;
  try {
    ended = await passes();
    return ended;
  } finally {
    // Whatever ended the run early ends the tasks still running too; each ends by its hard deadline at the latest.
    if (ended !== undefined || env.signal.aborted) stopAll.abort(new Error(`the run is ending (${ended?.kind ?? 'stopped'})`));
    await Promise.all(running.values());
  }

  async function passes(): Promise<CronExit | undefined> {
    while (exit === undefined && clock.nowUnix() < r.timeLimit) {
      if (env.signal.aborted) return { kind: 'stopped' };
      if (maintenanceDetected(config.appRoot)) return { kind: 'maintenance' };
      const passStart = clock.nowMs();
      const { due, lockOwner } = await dueTasksAndLockOwner(env.db, clock.nowLocal(), r.lock.name, classes);
      if (lockOwner !== r.lock.connectionId) {
        log.error({ lock: r.lock.name, owner: lockOwner, ours: r.lock.connectionId }, 'the cron lock was lost: stopping');
        return { kind: 'lock-lost' };
      }
      for (const row of due) {
        if (running.size >= r.lanes) break;
        const task = r.runnable.get(row.class_name);
        if (task === undefined || running.has(row.class_name)) continue;
        start(task, row);
      }
      r.heap.afterPass();
      freed = new AbortController();
      if (!(await pause(env, sleepAfterPass(passStart, clock.nowMs(), config.cron.sleep), freed.signal))) {
        return env.signal.aborted ? { kind: 'stopped' } : { kind: 'maintenance' };
      }
    }
    return exit;
  }
}
