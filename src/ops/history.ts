/**
 * The run history: every task run recorded in `{p}itop_cron_run_history` (created on demand), with a
 * bounded retention, and its text rendering for `itop-cron history`.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import {
  ensureHistoryTable,
  insertRunHistory,
  pruneRunHistory,
  type RunHistoryRow,
} from '../db/runHistory.js';
import type { Db } from '../db/types.js';
import type { TaskRunEvent } from '../scheduler/observer.js';
import type { Clock } from '../time/clock.js';
import type { OpsSettings } from './settings.js';

/** Inserts between two prunings of a class: pruning costs two indexed statements, not worth every run. */
export const PRUNE_EVERY = 100;

export interface HistoryRecorder {
  /** Inserts the run (creating the table the first time) and prunes now and then. */
  record(event: TaskRunEvent): Promise<void>;
}

export interface HistoryOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly log: Logger;
  readonly settings: Pick<OpsSettings, 'historyMaxRows' | 'historyMaxDays'>;
  /** Recorded as `host`; default os.hostname(). */
  readonly host?: string;
  /** Default PRUNE_EVERY. */
  readonly pruneEvery?: number;
}

/**
 * A recorder for one process. The first run of each class prunes at once, so that a lowered limit or a
 * process that never reaches PRUNE_EVERY runs still keeps the table bounded.
 */
export function createHistoryRecorder(opts: HistoryOptions): HistoryRecorder {
  const { db, clock, log, settings } = opts;
  const host = opts.host ?? hostname();
  const every = Math.max(1, opts.pruneEvery ?? PRUNE_EVERY);
  const inserts = new Map<string, number>();
  let disabled = false;
  return {
    async record(event) {
      if (disabled) return;
      try {
        await ensureHistoryTable(db);
      } catch (e) {
        // Typically a database user without the CREATE privilege: say it once, not at every task run.
        disabled = true;
        log.error({ err: (e as Error).message }, 'run history disabled for this run: its table cannot be created');
        return;
      }
      await insertRunHistory(db, {
        className: event.className,
        planned: event.planned,
        started: clock.format(event.startMs),
        ended: clock.format(event.endMs),
        durationSeconds: event.durationSeconds,
        outcome: event.outcome,
        message: takeoverNote(event) + (event.message ?? '') || null,
        // Cluster mode: which runner ran it (host:pid).
        host: event.runner ?? host,
      });
      const n = inserts.get(event.className) ?? 0;
      inserts.set(event.className, n + 1);
      if (n % every !== 0) return;
      const olderThan = clock.format(clock.nowMs() - settings.historyMaxDays * 86_400_000);
      const removed = await pruneRunHistory(db, event.className, settings.historyMaxRows, olderThan);
      if (removed > 0) log.debug({ task: event.className, removed }, 'run history pruned');
    },
  };
}

/**
 * Cluster mode: a run of an occurrence whose previous run never finished (its runner died or stopped
 * renewing its lease) says so, since that occurrence ran at least once rather than exactly once.
 */
function takeoverNote(event: TaskRunEvent): string {
  if (event.takenOverFrom === undefined) return '';
  const from = event.takenOverFrom === '' ? 'a runner' : event.takenOverFrom;
  return `[taken over: the previous run, by ${from}, did not finish] `;
}

function cell(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n, ' ');
}

/** One line per run, newest first, in columns; the message is cut to one line. */
export function historyLines(rows: readonly RunHistoryRow[]): string[] {
  const head = `${cell('Started', 19)}  ${cell('Task Class', 25)}  ${cell('Outcome', 7)}  ${'Duration'.padStart(10)}  ${cell('Host', 16)}  Message`;
  const lines = [head, '-'.repeat(head.length + 20)];
  for (const r of rows) {
    const message = (r.message ?? '').replace(/\s+/g, ' ').trim();
    const duration = `${Number(r.duration).toFixed(3)} s`.padStart(10);
    lines.push(`${r.started}  ${cell(r.class_name, 25)}  ${cell(r.outcome, 7)}  ${duration}  ${cell(r.host, 16)}  ${cell(message, 100).trimEnd()}`);
  }
  if (rows.length === 0) lines.push('(no run recorded)');
  return lines;
}

/** The JSON form of a stored run (numbers as numbers). */
export function historyJson(r: RunHistoryRow): Record<string, string | number | null> {
  return {
    id: Number(r.id),
    className: r.class_name,
    planned: r.planned,
    started: r.started,
    ended: r.ended,
    durationSeconds: Number(r.duration),
    outcome: r.outcome,
    message: r.message,
    host: r.host,
  };
}
