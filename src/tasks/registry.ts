import { importModule } from '../boot/dynamicImport.js';
import { isAbsolute, resolve } from 'node:path';
import { assertRegularFile, unreadableReason } from '../config/safeRead.js';
import { assertTrustedPath } from '../config/trust.js';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { inlineImageGC } from './InlineImageGC.js';
import { bulkExportResultGC } from './BulkExportResultGC.js';
import { eventNotificationNewsroomGC } from './EventNotificationNewsroomGC.js';
import { logFileRotationProcess } from './LogFileRotationProcess.js';
import { sessionGC } from './SessionGC.js';
import { temporaryObjectGC } from './TemporaryObjectGC.js';
import { BACKUP_EXEC_SCHEDULE, CHECK_STOPWATCH_THRESHOLDS_SCHEDULE, EXEC_ASYNC_TASK_SCHEDULE } from './schedules.js';
import type { BackgroundTask, ExtensionExport, TaskSchedule } from './types.js';

/**
 * A task planned from its schedule whose code is imported on its first run: with every task in iTop's
 * PHP, a cron run never loads nodemailer, tar and the notification code (~90 of ~340 files; bench/RESULTS.md).
 * A failed import is retried at the next run of the task.
 */
function lazyTask(schedule: TaskSchedule, load: () => Promise<BackgroundTask>): BackgroundTask {
  let loading: Promise<BackgroundTask> | undefined;
  return {
    ...schedule,
    async process(ctx) {
      loading ??= load().catch((e: unknown) => {
        loading = undefined;
        throw e;
      });
      return (await loading).process(ctx);
    },
  };
}

/**
 * The built-in tasks, in the order iTop 3.2 discovers its process classes, so that a first
 * run creates the rows in the same order as cron.php. ObsolescenceDateUpdater is absent on purpose: it
 * needs iTop's compiled data model; its row is left alone.
 */
export function builtInTasks(): BackgroundTask[] {
  return [
    lazyTask(CHECK_STOPWATCH_THRESHOLDS_SCHEDULE, async () => (await import('./CheckStopWatchThresholds.js')).checkStopWatchThresholds),
    logFileRotationProcess,
    // One instance per list, as before: its memory of the classes already reported lasts a run.
    lazyTask(EXEC_ASYNC_TASK_SCHEDULE, async () => (await import('./ExecAsyncTask.js')).createExecAsyncTask()),
    bulkExportResultGC,
    inlineImageGC,
    lazyTask(BACKUP_EXEC_SCHEDULE, async () => (await import('./BackupExec.js')).backupExec),
    eventNotificationNewsroomGC,
    temporaryObjectGC,
    sessionGC,
  ];
}

function isTask(v: unknown): v is BackgroundTask {
  const t = v as Partial<BackgroundTask> | null;
  return (
    t !== null &&
    typeof t === 'object' &&
    typeof t.className === 'string' &&
    t.className !== '' &&
    !t.className.startsWith('\\') &&
    typeof t.process === 'function' &&
    (typeof t.periodicity === 'function') !== (typeof t.nextOccurrence === 'function')
  );
}

/** Loads one extension module: its default export (or `tasks`) is a task, a list, or a function returning them. */
async function loadExtension(path: string, config: Config): Promise<BackgroundTask[]> {
  const url = isAbsolute(path) ? pathToFileURL(path).href : pathToFileURL(resolve(path)).href;
  let mod: { default?: unknown; tasks?: unknown };
  try {
    // import() of a FIFO would block the run for good, of /dev/zero until memory runs out; as root, a
    // module another user can write (or replace) runs that user's code as root (src/config/trust.ts).
    const file = isAbsolute(path) ? path : resolve(path);
    assertRegularFile(file);
    assertTrustedPath(file);
  } catch (e) {
    throw new ConfigError(`Cannot load the extension module '${path}': ${unreadableReason(e)}`, { cause: e });
  }
  try {
    mod = (await importModule(url)) as { default?: unknown; tasks?: unknown };
  } catch (e) {
    throw new ConfigError(`Cannot load the extension module '${path}': ${(e as Error).message}`, { cause: e });
  }
  let exported = (mod.default ?? mod.tasks) as ExtensionExport | undefined;
  if (typeof exported === 'function') exported = await exported(config);
  const list: unknown[] = Array.isArray(exported) ? [...(exported as unknown[])] : [exported];
  const bad = list.find((t) => !isTask(t));
  if (list.length === 0 || bad !== undefined) {
    throw new ConfigError(
      `The extension module '${path}' must export tasks with a className (no leading backslash), process() and either periodicity() or nextOccurrence()`,
    );
  }
  return list as BackgroundTask[];
}

/** The module each loaded extension task came from, so that it can be re-imported in a worker thread. */
export const extensionModules = new WeakMap<BackgroundTask, string>();

/** Built-in tasks then extension tasks; an extension may replace a built-in task of the same class. */
export async function loadTasks(config: Config): Promise<BackgroundTask[]> {
  const byClass = new Map<string, BackgroundTask>();
  for (const t of builtInTasks()) byClass.set(t.className, t);
  for (const path of config.extensions) {
    for (const t of await loadExtension(path, config)) {
      byClass.set(t.className, t);
      extensionModules.set(t, path);
    }
  }
  return [...byClass.values()];
}
