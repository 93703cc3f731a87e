import { settingInt } from '../config/php.js';
import type { Config } from '../config/types.js';
import { CronError, EXIT_FATAL, EXIT_OK } from '../errors.js';
import { statusTable } from '../output/text.js';
import { evaluateHealth, statusJson, type Health, type HealthLimits, type StatusReport } from '../ops/statusData.js';
import { createClock, parseOrUndefined, type Clock } from '../time/clock.js';
import type { CommandIo } from './cronCommand.js';
import { openAuthenticated, parseCommandArgs, reportError, unexpectedPositional } from './session.js';

/** `itop-cron status` found a problem (an overdue task, a cron that stopped running). */
export const EXIT_UNHEALTHY = 1;

const DEFAULT_MAX_LATENESS = 900;
const DEFAULT_MAX_AGE = 3600;

const USAGE = `Usage: itop-cron status [--json] [--max_lateness=<s>] [--max_age=<s>] [--param_file=<file>] [cron options]

The health check: every task with its status, last and next run, run count, durations, lateness and last
outcome; whether a cron (itop-cron or cron.php) holds the lock; the queues the tasks drain.
Authenticated as cron is (an iTop administrator: auth_user/auth_pwd, parameter file preferred).

  --json              print the status as JSON (the same data as the metrics endpoint)
  --max_lateness=<s>  unhealthy when an active task is overdue by more than this (default 900;
                      setting itop_cron.status_max_lateness)
  --max_age=<s>       unhealthy when no task has run for longer than this (default 3600;
                      setting itop_cron.status_max_age)

Exit codes: 0 healthy, 1 unhealthy, 254 bad arguments or configuration, 255 credentials or database.
Each task's runner is native (itop-cron's code), php (iTop's own, through the PHP bridge) or none: an active
task that nothing here can run (no PHP, bridge turned off) makes the status unhealthy.
`;

function seconds(name: string, text: string | undefined, config: Config, def: number): number {
  if (text === undefined) return settingInt(config.settings, `itop_cron.status_${name}`, def);
  if (!/^\d+$/.test(text)) throw new CronError('EARG', `Invalid value for '--${name}': '${text}' (expected seconds)`, EXIT_FATAL);
  return Number(text);
}

function queueText(n: number | null): string {
  return n === null ? 'n/a' : String(n);
}

/** How a task is named in the lines under the table: a row without a class name by its id. */
function taskName(t: StatusReport['tasks'][number]): string {
  return t.className ?? `row #${t.id}`;
}

/** A row with a NULL class name or status, or a date that is none: named, so that it can be fixed. */
function badRowLine(t: StatusReport['tasks'][number], clock: Clock): string | undefined {
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

/** The human form: cron.php's status table, then the lock, the last run, the queues and the verdict. */
export function statusLines(report: StatusReport, health: Health, clock: Clock = createClock(report.timezone)): string[] {
  const lines = statusTable(
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
  const holder = c.lockHolder === null ? '' : `, ${c.lockHolder.user}@${c.lockHolder.host}, for ${c.lockHolder.seconds}s`;
  lines.push(c.running ? `Cron: running (lock held by connection ${c.lockConnectionId ?? '?'}${holder})` : 'Cron: not running');
  lines.push(c.lastRun === null ? 'Last task run: never' : `Last task run: ${c.lastRun} (${c.lastRunAgeSeconds ?? 0}s ago)`);
  const q = report.queues;
  lines.push(
    `Queues: async tasks planned ${queueText(q.asyncPlanned)}, in error ${queueText(q.asyncError)}; ` +
      `expired drafts: inline images ${queueText(q.expiredInlineImages)}, attachments ${queueText(q.expiredAttachments)}`,
  );
  const byRunner = (r: string): string[] => report.tasks.filter((t) => t.runner === r).map(taskName);
  if (byRunner('php').length > 0) lines.push(`Run by iTop's PHP: ${byRunner('php').join(', ')}`);
  if (byRunner('none').length > 0) lines.push(`No runner: ${byRunner('none').join(', ')}`);
  const m = report.mailOutage;
  if (m !== null) {
    lines.push(`Mail server unreachable since ${m.since} (${m.failures} failed tries, mails kept queued), next try ${m.nextTry}: ${m.lastError}`);
  }
  for (const t of report.tasks) {
    const bad = badRowLine(t, clock);
    if (bad !== undefined) lines.push(bad);
    if (t.overdue) lines.push(`Overdue: ${taskName(t)} by ${t.latenessSeconds}s${t.handled ? '' : ' (not run by itop-cron)'}`);
    if (t.running) lines.push(`Running flag set: ${taskName(t)} (since ${t.lastRun ?? '?'})`);
    if (t.lastOutcome !== null && t.lastOutcome !== 'success') lines.push(`Last run failed: ${taskName(t)}: ${t.lastOutcome}: ${t.lastMessage ?? ''}`);
  }
  lines.push(health.ok ? 'Health: OK' : 'Health: UNHEALTHY');
  for (const p of health.problems) lines.push(`  - ${p}`);
  return lines;
}

/**
 * `itop-cron status`: the status as a table or JSON, exit 0 when healthy, 1 when a task is overdue by
 * more than --max_lateness or no task ran for --max_age.
 */
export async function statusCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let args;
  try {
    args = parseCommandArgs(argv, [{ name: 'json', flag: true }, 'max_lateness', 'max_age']);
  } catch (e) {
    return reportError(e, io);
  }
  if (args.help) {
    io.out.raw(USAGE);
    return EXIT_OK;
  }
  if (args.positionals.length > 0) return reportError(unexpectedPositional(argv, args.positionals[0] ?? ''), io);
  const session = await openAuthenticated(args, io);
  if (typeof session === 'number') return session;
  try {
    const limits: HealthLimits = {
      maxLatenessSeconds: seconds('max_lateness', args.own['max_lateness'], session.config, DEFAULT_MAX_LATENESS),
      maxAgeSeconds: seconds('max_age', args.own['max_age'], session.config, DEFAULT_MAX_AGE),
    };
    const report = await statusJson(session.db, session.config, session.clock, undefined, session.options.raw);
    const health = evaluateHealth(report, limits);
    const json = args.own['json'] !== undefined && args.own['json'] !== '0';
    if (json) io.out.line(JSON.stringify({ ...report, health: { ...health, ...limits } }, null, 2));
    else for (const l of statusLines(report, health, session.clock)) io.out.line(l);
    return health.ok ? EXIT_OK : EXIT_UNHEALTHY;
  } catch (e) {
    return reportError(e, io);
  } finally {
    await session.close();
  }
}
