/**
 * iTop's own process classes as itop-cron tasks: each one's `process` asks the PHP bridge to run
 * `<Class>::Process($limit)` and maps the answer to what a native task returns or throws, so that the
 * scheduler keeps the same bookkeeping, deadlines and output for both.
 */
import { ProcessFatalError, ProcessInvalidConfigError } from '../errors.js';
import type { BackgroundTask, TaskContext } from '../tasks/types.js';
import { formatLocal } from '../time/zone.js';
import type { PhpBridge } from './bridge.js';
import type { BridgeAnswer, ListedClass } from './worker.js';

/** Marks the tasks this module makes, for the status's `runner` column and the log. */
export const phpTaskClasses = new WeakSet<BackgroundTask>();

/** What a task echoes reaches stdout line by line, as cron.php's would (BackupExec's progress). */
function linePrinter(ctx: TaskContext): { write: (text: string) => void; end: () => void } {
  let pending = '';
  return {
    write(text) {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) ctx.print(l.replace(/\r$/, ''));
    },
    end() {
      if (pending.trim() !== '') ctx.print(pending);
      pending = '';
    },
  };
}

/** A failed answer as the error a native task would throw. */
function failure(className: string, a: BridgeAnswer): Error {
  const text = a.error ?? `${className} failed in PHP`;
  const e =
    a.kind === 'fatal' ? new ProcessFatalError(text) : a.kind === 'invalid-config' ? new ProcessInvalidConfigError(text) : new Error(text);
  // --debug prints a failure's stack: PHP's trace is the one that helps.
  if (a.trace !== undefined) e.stack = `${a.class ?? 'Exception'}: ${text}\n${a.trace}`;
  return e;
}

export function phpTask(bridge: PhpBridge, listed: ListedClass, timezone: string): BackgroundTask {
  const className = listed.class;
  let next = listed.next;
  const process = async (ctx: TaskContext): Promise<string | boolean | null | undefined> => {
    const out = linePrinter(ctx);
    const limit = Math.floor(ctx.deadline / 1000);
    const a = await bridge.run(className, limit, { signal: ctx.signal, onOutput: (t) => out.write(t) });
    out.end();
    ctx.log.debug({ duration: a.duration, peakMemory: a.peak_memory, kind: a.kind }, 'PHP task answered');
    if (!a.ok) throw failure(className, a);
    if (a.next !== undefined) next = a.next;
    return a.message;
  };
  const task: BackgroundTask =
    listed.kind === 'scheduled'
      ? {
          className,
          process,
          nextOccurrence(): string {
            if (next === undefined || next === null) {
              throw new ProcessInvalidConfigError(listed.error ?? `${className} gave no next occurrence`);
            }
            return formatLocal(next * 1000, timezone);
          },
        }
      : { className, process, periodicity: () => listed.periodicity ?? 0 };
  phpTaskClasses.add(task);
  return task;
}

/**
 * The run's task list: iTop's discovery order (so that new rows are created in cron.php's order), the
 * native implementation for the classes itop-cron has unless `itop_cron.php_tasks` names them, PHP for
 * the others, then the native tasks iTop does not list (extension modules of itop-cron).
 */
export function composeTasks(
  bridge: PhpBridge,
  listed: readonly ListedClass[],
  native: readonly BackgroundTask[],
  forced: ReadonlySet<string>,
  timezone: string,
): { tasks: BackgroundTask[]; unusable: ListedClass[] } {
  const byClass = new Map(native.map((t) => [t.className, t]));
  const tasks: BackgroundTask[] = [];
  const unusable: ListedClass[] = [];
  for (const l of listed) {
    const own = byClass.get(l.class);
    byClass.delete(l.class);
    if (own !== undefined && !forced.has(l.class)) tasks.push(own);
    else if (l.kind === 'unknown' || (l.kind === 'periodic' && l.error !== undefined)) {
      unusable.push(l);
      if (own !== undefined) tasks.push(own);
    } else tasks.push(phpTask(bridge, l, timezone));
  }
  tasks.push(...byClass.values());
  return { tasks, unusable };
}
