/**
 * One log line per cron run (issue 13): how many task runs, how many failed, how long. The per-task
 * 'task run' line is at debug when the task succeeded, so that a crontab run every minute writes a few
 * hundred bytes a minute at the default level instead of one line per task run (~50 MB a day with
 * cron_sleep 1); a failed task's line stays at warn.
 */
import type { Logger } from 'pino';
import type { RunEnd, RunObserver, TaskRunEvent } from './observer.js';

/** The level of a task's own line: quiet when it went well. */
export function taskRunLevel(outcome: TaskRunEvent['outcome']): 'debug' | 'warn' {
  return outcome === 'success' ? 'debug' : 'warn';
}

export interface RunTally {
  /** `inner`'s hooks, plus the counting; always defined, so that the run hooks are always called. */
  readonly observer: RunObserver;
  /** Writes the summary line (info). */
  log(log: Logger, exit: string): void;
}

/** Counts the task runs seen through `observer` since `startMs`. */
export function runTally(inner: RunObserver | undefined, nowMs: () => number): RunTally {
  const startMs = nowMs();
  let runs = 0;
  const failed = new Map<string, number>();
  const observer: RunObserver = {
    runStarted: () => inner?.runStarted?.() ?? Promise.resolve(),
    taskStarted: (className, planned) => inner?.taskStarted?.(className, planned) ?? Promise.resolve(),
    taskFinished: (event: TaskRunEvent) => {
      runs += 1;
      if (event.outcome !== 'success') failed.set(event.className, (failed.get(event.className) ?? 0) + 1);
      return inner?.taskFinished?.(event) ?? Promise.resolve();
    },
    runFinished: (end: RunEnd) => inner?.runFinished?.(end) ?? Promise.resolve(),
  };
  return {
    observer,
    log(log, exit) {
      const failures = [...failed.values()].reduce((a, b) => a + b, 0);
      const duration = Math.round(nowMs() - startMs) / 1000;
      // Only the failing classes are named: the line stays short on a healthy run.
      const extra = failures > 0 ? { failedTasks: Object.fromEntries(failed) } : {};
      log.info({ taskRuns: runs, failures, duration, exit, ...extra }, `cron run: ${runs} task run(s), ${failures} failed, ${duration}s`);
    },
  };
}
