/**
 * Environment variables and the `.env` file: the third configuration source , below the command line and parameter files, above config-itop.php.
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { readCliParam } from './cliParam.js';
import { unreadableReason } from './safeRead.js';
import { readTrustedFile } from './trust.js';

/**
 * Loads `<cwd>/.env` into `env` (process.env by default). Variables already set are never overridden,
 * so the real environment wins over the file; a missing file is not an error. `quiet` keeps dotenv 17's
 * advertising line off stdout, which belongs to cron.php's output.
 * @returns the path of the file that was loaded, or undefined when there is none.
 */
export function loadDotEnv(cwd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = path.join(cwd, '.env');
  // Most runs have no .env: dotenv is loaded only when there is one (it is 10 ms of every --status_only,
  // bench/RESULTS.md).
  try {
    if (statSync(file, { throwIfNoEntry: false }) === undefined) return undefined;
  } catch {
    // not stat-able: the read below says why
  }
  let text: string;
  try {
    // Read here, not by dotenv: only a regular file, and at most a few MB (a FIFO would block, /dev/zero never
    // ends); as root, only one that root alone can write (src/config/trust.ts).
    text = readTrustedFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`Cannot read '${file}': ${unreadableReason(e)}`, { cause: e });
  }
  const dotenv = createRequire(import.meta.url)('dotenv') as typeof import('dotenv');
  for (const [k, v] of Object.entries(dotenv.parse(text))) if (!Object.hasOwn(env, k)) env[k] = v;
  return file;
}

/** The arguments that name the configuration: with one of them, the working directory's `.env` is not read. */
export const EXPLICIT_CONFIG_ARGS = ['param_file', 'config', 'itop_root'] as const;

/**
 * loadDotEnv, unless `argv` (`--name=value` forms) names the configuration (`--param_file`, `--config`,
 * `--itop_root`): a run whose configuration is given must not take settings, extension modules
 * included, from whatever `.env` lies in the directory it was started from (issue 16 item 11).
 * @returns the path of the file that was loaded, or undefined.
 */
export function loadDotEnvUnlessExplicit(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (EXPLICIT_CONFIG_ARGS.some((name) => readCliParam(argv, name) !== undefined)) return undefined;
  return loadDotEnv(cwd, env);
}

/** The variables itop-cron reads, as strings; undefined when unset or empty (except ITOP_DB_PWD). */
export interface EnvSettings {
  /** ITOP_CONFIG: path of config-itop.php. */
  readonly config: string | undefined;
  /** ITOP_ROOT: the iTop root directory. */
  readonly root: string | undefined;
  readonly dbHost: string | undefined;
  readonly dbUser: string | undefined;
  /** ITOP_DB_PWD; an empty value is kept (an empty password is a password). */
  readonly dbPwd: string | undefined;
  readonly dbName: string | undefined;
  /** ITOP_DB_SUBNAME, the table prefix. Empty means unset: a stray `ITOP_DB_SUBNAME=` must not drop a prefix. */
  readonly dbSubname: string | undefined;
  readonly dbTlsEnabled: string | undefined;
  readonly dbTlsCa: string | undefined;
  readonly dbSocket: string | undefined;
  readonly timezone: string | undefined;
  readonly cronMaxExecutionTime: string | undefined;
  readonly cronSleep: string | undefined;
  readonly cronTaskMaxExecutionTime: string | undefined;
  /** ITOP_CRON_LOG: a file path or `stderr`. */
  readonly log: string | undefined;
  readonly logLevel: string | undefined;
  /** ITOP_CRON_EXTENSIONS: comma-separated module specifiers or paths. */
  readonly extensions: string | undefined;
  readonly ownRegistry: string | undefined;
  /**
   * ITOP_CRON_AUTH_USER / ITOP_CRON_AUTH_PWD: the CLI's last resort for `auth_user` / `auth_pwd`, used
   * only when neither a parameter file nor the command line gives them. They keep the password out of
   * the process list for container setups where a parameter file is awkward.
   */
  readonly authUser: string | undefined;
  readonly authPwd: string | undefined;
}

/** The variable behind each EnvSettings field, for reading and for naming the source in error messages. */
export const ENV_VARS = {
  config: 'ITOP_CONFIG',
  root: 'ITOP_ROOT',
  dbHost: 'ITOP_DB_HOST',
  dbUser: 'ITOP_DB_USER',
  dbPwd: 'ITOP_DB_PWD',
  dbName: 'ITOP_DB_NAME',
  dbSubname: 'ITOP_DB_SUBNAME',
  dbTlsEnabled: 'ITOP_DB_TLS_ENABLED',
  dbTlsCa: 'ITOP_DB_TLS_CA',
  dbSocket: 'ITOP_DB_SOCKET',
  timezone: 'ITOP_TIMEZONE',
  cronMaxExecutionTime: 'ITOP_CRON_MAX_EXECUTION_TIME',
  cronSleep: 'ITOP_CRON_SLEEP',
  cronTaskMaxExecutionTime: 'ITOP_CRON_TASK_MAX_EXECUTION_TIME',
  log: 'ITOP_CRON_LOG',
  logLevel: 'ITOP_CRON_LOG_LEVEL',
  extensions: 'ITOP_CRON_EXTENSIONS',
  ownRegistry: 'ITOP_CRON_OWN_REGISTRY',
  authUser: 'ITOP_CRON_AUTH_USER',
  authPwd: 'ITOP_CRON_AUTH_PWD',
} as const satisfies Record<keyof EnvSettings, string>;

/** Maps the environment to EnvSettings. Pure: `env` is only read. */
export function readEnvSettings(env: NodeJS.ProcessEnv): EnvSettings {
  const out: Record<string, string | undefined> = {};
  for (const [field, name] of Object.entries(ENV_VARS)) {
    const v = env[name];
    // An empty database password is a real one; any other empty variable is taken as unset.
    out[field] = v === '' && name !== ENV_VARS.dbPwd ? undefined : v;
  }
  return out as unknown as EnvSettings;
}
