/**
 * Which code runs each task class this run: itop-cron's native implementation, iTop's PHP through the
 * bridge, or nothing. A class that nothing can run is never silent: it is logged at every run (and
 * `itop-cron status` calls the installation unhealthy).
 */
import { allTasks } from '../db/backgroundTasks.js';
import { BridgeError } from '../php/worker.js';
import { composeTasks } from '../php/phpTasks.js';
import type { BackgroundTask } from '../tasks/types.js';
import type { RunEnv } from './runEnv.js';

/** The run's tasks in iTop's discovery order when the bridge can list them, else the native ones. */
export async function tasksOfThisRun(env: RunEnv, native: readonly BackgroundTask[]): Promise<readonly BackgroundTask[]> {
  const bridge = env.php;
  if (bridge === undefined) return native;
  let listed;
  try {
    listed = await bridge.list();
  } catch (e) {
    const why = e instanceof BridgeError ? e.message : (e as Error).message;
    env.log.error({ err: why }, "the PHP bridge is unavailable: only itop-cron's native tasks run");
    return native;
  }
  const { tasks, unusable } = composeTasks(bridge, listed, native, bridge.settings.forcedClasses, env.config.timezone);
  for (const u of unusable) {
    env.log.error({ task: u.class, err: u.error }, `${u.class} cannot be run by iTop's PHP: ${u.error ?? 'unknown error'}`);
  }
  return tasks;
}

/** Logs, once per run, the active registry rows that no loaded task can run. Returns their classes. */
export async function reportTasksWithoutRunner(env: RunEnv, runnable: ReadonlyMap<string, BackgroundTask>): Promise<string[]> {
  const orphans = (await allTasks(env.db))
    .filter((r) => r.status === 'active' && typeof r.class_name === 'string' && !runnable.has(r.class_name))
    .map((r) => r.class_name ?? '');
  if (orphans.length > 0) {
    const why = env.phpUnavailable ?? (env.php !== undefined ? "iTop's PHP does not list them (extension removed?)" : 'no runner');
    env.log.warn({ tasks: orphans, reason: why }, `not run by itop-cron: ${orphans.join(', ')} (${why})`);
    if (env.verbose) env.out.line(`WARNING: no runner for ${orphans.join(', ')}: ${why}`);
  }
  return orphans;
}
