/**
 * The worker-thread side of an isolated task (see isolated.ts): imports the extension module by path,
 * finds the task by class name, runs `process` with a TaskContext of its own (its own Db pool, clock and
 * logger), closes the pool and posts back the message or the error. Log lines and prints are posted to
 * the main thread, which writes them where the run's own go.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { openDb } from '../db/connect.js';
import type { Db } from '../db/types.js';
import type { BackgroundTask, TaskContext } from '../tasks/types.js';
import { createClock } from '../time/clock.js';
import type { ParentMessage, SerializedError, WorkerInput, WorkerMessage } from './isolated.js';

function post(m: WorkerMessage): void {
  parentPort?.postMessage(m);
}

function serialize(e: unknown): SerializedError {
  if (e instanceof Error) {
    const errno = (e as { errno?: unknown }).errno;
    return {
      name: e.name,
      message: e.message,
      ...(e.stack !== undefined ? { stack: e.stack } : {}),
      ...(typeof errno === 'number' ? { errno } : {}),
    };
  }
  return { name: 'Error', message: typeof e === 'string' ? e : JSON.stringify(e) };
}

/** The task named `className` among what the module exports (a task, a list, or a function returning them). */
async function findTask(input: WorkerInput): Promise<BackgroundTask> {
  const path = isAbsolute(input.modulePath) ? input.modulePath : resolve(input.modulePath);
  const mod = (await import(pathToFileURL(path).href)) as { default?: unknown; tasks?: unknown };
  let exported = mod.default ?? mod.tasks;
  if (typeof exported === 'function') exported = await (exported as (c: unknown) => unknown)(input.config);
  const list = (Array.isArray(exported) ? exported : [exported]) as (BackgroundTask | undefined)[];
  const task = list.find((t) => t?.className === input.className);
  if (task === undefined) throw new Error(`The extension module '${input.modulePath}' no longer exports ${input.className}`);
  return task;
}

async function run(input: WorkerInput): Promise<void> {
  const controller = new AbortController();
  parentPort?.on('message', (m: ParentMessage) => {
    if (m.type === 'abort') controller.abort(new Error(m.reason));
  });
  // pino's JSON lines go to the main thread, which re-logs them (same destination, same secret scrubbing).
  const log = pino(
    { name: 'itop-cron', level: input.config.log.level },
    { write: (line: string) => post({ type: 'log', line }) },
  ).child({ task: input.className });
  let db: Db | undefined;
  try {
    const task = await findTask(input);
    db = openDb(input.config.db);
    const ctx: TaskContext = {
      db,
      config: input.config,
      clock: createClock(input.config.timezone),
      deadline: input.deadline,
      signal: controller.signal,
      log,
      print: (line) => post({ type: 'print', line }),
      debug: input.debug,
      userId: input.userId,
      params: input.params,
    };
    const message = await task.process(ctx);
    await db.close().catch(() => undefined);
    post({ type: 'result', message });
  } catch (e) {
    await db?.close().catch(() => undefined);
    post({ type: 'error', error: serialize(e) });
  }
}

if (!isMainThread && parentPort !== null) await run(workerData as WorkerInput);
