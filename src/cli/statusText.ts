/**
 * `itop-cron status` for a person: the task table with whole class names, then one line per fact,
 * durations in human units (`8d 2h`, `45s`), each overdue task named once (under Health when it breaks
 * the limit, else as "Overdue"), a task that is due this very second not called overdue, async tasks in
 * `error` flagged, colours only on a terminal (src/output/human.ts). The JSON form is statusData's.
 */
import { humanDuration, paint, type Tone } from '../output/human.js';
import { wideStatusTable } from '../output/text.js';
import type { HealthLimits, StatusReport, TaskStatus } from '../ops/statusData.js';

function queueText(n: number | null): string {
  return n === null ? 'n/a' : String(n);
}

/** The tasks that break the lateness limit: evaluateHealth's rule (src/ops/statusData.ts). */
function tooLate(t: TaskStatus, limits: HealthLimits): boolean {
  return t.handled && t.overdue && t.latenessSeconds > limits.maxLatenessSeconds;
}

/** The problems of the verdict, in human units; as many as evaluateHealth finds. */
function problemLines(report: StatusReport, limits: HealthLimits): string[] {
  const problems = report.tasks
    .filter((t) => tooLate(t, limits))
    .map((t) => `${t.className} is overdue by ${humanDuration(t.latenessSeconds)} (next run ${t.nextRun ?? ''}, limit ${humanDuration(limits.maxLatenessSeconds)})`);
  const age = report.cron.lastRunAgeSeconds;
  if (age === null) problems.push('no task has ever run');
  else if (age > limits.maxAgeSeconds) {
    problems.push(`no task has run for ${humanDuration(age)} (last run ${report.cron.lastRun ?? ''}, limit ${humanDuration(limits.maxAgeSeconds)})`);
  }
  return problems;
}

/** The human form of a report; `colour` adds ANSI colours (a terminal that wants them). */
export function statusLines(report: StatusReport, limits: HealthLimits, colour = false): string[] {
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
  for (const t of report.tasks) {
    // Overdue by less than a second is "due now"; one past the limit is named under Health instead.
    if (t.overdue && t.latenessSeconds >= 1 && !tooLate(t, limits)) {
      lines.push(tone('warn', `Overdue: ${t.className} by ${humanDuration(t.latenessSeconds)}${t.handled ? '' : ' (not run by itop-cron)'}`));
    }
    if (t.running) lines.push(tone('warn', `Running flag set: ${t.className} (since ${t.lastRun ?? '?'})`));
    if (t.lastOutcome !== null && t.lastOutcome !== 'success') lines.push(tone('bad', `Last run failed: ${t.className}: ${t.lastOutcome}: ${t.lastMessage ?? ''}`));
  }
  const problems = problemLines(report, limits);
  lines.push(problems.length === 0 ? tone('good', 'Health: OK') : tone('bad', 'Health: UNHEALTHY'));
  for (const p of problems) lines.push(`  - ${tone('bad', p)}`);
  return lines;
}
