import { CronError, EXIT_FATAL, EXIT_OK } from '../errors.js';
import { tasksForStatus } from '../db/backgroundTasks.js';
import { wideStatusTable } from '../output/text.js';
import { createRunOps } from '../ops/runOps.js';
import { statusJson } from '../ops/statusData.js';
import { pauseTask, rescheduleTask, resumeTask, runTaskNow } from '../ops/taskControl.js';
import type { RunEnv } from '../scheduler/runEnv.js';
import { loadTasks } from '../tasks/registry.js';
import { closestOption } from './argText.js';
import type { CommandIo } from './cronCommand.js';
import { openAuthenticated, parseCommandArgs, reportError, type CommandArgs, type Session } from './session.js';

const ACTIONS = ['list', 'pause', 'resume', 'run', 'reschedule'];

/**
 * An unknown action, named: it is the first word after `task`, and any secret-looking option before it
 * (`--auth_pwd` without `=`, `--token`) was refused by the parser already.
 */
function unknownAction(action: string | undefined): CronError {
  const near = closestOption(action ?? '', ACTIONS);
  const hint = near === undefined ? '' : `, did you mean ${near}?`;
  return new CronError('EARG', `Unknown action '${action ?? ''}'${hint} (list, pause, resume, run, reschedule; see itop-cron task --help)`, EXIT_FATAL);
}

/** `task run` did not run the task (lock held, maintenance) or the task failed. */
export const EXIT_NOT_DONE = 1;

const USAGE = `Usage: itop-cron task <action> [<Class>] [--param_file=<file>] [cron options]

Controls the background tasks in priv_backgroundtask, so that PHP's cron.php sees the same state.
Authenticated as cron is (an iTop administrator: auth_user/auth_pwd, parameter file preferred).

  list [--json]                 every task with its status and next run
  pause <Class>                 status 'paused': neither itop-cron nor cron.php runs it
  resume <Class>                status 'active' again
  run <Class>                   run it now with the cron's bookkeeping, holding the cron lock
                                (prints 'Already running...' when a cron holds it; exit 1)
  reschedule <Class> <when>     set its next run: now, +30s, +10m, +2h, +1d, or 'Y-m-d H:i:s'
                                (iTop's time zone)

<Class> is the class name (InlineImageGC) or, for namespaced ones, its last part (SessionGC).
Exit codes: 0 done, 1 the task did not run or failed, 254 bad arguments or unknown task,
255 credentials or database.
`;

function className(args: CommandArgs): string {
  const c = args.positionals[1];
  if (c === undefined || c === '') throw new CronError('EARG', `Missing <Class> (itop-cron task ${args.positionals[0] ?? ''} <Class>)`, EXIT_FATAL);
  return c;
}

async function list(s: Session, io: CommandIo, json: boolean): Promise<number> {
  if (json) io.out.line(JSON.stringify((await statusJson(s.db, s.config, s.clock, undefined, s.options.raw)).tasks, null, 2));
  else for (const l of wideStatusTable(await tasksForStatus(s.db, 'class_name'))) io.out.line(l);
  return EXIT_OK;
}

async function run(s: Session, io: CommandIo, typed: string): Promise<number> {
  const tasks = await loadTasks(s.config);
  const ops = createRunOps({ config: s.config, db: s.db, clock: s.clock, log: s.log, params: s.options.raw, serveMetrics: false, tasks });
  const env: RunEnv = {
    db: s.db,
    config: s.config,
    clock: s.clock,
    log: s.log,
    out: io.out,
    verbose: s.options.verbose,
    debug: s.options.debug,
    userId: s.user.id,
    params: s.options.raw,
    signal: io.signal,
    observer: ops.observer,
  };
  try {
    const r = await runTaskNow(env, tasks, typed);
    if (r.kind === 'already-running') io.out.line('Already running...');
    if (r.kind === 'blocked') io.out.line(r.reason);
    return r.kind === 'ran' && r.result.outcome === 'success' ? EXIT_OK : EXIT_NOT_DONE;
  } finally {
    await ops.close();
  }
}

async function act(s: Session, io: CommandIo, args: CommandArgs): Promise<number> {
  const action = args.positionals[0];
  switch (action) {
    case 'list':
      return list(s, io, args.own['json'] !== undefined && args.own['json'] !== '0');
    case 'pause': {
      const rows = await pauseTask(s.db, className(args));
      io.out.line(`Paused ${rows[0]?.class_name ?? ''}: neither itop-cron nor cron.php runs it until 'itop-cron task resume'`);
      return EXIT_OK;
    }
    case 'resume': {
      const rows = await resumeTask(s.db, className(args));
      io.out.line(`Resumed ${rows[0]?.class_name ?? ''}: next run ${rows[0]?.next_run_date ?? ''}`);
      return EXIT_OK;
    }
    case 'reschedule': {
      const when = args.positionals.slice(2).join(' ');
      if (when === '') throw new CronError('EARG', 'Missing <when> (now, +10m, or \'Y-m-d H:i:s\')', EXIT_FATAL);
      const r = await rescheduleTask(s.db, s.clock, className(args), when);
      io.out.line(`${r.className}: next run ${r.next}`);
      return EXIT_OK;
    }
    case 'run':
      return run(s, io, className(args));
    default:
      throw unknownAction(action);
  }
}

/** `itop-cron task <list|pause|resume|run|reschedule> [<Class>] [<when>]`. */
export async function taskCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let args: CommandArgs;
  try {
    args = parseCommandArgs(argv, [{ name: 'json', flag: true }]);
  } catch (e) {
    return reportError(e, io);
  }
  if (args.help || args.positionals.length === 0) {
    io.out.raw(USAGE);
    return args.help ? EXIT_OK : EXIT_FATAL;
  }
  // Before the database: a mistyped action needs no credentials to be reported.
  if (!ACTIONS.includes(args.positionals[0] ?? '')) return reportError(unknownAction(args.positionals[0]), io);
  const session = await openAuthenticated(args, io);
  if (typeof session === 'number') return session;
  try {
    return await act(session, io, args);
  } catch (e) {
    return reportError(e, io);
  } finally {
    await session.close();
  }
}
