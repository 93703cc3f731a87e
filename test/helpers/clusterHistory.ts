/**
 * What the cluster tests and the cluster bench read back from itop_cron_run_history: occurrences recorded
 * twice, runs of one task that overlap, and occurrences missing between a class's first and last planned
 * date (periodic tasks only).
 */
import { waitFor } from './fault.js';

export interface HistoryRow {
  class_name: string;
  planned: string;
  started: string;
  ended: string;
  host: string;
  message: string | null;
}

export const HISTORY_COLUMNS = 'class_name, planned, started, ended, host, message';

/** Occurrences (class, planned) recorded more than once. */
export function doubles(rows: readonly HistoryRow[]): string[] {
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(`${r.class_name} @ ${r.planned}`, (seen.get(`${r.class_name} @ ${r.planned}`) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} x${n}`);
}

/** Two runs of one class that overlap in time (history has whole seconds: a start before the previous end). */
export function overlaps(rows: readonly HistoryRow[]): string[] {
  const byClass = groupByClass(rows);
  const found: string[] = [];
  for (const [cls, runs] of byClass) {
    const sorted = [...runs].sort((a, b) => (a.started < b.started ? -1 : a.started > b.started ? 1 : 0));
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.started < sorted[i - 1]!.ended) found.push(`${cls}: ${sorted[i - 1]!.started}-${sorted[i - 1]!.ended} and ${sorted[i]!.started}`);
    }
  }
  return found;
}

export function groupByClass(rows: readonly HistoryRow[]): Map<string, HistoryRow[]> {
  const byClass = new Map<string, HistoryRow[]>();
  for (const r of rows) byClass.set(r.class_name, [...(byClass.get(r.class_name) ?? []), r]);
  return byClass;
}

/** 'Y-m-d H:i:s' read as UTC, in whole seconds (a zone without DST changes in between gives the same steps). */
const seconds = (date: string): number => Date.parse(`${date.replace(' ', 'T')}Z`) / 1000;

/**
 * Planned dates missing in the history of a task of period `periodSeconds`, between its first and its last
 * recorded planned date: the occurrences the runners skipped (cron.php's rule skips an occurrence whose
 * time passed before the previous run ended). The dates listed, at most `limit` of them.
 */
export function gaps(runs: readonly HistoryRow[], periodSeconds: number, limit = 20): { count: number; first: string[] } {
  const planned = [...new Set(runs.map((r) => seconds(r.planned)))].sort((a, b) => a - b);
  let count = 0;
  const first: string[] = [];
  for (let i = 1; i < planned.length; i++) {
    for (let t = planned[i - 1]! + periodSeconds; t < planned[i]!; t += periodSeconds) {
      count++;
      if (first.length < limit) first.push(new Date(t * 1000).toISOString().slice(0, 19).replace('T', ' '));
    }
  }
  return { count, first };
}

/**
 * Kills `victim` (kill -9) and waits until `ownerPid` (the pid in the lease's owner) names another runner:
 * the takeover's time from the kill (ms) and the new owner's pid.
 */
export async function killAndTimeTakeover(
  victim: { kill(signal: NodeJS.Signals): boolean },
  pid: number,
  ownerPid: () => Promise<number | undefined>,
  timeoutMs: number,
): Promise<{ ms: number; newOwner: number }> {
  victim.kill('SIGKILL');
  const killedAt = Date.now();
  let newOwner: number | undefined;
  await waitFor('another runner taking the task over', async () => {
    newOwner = await ownerPid();
    return newOwner !== undefined && newOwner !== pid;
  }, timeoutMs);
  return { ms: Date.now() - killedAt, newOwner: newOwner! };
}
