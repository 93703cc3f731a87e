/**
 * What the operating subcommands (status, task, history) share with the cron command: the same
 * arguments and parameter files, configuration, database and administrator check, so that they need
 * exactly the credentials a crontab line already has.
 */
import type { Logger } from 'pino';
import { authenticate, DEFAULT_FAILURE_DELAY_MS, type CronUser } from '../auth/authenticate.js';
import { resolveRunOptions, withEnvCredentials } from '../config/argv.js';
import { loadDotEnvUnlessExplicit } from '../config/env.js';
import { loadConfig } from '../config/load.js';
import type { Config, RunOptions } from '../config/types.js';
import { openDb } from '../db/connect.js';
import { connectFailure } from '../db/errors.js';
import type { Db } from '../db/types.js';
import { coerceError, CronError, EXIT_ERROR, EXIT_FATAL } from '../errors.js';
import { rotationFromConfig } from '../output/logFile.js';
import { createLogger } from '../output/logger.js';
import { createClock, type Clock } from '../time/clock.js';
import { CRON_PARAMS, OWN_PARAMS, type CommandIo } from './cronCommand.js';
import { describeOption, describeWord } from './argText.js';

/** A subcommand's arguments: words, cron's `--name=value` options, and its own options. */
export interface CommandArgs {
  readonly positionals: readonly string[];
  /** The command's own options (`--json` alone means `--json=1`). */
  readonly own: Readonly<Record<string, string>>;
  /** The `--name=value` options shared with cron (credentials, parameter file, configuration...). */
  readonly shared: readonly string[];
  readonly help: boolean;
}

/** An option of a subcommand: a name takes a value (`--limit 3` or `--limit=3`); a flag never takes the next word. */
export type OptionSpec = string | { readonly name: string; readonly flag: true };

function optionName(o: OptionSpec): string {
  return typeof o === 'string' ? o : o.name;
}

/**
 * Splits argv. Unknown options are refused (exit 254), as for the cron command. The command's own options
 * and itop-cron's (`--config`, `--itop_root`...) take their value as `--name=value` or `--name value`;
 * cron.php's arguments (`--auth_pwd`, `--param_file`...) keep cron.php's `--name=value` form only.
 * A value option with nothing after it (or another option) means `1`.
 * @param own the command's own options.
 */
export function parseCommandArgs(argv: readonly string[], own: readonly OptionSpec[]): CommandArgs {
  const ownNames = new Map(own.map((o) => [optionName(o), typeof o !== 'string'] as const));
  const cronNames = new Set<string>(CRON_PARAMS);
  const ownParams = new Set<string>(OWN_PARAMS);
  const known = [...ownNames.keys(), ...cronNames, ...ownParams];
  const positionals: string[] = [];
  const ownValues: Record<string, string> = {};
  const shared: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    const m = /^--([A-Za-z0-9_]+)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1] ?? '';
    const next = argv[i + 1];
    // The next word is this option's value unless it is an option itself.
    const takesNext = m !== null && m[2] === undefined && next !== undefined && !next.startsWith('-');
    if (m !== null && ownNames.has(name)) {
      const flag = ownNames.get(name) === true;
      if (!flag && takesNext) i += 1;
      ownValues[name] = m[2] ?? (!flag && takesNext ? next : '1');
    } else if (m !== null && ownParams.has(name) && (m[2] !== undefined || takesNext)) {
      if (m[2] === undefined) i += 1;
      shared.push(`--${name}=${m[2] ?? next ?? ''}`);
    } else if (m !== null && cronNames.has(name) && m[2] !== undefined) shared.push(arg);
    else if (m !== null && (cronNames.has(name) || ownParams.has(name))) {
      throw new CronError('EARG', `Argument '--${name}' needs a value (--${name}=...)`, EXIT_FATAL);
    } else throw new CronError('EARG', `Unknown argument ${describeOption(arg, known)} (see --help)`, EXIT_FATAL);
  }
  return { positionals, own: ownValues, shared, help };
}

/** The positional at `index`, for "Unexpected argument" messages: never echoed unless it is an option name. */
export function unexpectedPositional(argv: readonly string[], word: string): CronError {
  const i = argv.indexOf(word);
  return new CronError('EARG', `Unexpected argument ${describeWord(argv, i < 0 ? 0 : i, [...CRON_PARAMS, ...OWN_PARAMS])}`, EXIT_FATAL);
}

/** An authenticated session: configuration, database, clock, log and the administrator. */
export interface Session {
  readonly options: RunOptions;
  readonly config: Config;
  readonly db: Db;
  readonly clock: Clock;
  readonly log: Logger;
  readonly user: CronUser;
  /** Closes the database pool and flushes the log. */
  close(): Promise<void>;
}

const AUTH_CODES = new Set(['EAUTH', 'EAUTHKIND', 'ENOTADMIN']);

/** Prints an error of the opening phase as one line; returns its exit code. */
export function reportError(e: unknown, io: CommandIo): number {
  const err = coerceError(e);
  // cron.php's own words for refused credentials; `Error: ...` for the rest.
  io.out.line(err instanceof CronError && AUTH_CODES.has(err.code) ? err.message : `Error: ${err.message}`);
  return err instanceof CronError ? err.exitCode : EXIT_ERROR;
}

/**
 * Reads the options, parameter files and configuration, opens the database and checks the credentials
 * as cron.php does (an enabled administrator). Prints the reason and returns the exit code when that
 * fails: 254 for arguments and configuration, 255 for credentials and an unreachable database.
 */
export async function openAuthenticated(args: CommandArgs, io: CommandIo, failureDelayMs = DEFAULT_FAILURE_DELAY_MS): Promise<Session | number> {
  let options: RunOptions;
  let config: Config;
  let log: Logger;
  try {
    loadDotEnvUnlessExplicit(args.shared, io.cwd, io.env);
    options = resolveRunOptions(args.shared, io.cwd);
    config = loadConfig({ raw: { ...options.raw }, env: io.env, cwd: io.cwd });
    options = withEnvCredentials(options, io.env);
    log = createLogger(config.log, [options.authPwd ?? '', config.db.password].filter((s) => s !== ''), rotationFromConfig(config));
  } catch (e) {
    return reportError(e, io);
  }
  const db = openDb(config.db);
  const close = async (): Promise<void> => {
    await db.close().catch(() => undefined);
    log.flush();
  };
  try {
    try {
      await db.query('SELECT 1');
    } catch (e) {
      throw connectFailure(e, config.db);
    }
    for (const [name, value] of [['auth_user', options.authUser], ['auth_pwd', options.authPwd]] as const) {
      if (value === undefined) {
        throw new CronError('EARG', `Missing argument '${name}' (in the parameter file, or --${name}=...)`, EXIT_FATAL);
      }
    }
    const user = await authenticate(db, options.authUser ?? '', options.authPwd ?? '', failureDelayMs);
    return { options, config, db, clock: createClock(config.timezone), log, user, close };
  } catch (e) {
    await close();
    return reportError(e, io);
  }
}
