/**
 * `itop-cron status` for a person: the task table with whole class names, then one line per fact,
 * durations in human units (`8d 2h`, `45s`), each overdue task named once (under Health when it breaks
 * the limit, else as "Overdue"), a task that is due this very second not called overdue, async tasks in
 * `error` flagged, colours only on a terminal (src/output/human.ts). The JSON form is statusData's.
 */
import { humanDuration, paint, type Tone } from '../output/human.js';
import { wideStatusTable } from '../output/text.js';
import type { Health, HealthLimits, StatusReport, TaskStatus } from '../ops/statusData.js';
import { createClock, parseOrUndefined, type Clock } from '../time/clock.js';

function queueText(n: number | null): string {
  return n === null ? 'n/a' : String(n);
}

/** How a task is named in the lines under the table: a row without a class name by its id. */
function taskName(t: TaskStatus): string {
  return t.className ?? `row #${t.id}`;
}

/** A row with a NULL class name or status, or a date that is none: named, so that it can be fixed. */
function badRowLine(t: TaskStatus, clock: Clock): string | undefined {
  const notDate = (name: string, v: string | null): string => (v !== null && parseOrUndefined(clock, v) === undefined ? `${name} is '${v}'` : '');
  const problems = [
    t.className === null ? 'class_name is NULL' : '',
    t.status === null ? 'status is NULL' : '',
    notDate('next_run_date', t.nextRun),
    notDate('latest_run_date', t.lastRun),
    notDate('first_run_date', t.firstRun),
  ].filter((p) => p !== '');
  if (problems.length === 0) return undefined;
  return `Bad registry row #${t.id}: ${problems.join(', ')}${t.className === null ? '' : ` (${t.className})`}`;
}

