import { allTasks } from '../db/backgroundTasks.js';
import { recentRuns } from '../db/runHistory.js';
import { CronError, EXIT_FATAL, EXIT_OK } from '../errors.js';
import { historyJson, historyLines } from '../ops/history.js';
import { resolveClassName } from '../ops/taskControl.js';
import type { CommandIo } from './cronCommand.js';
import { openAuthenticated, parseCommandArgs, reportError, unexpectedPositional, type CommandArgs } from './session.js';

const DEFAULT_LIMIT = 50;

const USAGE = `Usage: itop-cron history [<Class>] [--limit=N] [--json] [--param_file=<file>] [cron options]

The latest task runs, newest first, from itop-cron's run history table (itop_cron_run_history): start,
task, outcome (success, failure, fatal, timeout), duration, host and message.
Authenticated as cron is (an iTop administrator: auth_user/auth_pwd, parameter file preferred).

  <Class>     only this task (its class name, or the last part of a namespaced one)
  --limit=N   how many runs (default 50)
  --json      print the runs as JSON

Retention: settings itop_cron.history_max_rows (runs per task, default 1000) and
itop_cron.history_max_days (default 30).
`;

function limitOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIMIT;
  // A safe integer only: more digits became LIMIT 1e+20, an SQL syntax error.
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) throw new CronError('EARG', `Invalid value for '--limit': '${text}' (expected a number >= 1)`, EXIT_FATAL);
  return Number(text);
}

/** `itop-cron history [<Class>] [--limit=N] [--json]`. */
export async function historyCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let args: CommandArgs;
  let limit: number;
  try {
    args = parseCommandArgs(argv, ['limit', { name: 'json', flag: true }]);
    limit = limitOf(args.own['limit']);
    if (args.positionals.length > 1) throw unexpectedPositional(argv, args.positionals[1] ?? '');
  } catch (e) {
    return reportError(e, io);
  }
  if (args.help) {
    io.out.raw(USAGE);
    return EXIT_OK;
  }
  const session = await openAuthenticated(args, io);
  if (typeof session === 'number') return session;
  try {
    const typed = args.positionals[0];
    const className = typed === undefined ? undefined : resolveClassName((await allTasks(session.db)).map((r) => r.class_name), typed);
    const rows = await recentRuns(session.db, className, limit);
    if (args.own['json'] !== undefined && args.own['json'] !== '0') io.out.line(JSON.stringify(rows.map(historyJson), null, 2));
    else for (const l of historyLines(rows)) io.out.line(l);
    return EXIT_OK;
  } catch (e) {
    return reportError(e, io);
  } finally {
    await session.close();
  }
}
