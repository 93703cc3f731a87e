import { loadConfig } from '../config/load.js';
import { resolveRunOptions, withEnvCredentials } from '../config/argv.js';
import { loadDotEnvUnlessExplicit } from '../config/env.js';
import { paramFileIsWorldReadable } from '../config/paramFile.js';
import type { Config, RunOptions } from '../config/types.js';
import { openDb } from '../db/connect.js';
import { connectFailure } from '../db/errors.js';
import type { Db } from '../db/types.js';
import { coerceError, CronError, EXIT_ERROR, EXIT_FATAL } from '../errors.js';
import { rotationFromConfig, type RotatingFileOptions } from '../output/logFile.js';
import { createLogger } from '../output/logger.js';
import type { RunOps } from '../ops/runOps.js';
import type { TextSink } from '../output/stdout.js';
import { createClock } from '../time/clock.js';
import { adoptZone } from '../time/zone.js';
import { flagGates } from './startup.js';
import { runCron } from './runCron.js';
import { describeOption, describeWord } from './argText.js';

import { CRON_PARAMS, OWN_PARAMS } from './params.js';

export { CRON_PARAMS, OWN_PARAMS };
const KNOWN = new Set<string>([...CRON_PARAMS, ...OWN_PARAMS]);

/** Where the command writes: stdout for cron.php's text, stderr for one-line diagnostics. */
export interface CommandIo {
  readonly out: TextSink;
  readonly err: TextSink;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly signal: AbortSignal;
}

/** Unknown or malformed `--x` arguments: a clear error instead of cron.php's silent ignore. */
export function checkArguments(argv: readonly string[], known: ReadonlySet<string> = KNOWN, help = 'itop-cron --help'): void {
  argv.forEach((arg, i) => {
    const m = /^--([A-Za-z0-9_]+)(=|$)/.exec(arg);
    if (m === null && !arg.startsWith('-')) throw new CronError('EARG', `Unexpected argument ${describeWord(argv, i, known)}`, EXIT_FATAL);
    if (m === null || !known.has(m[1] ?? '')) throw new CronError('EARG', `Unknown argument ${describeOption(arg, known)} (see ${help})`, EXIT_FATAL);
  });
}

/**
 * cron.php ignores a bare `--verbose` (its arguments are `--name=value`), and so does itop-cron; the
 * administrator who typed it probably meant `=1`: one line on stderr says so, stdout stays cron.php's.
 */
function hintBareFlags(argv: readonly string[], err: TextSink): void {
  for (const name of ['verbose', 'debug', 'status_only']) {
    if (argv.includes(`--${name}`)) err.line(`itop-cron: '--${name}' without a value is ignored, as cron.php ignores it: write --${name}=1`);
  }
}

/** Missing tables (not an iTop database, or a module not installed) as one readable line. */
function explainDbError(e: unknown, config: Config): Error {
  const err = e as { code?: string; sqlMessage?: string };
  if (err?.code === 'ER_NO_SUCH_TABLE') {
    return new CronError(
      'ENOTABLE',
      `${err.sqlMessage ?? 'A table is missing'}: is '${config.db.name}' (prefix '${config.db.prefix}') an iTop database? 'itop-cron init' creates the tables`,
      EXIT_ERROR,
      { cause: e },
    );
  }
  return coerceError(e);
}

/**
 * The default command: cron.php's behaviour from its arguments to its exit code. Returns the exit code;
 * never throws for expected failures (they are printed as cron.php prints them).
 */
export async function cronCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: RunOptions;
  let config: Config;
  let rotation: RotatingFileOptions | undefined;
  try {
    checkArguments(argv);
    hintBareFlags(argv, io.err);
    loadDotEnvUnlessExplicit(argv, io.cwd, io.env);
    options = resolveRunOptions(argv, io.cwd);
    // The flag files are checked before the configuration is read, as cron.php's bootstrap does.
    const early = flagGates(options.raw['itop_root'] ?? io.env['ITOP_ROOT'], io.out);
    if (early !== undefined) return early;
    config = loadConfig({ raw: { ...options.raw }, env: io.env, cwd: io.cwd });
    options = withEnvCredentials(options, io.env);
    rotation = rotationFromConfig(config);
  } catch (e) {
    const err = coerceError(e);
    if (e instanceof CronError && e.code === 'ENOTINSTALLED') io.out.line(err.message);
    // cron.php: any other exception of the initialisation phase is `Error: <message>`, exit 254.
    else io.out.line(`Error: ${err.message}`);
    return e instanceof CronError ? e.exitCode : EXIT_FATAL;
  }
  const gate = flagGates(config.appRoot, io.out);
  if (gate !== undefined) return gate;
  // iTop's zone becomes the process's own, as PHP's default zone is iTop's in cron.php (src/time/zone.ts).
  adoptZone(config.timezone);

  const secrets = [options.authPwd ?? '', config.db.password].filter((s) => s !== '');
  const log = createLogger(config.log, secrets, rotation);
  warnAboutExposure(options, log);
  let db: Db | undefined;
  let ops: RunOps | undefined;
  try {
    db = openDb(config.db);
    try {
      await db.query('SELECT 1');
    } catch (e) {
      throw connectFailure(e, config.db);
    }
    const clock = createClock(config.timezone);
    // History, metrics, pings, alerts: loaded only for a real run (--status_only must stay quick).
    if (!options.statusOnly) ops = (await import('../ops/runOps.js')).createRunOps({ config, db, clock, log, params: options.raw });
    return await runCron({ options, config, db, clock, log, out: io.out, signal: io.signal, observer: ops?.observer });
  } catch (e) {
    const err = explainDbError(e, config);
    const code = err instanceof CronError ? err.exitCode : EXIT_ERROR;
    if (err instanceof CronError && err.code === 'EDBCONNECT') {
      // cron.php's own words on stdout when the database cannot be reached; the reason goes to stderr.
      io.out.line('<p>iTop: An error occurred, check server error log for more information.</p>');
      io.err.line(`itop-cron: ${err.message}`);
    } else {
      io.out.line(err.message);
    }
    log.error({ err: err.message, code: (err as CronError).code }, 'cron stopped');
    return code;
  } finally {
    await ops?.close().catch(() => undefined);
    await db?.close().catch(() => undefined);
    log.flush();
  }
}

/** Warnings for passwords that others can read: on the process list, or in a world-readable file. */
function warnAboutExposure(options: RunOptions, log: ReturnType<typeof createLogger>): void {
  if (options.passwordOnCommandLine) {
    log.warn('--auth_pwd on the command line is visible in the process list: prefer a parameter file (mode 0600) or ITOP_CRON_AUTH_PWD');
  }
  for (const file of options.paramFiles) {
    if (paramFileIsWorldReadable(file)) log.warn({ file }, 'the parameter file is readable by other users: chmod 600 it');
  }
  // --status_only creates no file, so root's files are not a concern there.
  if (!options.statusOnly && typeof process.getuid === 'function' && process.getuid() === 0) {
    log.warn('running as root: run itop-cron as the web server user (www-data, apache...) so that files it creates stay usable by iTop');
  }
}