/** evaluateHealth's lateness and age problems, which problemLines words in human units. */
const TIMING_PROBLEM = /^(.+ is overdue by \d+s \(|no task has (ever run|run for \d+s))/;

/** The tasks that break the lateness limit: evaluateHealth's rule (src/ops/statusData.ts). */
function tooLate(t: TaskStatus, limits: HealthLimits): boolean {
  return t.handled && t.overdue && t.latenessSeconds > limits.maxLatenessSeconds;
}

/** The problems of the verdict, in human units; as many as evaluateHealth finds. */
function problemLines(report: StatusReport, limits: HealthLimits): string[] {
  const problems = report.tasks
    .filter((t) => tooLate(t, limits))
    .map((t) => `${taskName(t)} is overdue by ${humanDuration(t.latenessSeconds)} (next run ${t.nextRun ?? ''}, limit ${humanDuration(limits.maxLatenessSeconds)})`);
  const age = report.cron.lastRunAgeSeconds;
  if (age === null) problems.push('no task has ever run');
  else if (age > limits.maxAgeSeconds) {
    problems.push(`no task has run for ${humanDuration(age)} (last run ${report.cron.lastRun ?? ''}, limit ${humanDuration(limits.maxAgeSeconds)})`);
  }
  return problems;
}

/** Cluster mode: each runner with its heartbeat, and who holds which lease. */
function clusterLines(report: StatusReport, tone: (t: Tone, text: string) => string): string[] {
  const cluster = report.cluster;
  if (cluster === null) return [];
  const lines = [`Cluster: ${cluster.runners.filter((r) => r.alive).length} runner(s) alive (lease TTL ${humanDuration(cluster.ttlSeconds)}, renewed every ${humanDuration(cluster.renewSeconds)})`];
  for (const r of cluster.runners) {
    const state = r.alive ? `alive, heartbeat ${humanDuration(Math.floor(r.heartbeatAgeSeconds))} ago` : r.stopped !== null ? `stopped at ${r.stopped}` : `no heartbeat for ${humanDuration(Math.floor(r.heartbeatAgeSeconds))}`;
    lines.push(tone(r.alive ? 'good' : 'warn', `  Runner ${r.runner}: ${state} (since ${r.started}, version ${r.version})`));
  }
  for (const l of cluster.leases) lines.push(`  Lease ${l.name}: ${l.runner} (epoch ${l.epoch}, ${humanDuration(Math.max(0, Math.ceil(l.expiresInSeconds)))} left)`);
  return lines;
}

/**
 * The human form of a report; `colour` adds ANSI colours (a terminal that wants them). The verdict is
 * `health`'s (evaluateHealth: one source of truth), its lateness and age problems worded in human units.
 */
export function statusLines(
  report: StatusReport,
  health: Health,
  limits: HealthLimits,
  colour = false,
  clock: Clock = createClock(report.timezone),
): string[] {
  const tone = (t: Tone, text: string): string => paint(colour, t, text);
  const lines = wideStatusTable(
    report.tasks.map((t) => ({
      class_name: t.className,
      status: t.status,
      latest_run_date: t.lastRun,
      next_run_date: t.nextRun,
      total_exec_count: t.runCount,
      average_run_duration: (t.durations.avg ?? 0).toFixed(3),
    })),
  );
  const c = report.cron;
  const holder = c.lockHolder === null ? '' : `, ${c.lockHolder.user}@${c.lockHolder.host}, for ${humanDuration(c.lockHolder.seconds)}`;
  lines.push(c.running ? `Cron: running (lock held by connection ${c.lockConnectionId ?? '?'}${holder})` : 'Cron: not running');
  lines.push(c.lastRun === null ? 'Last task run: never' : `Last task run: ${c.lastRun} (${humanDuration(c.lastRunAgeSeconds ?? 0)} ago)`);
  const q = report.queues;
  lines.push(
    `Queues: async tasks planned ${queueText(q.asyncPlanned)}, in error ${queueText(q.asyncError)}; ` +
      `expired drafts: inline images ${queueText(q.expiredInlineImages)}, attachments ${queueText(q.expiredAttachments)}`,
  );
  if (q.asyncError !== null && q.asyncError > 0) {
    const n = q.asyncError;
    lines.push(tone('bad', `Async tasks in error: ${n} (${n === 1 ? 'its' : 'their'} retries are spent: not sent again; see priv_async_task.last_error)`));
  }
  const byRunner = (r: string): string[] => report.tasks.filter((t) => t.runner === r).map(taskName);
  if (byRunner('php').length > 0) lines.push(`Run by iTop's PHP: ${byRunner('php').join(', ')}`);
  if (byRunner('none').length > 0) lines.push(tone('bad', `No runner: ${byRunner('none').join(', ')}`));
  lines.push(...clusterLines(report, tone));
  const m = report.mailOutage;
  if (m !== null) {
    lines.push(tone('bad', `Mail server unreachable since ${m.since} (${m.failures} failed tries, mails kept queued), next try ${m.nextTry}: ${m.lastError}`));
  }
  for (const t of report.tasks) {
    const bad = badRowLine(t, clock);
    if (bad !== undefined) lines.push(tone('bad', bad));
    // Overdue by less than a second is "due now"; one past the limit is named under Health instead.
    if (t.overdue && t.latenessSeconds >= 1 && !tooLate(t, limits)) {
      lines.push(tone('warn', `Overdue: ${taskName(t)} by ${humanDuration(t.latenessSeconds)}${t.handled ? '' : ' (not run by itop-cron)'}`));
    }
    if (t.running) lines.push(tone('warn', `Running flag set: ${taskName(t)} (since ${t.lastRun ?? '?'})`));
    if (t.lastOutcome !== null && t.lastOutcome !== 'success') lines.push(tone('bad', `Last run failed: ${taskName(t)}: ${t.lastOutcome}: ${t.lastMessage ?? ''}`));
  }
  const problems = [...problemLines(report, limits), ...health.problems.filter((p) => !TIMING_PROBLEM.test(p))];
  lines.push(problems.length === 0 ? tone('good', 'Health: OK') : tone('bad', 'Health: UNHEALTHY'));
  for (const p of problems) lines.push(`  - ${tone('bad', p)}`);
  return lines;
}
