/**
 * Extension tasks in a worker thread of their own, so that the daemon can stop one that never yields
 * (`while (true) {}`): `Worker.terminate()` interrupts running JavaScript, which no AbortSignal can.
 * The worker (taskWorker.ts) imports the task's module by path, opens its own Db from `config.db`, builds
 * its own TaskContext and posts back the message; its prints and log lines come back as messages too.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { settingBool } from '../config/php.js';
import { packageRoot } from '../packageRoot.js';
import { DbGoneAwayError, ProcessFatalError, ProcessInvalidConfigError } from '../errors.js';
import { extensionModules } from '../tasks/registry.js';
import type { BackgroundTask } from '../tasks/types.js';
import type { RunEnv } from './runEnv.js';
import type { TaskMessage } from './deadline.js';

/** A task run under way: its outcome, and how to stop it for good. */
export interface TaskExecution {
  readonly result: Promise<TaskMessage>;
  /** Stops the run at once (terminates the worker); a no-op for an in-thread run, which cannot be stopped. */
  kill(): Promise<void>;
}

/** What the worker gets (structured-cloned: plain data only). */
export interface WorkerInput {
  readonly modulePath: string;
  readonly className: string;
  readonly config: RunEnv['config'];
  readonly deadline: number;
  readonly debug: boolean;
  readonly userId: number;
  readonly params: Readonly<Record<string, string>>;
}

/** An error as it crosses the thread boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly errno?: number;
}

/** Messages from the worker. */
export type WorkerMessage =
  | { readonly type: 'print'; readonly line: string }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'result'; readonly message: TaskMessage }
  | { readonly type: 'error'; readonly error: SerializedError };

/** Messages to the worker. */
export type ParentMessage = { readonly type: 'abort'; readonly reason: string };

/**
 * The module to load in a worker when `task` must run isolated: an extension task that declares
 * `isolated: true`, or any extension task when `itop_cron.isolate_extensions` is set. Built-in tasks
 * always run in the main thread.
 */
export function isolatedModuleOf(env: RunEnv, task: BackgroundTask): string | undefined {
  const path = extensionModules.get(task);
  if (path === undefined) return undefined;
  return task.isolated === true || settingBool(env.config.settings, 'itop_cron.isolate_extensions', false) ? path : undefined;
}

/**
 * dist/scheduler/taskWorker.js once built. From sources (tests under tsx), taskWorker.ts: Node 20 does
 * not apply the parent's `--import tsx` hooks to a worker's entry point, so a bootstrap registers tsx in
 * the worker first.
 */
function newWorker(workerData: WorkerInput): Worker {
  // Built, this module is dist/scheduler/isolated.js or a part of the command line's bundle (dist/run/):
  // the worker's entry point is dist/scheduler/taskWorker.js for both.
  const js = join(packageRoot(), 'dist', 'scheduler', 'taskWorker.js');
  if (!import.meta.url.endsWith('.ts') && existsSync(js)) return new Worker(js, { workerData, stdout: false, stderr: false });
  const ts = new URL('./taskWorker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(bootstrap, { eval: true, workerData, stdout: false, stderr: false });
}

/** Rebuilds the error kinds the loop tells apart (runTask, cronExec) from their serialized form. */
export function reviveError(e: SerializedError): Error {
  let err: Error;
  if (e.name === 'ProcessFatalError') err = new ProcessFatalError(e.message);
  else if (e.name === 'ProcessInvalidConfigError') err = new ProcessInvalidConfigError(e.message);
  else if (e.name === 'DbGoneAwayError') err = new DbGoneAwayError(e.message, e.errno ?? 2006);
  else {
    err = new Error(e.message);
    err.name = e.name;
  }
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** Re-logs a pino line written in the worker through the main logger (one destination, one scrubbing). */
function relog(log: Logger, line: string): void {
  try {
    // The main logger's own bindings (task, pid, time...) replace the worker's.
    const { level, msg, time: _t, pid: _p, hostname: _h, name: _n, task: _c, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const method = LEVELS[Number(level)] ?? 'info';
    log[method](rest, typeof msg === 'string' ? msg : '');
  } catch {
    log.info({ line }, 'worker log line');
  }
}

/**
 * Starts `task` in a worker thread that imports `modulePath`. `signal` is forwarded to the worker's
 * TaskContext; `kill()` terminates the worker whatever it is doing.
 */
export function startIsolated(env: RunEnv, task: BackgroundTask, modulePath: string, deadline: number, signal: AbortSignal): TaskExecution {
  const log = env.log.child({ task: task.className, isolated: true });
  const input: WorkerInput = {
    modulePath,
    className: task.className,
    config: env.config,
    deadline,
    debug: env.debug,
    userId: env.userId,
    params: env.params,
  };
  const worker = newWorker(input);
  const onAbort = (): void => {
    const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
    worker.postMessage({ type: 'abort', reason } satisfies ParentMessage);
  };
  const result = new Promise<TaskMessage>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      fn();
      // The worker closed its Db before answering; nothing is left for it to do.
      void worker.terminate();
    };
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'print') env.out.line(m.line);
      else if (m.type === 'log') relog(log, m.line);
      else if (m.type === 'result') finish(() => resolve(m.message));
      else finish(() => reject(reviveError(m.error)));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the worker thread of ${task.className} ended (exit code ${code}) without an answer`))));
  });
  // The outcome is consumed by the caller's race; keep an abandoned one from being reported as unhandled.
  result.catch(() => undefined);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    result,
    kill: async () => {
      await worker.terminate();
    },
  };
}
