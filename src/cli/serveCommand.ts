/**
 * `itop-cron serve`: web mode ("Scheduling from the web"). An HTTP server whose page does what calling
 * iTop's webservices/cron.php through the web server does, for web cron services and hosts without a
 * crontab. Configuration, pool and tasks are loaded once; each request authenticates with HTTP Basic.
 */
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { resolveRunOptions } from '../config/argv.js';
import { loadDotEnvUnlessExplicit } from '../config/env.js';
import { loadConfig } from '../config/load.js';
import { paramFileIsWorldReadable } from '../config/paramFile.js';
import type { Config } from '../config/types.js';
import { openDb } from '../db/connect.js';
import { connectFailure } from '../db/errors.js';
import type { Db } from '../db/types.js';
import { coerceError, CronError, EXIT_ERROR, EXIT_FATAL, EXIT_OK } from '../errors.js';
import { startServer, type CronServer } from '../http/server.js';
import { rotationFromConfig } from '../output/logFile.js';
import { createLogger } from '../output/logger.js';
import { joinSpacedValues } from './argText.js';
import { checkArguments, OWN_PARAMS, type CommandIo } from './cronCommand.js';

/** The default port of web mode (any free port will do; 0 picks one). */
export const DEFAULT_HTTP_PORT = 8089;
const SERVE_PARAMS = ['port', 'host', 'stop_timeout'] as const;
const KNOWN = new Set<string>([...OWN_PARAMS, ...SERVE_PARAMS, 'param_file']);
/** Options that also take their value as the next word (`--port 8089`): itop-cron's own, not cron.php's. */
const SPACED = new Set<string>([...OWN_PARAMS, ...SERVE_PARAMS]);
/** cron.php arguments that belong to each request, not to the server. */
const PER_REQUEST = new Set(['auth_user', 'auth_pwd', 'verbose', 'debug', 'status_only']);

const SERVE_HELP = `Usage: itop-cron serve [--port=<n>] [--host=<address>] [--param_file=<files>] [--config=<file>] [--itop_root=<dir>]

Serves the cron page: GET /webservices/cron.php (or /cron) runs one cron execution, as calling iTop's
cron.php through the web server does, and streams its text. The caller authenticates with HTTP Basic as
an iTop administrator; query parameters: verbose=1, debug=1, status_only=1 (never credentials or param_file).
The web console, GET / with the same login, shows every task, its history and the queues, with
Pause, Resume, Run now, Reschedule and Retry buttons.

Options (--name=value or --name value; parameter files may hold them too, but no credentials):
  --port=<n>              port (default ${DEFAULT_HTTP_PORT}, env ITOP_CRON_HTTP_PORT; 0 = any free port)
  --host=<address>        address to bind (default 127.0.0.1, env ITOP_CRON_HTTP_HOST)
  --stop_timeout=<s>      on SIGTERM, how long a running execution may go on before it is stopped (default 30)
  --param_file, --config, --itop_root, --log_file, --log_level, --mysql_bindir, --task_grace_seconds: as for a run

Example:
  itop-cron serve --itop_root=/var/www/itop --port=8089
  curl -u admin https://itop.example.com/cron-runner/webservices/cron.php?verbose=1
`;

/** Where and how the server listens. */
export interface ServeSettings {
  readonly host: string;
  readonly port: number;
  readonly stopTimeoutSeconds: number;
}

function badArgument(message: string): CronError {
  return new CronError('EARG', message, EXIT_FATAL);
}

/** Refuses unknown arguments, and cron.php's own ones that each request gives instead. */
export function checkServeArguments(argv: readonly string[]): void {
  for (const arg of argv) {
    const name = /^--([A-Za-z0-9_]+)(=|$)/.exec(arg)?.[1];
    if (name !== undefined && PER_REQUEST.has(name)) {
      throw badArgument(`'--${name}' is not an option of serve: each request authenticates with HTTP Basic and sets verbose/status_only in its URL`);
    }
  }
  checkArguments(argv, KNOWN, 'itop-cron serve --help');
}

function wholeNumber(name: string, value: string, max: number): number {
  const v = value.trim();
  if (!/^\d+$/.test(v) || Number(v) > max) throw badArgument(`Invalid value for '${name}': '${value}' (expected 0 to ${max})`);
  return Number(v);
}

/** Port, host and stop timeout: command line, then parameter files, then environment, then defaults. */
export function serveSettings(raw: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv): ServeSettings {
  const pick = (key: string, envName?: string): string | undefined =>
    (Object.hasOwn(raw, key) ? raw[key] : undefined) ?? (envName === undefined ? undefined : env[envName] || undefined);
  const host = pick('host', 'ITOP_CRON_HTTP_HOST') ?? '127.0.0.1';
  if (host.trim() === '') throw badArgument("Invalid value for 'host': '' (expected an address such as 127.0.0.1)");
  return {
    host: host.trim(),
    port: wholeNumber('port', pick('port', 'ITOP_CRON_HTTP_PORT') ?? String(DEFAULT_HTTP_PORT), 65535),
    stopTimeoutSeconds: wholeNumber('stop_timeout', pick('stop_timeout') ?? '30', 86400),
  };
}

