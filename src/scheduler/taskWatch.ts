/**
 * What the daemon watches while a task runs, so that a long task cannot hide an event that must end the
 * run: a maintenance flag file (iTop's setup waits for the lock), the loss of the cron lock, or the database going away. Any of them
 * fires the returned signal, which runWithDeadline turns into "stop now" for the current task.
 */
import type { Queryable } from '../db/types.js';
import { maintenanceDetected } from './maintenance.js';
import type { RunEnv } from './runEnv.js';

/** Why the watch stopped the task. */
export type WatchReason = 'maintenance' | 'lock-lost' | 'gone-away';

/** The part of NamedLock the watch needs. */
export interface LockProbe {
  isHeld(): Promise<boolean>;
}

/** A running watch: `signal` fires once, with `reason()` telling why. */
export interface TaskWatch {
  readonly signal: AbortSignal;
  reason(): WatchReason | undefined;
  /** Ends the timers (call it when the task is over). */
  stop(): void;
}

/** How often the flag files are looked at during a task: well within the one second the setup is promised. */
export const FLAG_WATCH_MS = 250;
/** How often the lock is checked during a task (one cheap statement on the lock's own connection). */
export const LOCK_WATCH_MS = 2000;
/** A probe of the database that takes longer than this counts as the database being gone. */
const PROBE_TIMEOUT_MS = 5000;

const MESSAGES: Record<WatchReason, string> = {
  maintenance: 'maintenance detected',
  'lock-lost': 'the cron lock was lost',
  'gone-away': 'MySQL has gone away',
};

/** True when `db` still answers: tells a lost lock (server up) from a lost server. */
async function databaseAnswers(db: Queryable): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([db.query('SELECT 1').then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts watching for the duration of one task. `lock` is checked every `lockEveryMs`; the flag files
 * every FLAG_WATCH_MS. Timers are unref'd: a forgotten watch never keeps the process alive.
 */
export function watchTask(env: RunEnv, lock: LockProbe, lockEveryMs = LOCK_WATCH_MS): TaskWatch {
  const controller = new AbortController();
  let why: WatchReason | undefined;
  let checking = false;
  let stopped = false;
  const fire = (reason: WatchReason): void => {
    if (why !== undefined || stopped) return;
    why = reason;
    clearTimers();
    env.log.error({ reason }, `${MESSAGES[reason]} while a task was running: stopping it`);
    controller.abort(MESSAGES[reason]);
  };
  const flags = setInterval(() => {
    if (maintenanceDetected(env.config.appRoot)) fire('maintenance');
  }, FLAG_WATCH_MS);
  const locks = setInterval(() => {
    if (checking || why !== undefined) return;
    checking = true;
    void (async () => {
      try {
        if (await lock.isHeld()) return;
        fire((await databaseAnswers(env.db)) ? 'lock-lost' : 'gone-away');
      } finally {
        checking = false;
      }
    })();
  }, lockEveryMs);
  flags.unref();
  locks.unref();
  function clearTimers(): void {
    clearInterval(flags);
    clearInterval(locks);
  }
  const stop = (): void => {
    stopped = true;
    clearTimers();
  };
  return { signal: controller.signal, reason: () => why, stop };
}
