import { settingInt } from '../config/php.js';
import type { Config } from '../config/types.js';
import { CronError, EXIT_FATAL, EXIT_OK } from '../errors.js';
import { colourWanted } from '../output/human.js';
import { evaluateHealth, statusJson, type HealthLimits } from '../ops/statusData.js';
import { statusLines } from './statusText.js';
import type { CommandIo } from './cronCommand.js';
import { openAuthenticated, parseCommandArgs, reportError, unexpectedPositional } from './session.js';

/** `itop-cron status` found a problem (an overdue task, a cron that stopped running). */
export const EXIT_UNHEALTHY = 1;

export const DEFAULT_MAX_LATENESS = 900;
export const DEFAULT_MAX_AGE = 3600;

const USAGE = `Usage: itop-cron status [--json] [--max_lateness=<s>] [--max_age=<s>] [--param_file=<file>] [cron options]

The health check: every task with its status, last and next run, run count, durations, lateness and last
outcome; whether a cron (itop-cron or cron.php) holds the lock; the queues the tasks drain.
Authenticated as cron is (an iTop administrator: auth_user/auth_pwd, parameter file preferred).

  --json              print the status as JSON (the same data as the metrics endpoint)
  --max_lateness=<s>  unhealthy when an active task is overdue by more than this (default 900;
                      setting itop_cron.status_max_lateness)
  --max_age=<s>       unhealthy when no task has run for longer than this (default 3600;
                      setting itop_cron.status_max_age)

Durations are in human units (8d 2h, 45s); colours on a terminal only (NO_COLOR turns them off,
FORCE_COLOR=1 on).

Exit codes: 0 healthy, 1 unhealthy, 254 bad arguments or configuration, 255 credentials or database.
Each task's runner is native (itop-cron's code), php (iTop's own, through the PHP bridge) or none: an active
task that nothing here can run (no PHP, bridge turned off) makes the status unhealthy.
`;

function seconds(name: string, text: string | undefined, config: Config, def: number): number {
  if (text === undefined) return settingInt(config.settings, `itop_cron.status_${name}`, def);
  if (!/^\d+$/.test(text)) throw new CronError('EARG', `Invalid value for '--${name}': '${text}' (expected seconds)`, EXIT_FATAL);
  return Number(text);
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
    else for (const l of statusLines(report, health, limits, colourWanted(io.out.isTTY === true, io.env), session.clock)) io.out.line(l);
    return health.ok ? EXIT_OK : EXIT_UNHEALTHY;
  } catch (e) {
    return reportError(e, io);
  } finally {
    await session.close();
  }
}
