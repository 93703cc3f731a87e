/**
 * Parallel lanes (`itop_cron.max_parallel` > 1): up to N tasks of different classes run at once, each with
 * its own deadlines and watch, so that one slow task (a mail-to-ticket poll, a backup) never holds the
 * others back: a due task waits at most `cron_sleep` for a free lane, and a lane that frees up starts the
 * waiting ones at once. A class never runs twice at the same time. PHP tasks run in workers of their own
 * (the bridge starts one per busy lane). Tasks that must not overlap keep their own exclusion (iTop's
 * `backup.production` lock, log rotation's locks). cron.php's order and verbose trace are those of the
 * default, one lane (cronExec.ts).
 *
 * What a pass reads and whether a due task is this runner's to run is the gate's: the cron lock's
 * (lockGate, below) or cluster mode's leases (clusterGate.ts), which runs through these lanes too.
 */
import { dueTasksAndLockOwner, type NamedTaskRow } from '../db/backgroundTasks.js';
import type { NamedLock } from '../db/lock.js';
import type { BackgroundTask } from '../tasks/types.js';
import { sleepAfterPass } from './cadence.js';
import { maintenanceDetected } from './maintenance.js';
import type { HeapTrimmer } from './memory.js';
import { pause, runOneTask, type CronExit } from './passParts.js';
import type { RunEnv } from './runEnv.js';
import type { LockProbe } from './taskWatch.js';

/** A due task this runner may run now, and how. */
export interface TakenTask {
  /** The environment to run it with (cluster mode: writes fenced by the task's lease). */
  readonly env: RunEnv;
  readonly row: NamedTaskRow;
  /** Checked while the task runs; losing it stops the task. */
  readonly watch: LockProbe;
  /** Also stops the task (cluster mode: the lease was lost). */
  readonly interrupt?: AbortSignal;
  /** Called once the task is over, whatever happened. */
  done(): Promise<void>;
}

/** What decides a pass: the due rows (or how the run must end), and whether a due task is ours. */
export interface PassGate {
  due(classes: readonly string[]): Promise<readonly NamedTaskRow[] | CronExit>;
  take(task: BackgroundTask, row: NamedTaskRow): Promise<TakenTask | undefined>;
}

/** cron.php's rule: the pass's statement also checks that the cron lock is still ours; every due task is. */
export function lockGate(env: RunEnv, lock: NamedLock): PassGate {
  return {
    async due(classes) {
      const { due, lockOwner } = await dueTasksAndLockOwner(env.db, env.clock.nowLocal(), lock.name, classes);
      if (lockOwner === lock.connectionId) return due;
      env.log.error({ lock: lock.name, owner: lockOwner, ours: lock.connectionId }, 'the cron lock was lost: stopping');
      return { kind: 'lock-lost' };
    },
    take: async (_task, row) => ({ env, row, watch: lock, done: async () => undefined }),
  };
}

export interface LaneRun {
  readonly runnable: ReadonlyMap<string, BackgroundTask>;
  readonly gate: PassGate;
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
  const start = (task: BackgroundTask, taken: TakenTask): void => {
    const interrupt = taken.interrupt === undefined ? stopAll.signal : AbortSignal.any([stopAll.signal, taken.interrupt]);
    const done = runOneTask(taken.env, taken.watch, task, taken.row, r.timeLimit, interrupt)
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
      .finally(async () => {
        await taken.done().catch(() => undefined);
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
      const due = await r.gate.due(classes);
      if ('kind' in due) return due;
      for (const row of due) {
        if (running.size >= r.lanes) break;
        const task = r.runnable.get(row.class_name);
        if (task === undefined || running.has(row.class_name)) continue;
        const taken = await r.gate.take(task, row);
        if (taken !== undefined && exit === undefined) start(task, taken);
        else await taken?.done();
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