/** True for addresses only local clients can reach. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

interface Prepared {
  readonly config: Config;
  readonly settings: ServeSettings;
  /** Parameters for tasks: everything read, credentials removed. */
  readonly params: Record<string, string>;
  readonly credentialsIgnored: boolean;
  readonly paramFiles: readonly string[];
}

function prepare(argv: readonly string[], io: CommandIo): Prepared {
  checkServeArguments(argv);
  loadDotEnvUnlessExplicit(argv, io.cwd, io.env);
  const options = resolveRunOptions(argv, io.cwd);
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.raw)) if (!PER_REQUEST.has(k)) params[k] = v;
  return {
    config: loadConfig({ raw: params, env: io.env, cwd: io.cwd }),
    settings: serveSettings(params, io.env),
    params,
    credentialsIgnored: options.authUser !== undefined || options.authPwd !== undefined,
    paramFiles: options.paramFiles,
  };
}

function warnings(p: Prepared, log: Logger): void {
  if (p.credentialsIgnored) {
    log.info('serve ignores auth_user/auth_pwd of parameter files: every request authenticates with HTTP Basic');
    for (const file of p.paramFiles) {
      if (paramFileIsWorldReadable(file)) log.warn({ file }, 'the parameter file is readable by other users: chmod 600 it');
    }
  }
  if (!isLoopbackHost(p.settings.host)) {
    log.warn({ host: p.settings.host }, 'serving on a non-loopback address: Basic authentication sends the password in clear, put a TLS reverse proxy in front');
  }
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    log.warn('running as root: run itop-cron as the web server user (www-data, apache...) so that files it creates stay usable by iTop');
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Opens the pool and checks that the database answers, as a run does at start. */
async function openChecked(config: Config): Promise<Db> {
  const db = openDb(config.db);
  try {
    await db.query('SELECT 1');
  } catch (e) {
    await db.close().catch(() => undefined);
    throw connectFailure(e, config.db);
  }
  return db;
}

/** Start-up failures: the database as a run reports it, a bad extension as an init error, a listen error. */
function reportStartFailure(e: unknown, settings: ServeSettings, io: CommandIo): void {
  const err = coerceError(e);
  if (e instanceof CronError && e.code === 'EDBCONNECT') {
    io.out.line('<p>iTop: An error occurred, check server error log for more information.</p>');
    io.err.line(`itop-cron: ${err.message}`);
  } else if (e instanceof CronError) {
    io.out.line(`Error: ${err.message}`);
  } else {
    io.err.line(`itop-cron serve: cannot listen on ${settings.host}:${settings.port}: ${err.message}`);
  }
}

/**
 * The `serve` subcommand: runs until SIGTERM/SIGINT, then stops accepting, lets the running execution end
 * (up to --stop_timeout, then stops it as SIGTERM stops a run), closes the pool and returns 0.
 */
export async function serveCommand(given: readonly string[], io: CommandIo): Promise<number> {
  const argv = joinSpacedValues(given, SPACED);
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out.raw(SERVE_HELP);
    return EXIT_OK;
  }
  let prepared: Prepared;
  try {
    prepared = prepare(argv, io);
  } catch (e) {
    const err = coerceError(e);
    io.out.line(e instanceof CronError && e.code === 'ENOTINSTALLED' ? err.message : `Error: ${err.message}`);
    return e instanceof CronError ? e.exitCode : EXIT_FATAL;
  }
  const { config, settings } = prepared;
  let log: Logger;
  try {
    // A long-running process: the log file is rotated as the run's is, when rotation is configured.
    log = createLogger(config.log, [config.db.password].filter((s) => s !== ''), rotationFromConfig(config));
  } catch (e) {
    io.out.line(`Error: ${coerceError(e).message}`);
    return e instanceof CronError ? e.exitCode : EXIT_FATAL;
  }
  warnings(prepared, log);
  let db: Db | undefined;
  let server: CronServer;
  try {
    db = await openChecked(config);
    server = await startServer({ config, db, log, host: settings.host, port: settings.port, params: prepared.params });
  } catch (e) {
    reportStartFailure(e, settings, io);
    log.error({ err: coerceError(e).message }, 'serve could not start');
    await db?.close().catch(() => undefined);
    log.flush();
    return e instanceof CronError ? e.exitCode : EXIT_ERROR;
  }
  io.out.line(`itop-cron serve: listening on ${server.url}/webservices/cron.php`);
  log.info({ url: server.url }, 'serve: listening');
  await untilAborted(io.signal);
  log.info({ running: server.running() }, 'serve: stopping');
  await server.stop(settings.stopTimeoutSeconds * 1000);
  await db.close().catch(() => undefined);
  log.info('serve: stopped');
  log.flush();
  return EXIT_OK;
}
