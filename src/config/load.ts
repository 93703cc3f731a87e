/**
 * Builds the one frozen Config of an invocation from, most specific first: parameters (command line and
 * parameter files), environment / .env, config-itop.php, iTop's defaults. Every
 * value is validated here, once; a bad one is a ConfigError naming the key and where it came from.
 */
import { existsSync } from 'node:fs';
import { unreadableReason } from './safeRead.js';
import { readTrustedFile } from './trust.js';
import path from 'node:path';
import { ConfigError, CronError, EXIT_ERROR } from '../errors.js';
import type { Config, LogSettings, PhpArray, PhpValue } from './types.js';
import { ENV_VARS, readEnvSettings, type EnvSettings } from './env.js';
import { checkNumericValues } from './numeric.js';
import { readClusterSettings } from './cluster.js';
import { resolveParamPath } from './paramFile.js';
import { discoverItopRoot } from './discover.js';
import { parsePhpConfig } from './phpConfig.js';
import { expandPlaceholders, getOwn, phpBool, phpString, phpTrim, setOwn, settingInt, settingValue } from './php.js';
import { canonicalTimeZone } from '../time/zone.js';

/** Inputs of loadConfig; `configPath`/`itopRoot` (e.g. from CLI options) win over `raw.config`/`raw.itop_root`. */
export interface LoadConfigOptions {
  configPath?: string;
  itopRoot?: string;
  raw: Readonly<Record<string, string>>;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Settings that parameters and environment may override, with their environment variable. */
const LAYERED = {
  db_host: 'dbHost',
  db_user: 'dbUser',
  db_pwd: 'dbPwd',
  db_name: 'dbName',
  db_subname: 'dbSubname',
  'db_tls.enabled': 'dbTlsEnabled',
  'db_tls.ca': 'dbTlsCa',
  timezone: 'timezone',
  cron_max_execution_time: 'cronMaxExecutionTime',
  cron_sleep: 'cronSleep',
  cron_task_max_execution_time: 'cronTaskMaxExecutionTime',
} as const satisfies Record<string, keyof EnvSettings>;
type LayeredKey = keyof typeof LAYERED;

const PARAMS_SOURCE = 'the command line or parameter file';
const LOG_LEVELS: readonly LogSettings['level'][] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Where the MySQL client library looks for the server's socket on common distributions, in order. */
export const DEFAULT_SOCKETS = [
  '/run/mysqld/mysqld.sock',
  '/var/run/mysqld/mysqld.sock',
  '/tmp/mysql.sock',
  '/var/lib/mysql/mysql.sock',
];

/** A value and the source it came from; `text` when it came from a parameter or a variable, not PHP. */
interface Picked {
  readonly value: PhpValue;
  readonly source: string;
  readonly text: boolean;
}

/**
 * Reads `db_host` as iTop splits it: `host`, `host:port`, `p:host[:port]` (persistent).
 * An empty host is `localhost`; `localhost` without a port means the Unix socket, as with mysqli.
 * `port` is undefined when absent or not a number.
 */
export function describeDbHost(host: string): { host: string; port: number | undefined; socket: boolean; persistent: boolean } {
  const parts = host.split(':');
  const persistent = parts.length > 1 && parts[0] === 'p';
  if (persistent) parts.shift();
  const name = parts[0] === undefined || parts[0] === '' ? 'localhost' : parts[0];
  const port = /^\d+$/.test(parts[1] ?? '') ? Number(parts[1]) : undefined;
  return { host: name, port, socket: name === 'localhost' && port === undefined, persistent };
}

/** The first of `candidates` that exists: where mysqli's default socket would be. */
export function findDefaultSocket(candidates: readonly string[] = DEFAULT_SOCKETS): string | undefined {
  return candidates.find((p) => existsSync(p));
}

/**
 * Loads, layers and validates the configuration (synchronously).
 * @throws ConfigError on an unreadable or malformed config file or a bad value; CronError `ENOTINSTALLED`
 *   (exit 255, cron.php's `iTop is not yet installed. Exiting...`) when an iTop root has no config file.
 */
export function loadConfig(opts: LoadConfigOptions): Config {
  const envs = readEnvSettings(opts.env);
  const { file, appRoot, derived, looked } = locate(opts, envs);
  let fileSettings: PhpArray = {};
  let moduleSettings: Record<string, PhpArray> = {};
  if (file !== undefined) {
    const parsed = parsePhpConfig(readConfigText(file, derived), file);
    // iTop trims every string setting when it loads the file.
    const trimmed: PhpArray = {};
    for (const [k, v] of Object.entries(parsed.settings)) setOwn(trimmed, k, typeof v === 'string' ? phpTrim(v) : v);
    fileSettings = expandPlaceholders(trimmed, opts.env, file);
    moduleSettings = parsed.moduleSettings;
  }

  const pickFrom = sourcePicker(opts.raw, envs, fileSettings, file);
  const pick = (key: LayeredKey): Picked | undefined => pickFrom(key, LAYERED[key], key);

  const settings: PhpArray = { ...fileSettings };
  for (const key of Object.keys(LAYERED) as LayeredKey[]) {
    const p = pick(key);
    if (p?.text === true) setOwn(settings, key, phpTrim(p.value as string));
  }
  const configDir = file === undefined ? opts.cwd : path.dirname(file);
  // Before anything uses them: a malformed number is an error naming it, not a silent default.
  checkNumericValues(opts.raw, settings);
  const cluster = readClusterSettings(settings);

  return deepFreeze({
    appRoot,
    configFile: file,
    db: dbSettings(pick, envs, file, looked),
    timezone: timezone(pick('timezone')),
    cron: {
      maxExecutionTime: nonNegativeInt('cron_max_execution_time', pick('cron_max_execution_time'), 600),
      taskMaxExecutionTime: nonNegativeInt('cron_task_max_execution_time', pick('cron_task_max_execution_time'), 0),
      sleep: nonNegativeInt('cron_sleep', pick('cron_sleep'), 2),
    },
    accessMode: settingInt(fileSettings, 'access_mode', 3),
    settings,
    moduleSettings,
    extensions: extensions(fileSettings, configDir, envs.extensions, opts.cwd),
    ownsRegistry: bool('itop_cron.owns_registry', pickFrom(undefined, 'ownRegistry', 'itop_cron.owns_registry')),
    log: logSettings(pickFrom, configDir, opts.cwd),
    ...(cluster !== undefined ? { cluster } : {}),
  });
}

/** Finds config-itop.php: `--config` > ITOP_CONFIG > `<itop_root>/conf/production/config-itop.php`. */
interface Located {
  readonly file: string | undefined;
  readonly appRoot: string | undefined;
  /** True when the file path was derived from the iTop root rather than named. */
  readonly derived: boolean;
  /** Where discovery looked when nothing named a file (src/config/discover.ts). */
  readonly looked?: readonly string[];
}

function locate(opts: LoadConfigOptions, envs: EnvSettings): Located {
  const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
  const rootGiven = nonEmpty(opts.itopRoot) ?? nonEmpty(getOwn(opts.raw, 'itop_root')) ?? envs.root;
  const root = rootGiven === undefined ? undefined : resolveParamPath(rootGiven, opts.cwd);
  const named = nonEmpty(opts.configPath) ?? nonEmpty(getOwn(opts.raw, 'config')) ?? envs.config;
  if (named !== undefined) {
    const file = resolveParamPath(named, opts.cwd);
    return { file, appRoot: root ?? rootOfConfig(file), derived: false };
  }
  if (root !== undefined) return { file: path.join(root, 'conf', 'production', 'config-itop.php'), appRoot: root, derived: true };
  // Nothing named: the working directory or its parent, where cron.php users stand.
  const found = discoverItopRoot(opts.cwd);
  if (found.root !== undefined) return { file: found.file, appRoot: found.root, derived: true };
  return { file: undefined, appRoot: undefined, derived: false, looked: found.looked };
}

/** `<root>/conf/production/config-itop.php` → `<root>`; any other location says nothing about the root. */
function rootOfConfig(file: string): string | undefined {
  const envDir = path.dirname(file);
  const confDir = path.dirname(envDir);
  return path.basename(envDir) === 'production' && path.basename(confDir) === 'conf' ? path.dirname(confDir) : undefined;
}

function readConfigText(file: string, derived: boolean): string {
  try {
    return readTrustedFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // An iTop root without its config file is an iTop that was never installed: cron.php's own words.
    if (derived && code === 'ENOENT') {
      throw new CronError('ENOTINSTALLED', 'iTop is not yet installed. Exiting...', EXIT_ERROR, { cause: e });
    }
    const reason = unreadableReason(e);
    throw new ConfigError(`Cannot read iTop configuration '${file}': ${reason}`, { cause: e });
  }
}

function dbSettings(pick: (key: LayeredKey) => Picked | undefined, envs: EnvSettings, file: string | undefined, looked: readonly string[] = []): Config['db'] {
  const str = (key: LayeredKey): string => phpString(pick(key)?.value);
  const name = str('db_name');
  if (name === '') {
    throw new ConfigError(
      file === undefined
        ? 'No iTop configuration found: set --config, ITOP_CONFIG or ITOP_ROOT (--itop_root), ' +
            'or give the database with ITOP_DB_NAME (and ITOP_DB_HOST, ITOP_DB_USER, ITOP_DB_PWD)' +
            (looked.length > 0 ? `; looked for ${looked.join(' and ')}` : '')
        : `Missing 'db_name' in ${file}: set it there or with ITOP_DB_NAME`,
    );
  }
  const hostPick = pick('db_host');
  const host = str('db_host') === '' ? 'localhost' : str('db_host');
  checkHost(host, hostPick?.source ?? '');
  const ca = str('db_tls.ca');
  return {
    host,
    user: str('db_user'),
    password: str('db_pwd'),
    name,
    prefix: str('db_subname'),
    tlsEnabled: bool('db_tls.enabled', pick('db_tls.enabled')),
    tlsCa: ca === '' ? undefined : ca,
    socketPath: envs.dbSocket ?? (describeDbHost(host).socket ? findDefaultSocket() : undefined),
  };
}

/** Refuses what iTop's split on `:` cannot mean: extra colons (IPv6 literals), empty or bad ports. */
function checkHost(host: string, source: string): void {
  const parts = host.split(':');
  if (parts.length > 1 && parts[0] === 'p') parts.shift();
  const port = parts[1];
  const portOk = port === undefined || (/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535);
  if (parts.length > 2 || parts[0] === '' || !portOk) {
    throw new ConfigError(
      `Invalid value for 'db_host' in ${source}: '${host}' (expected host, host:port, p:host or p:host:port)`,
    );
  }
}

function show(v: PhpValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** cron_* durations: a whole number of seconds, from a PHP int or a string of digits. */
function nonNegativeInt(key: string, p: Picked | undefined, def: number): number {
  if (p === undefined) return def;
  const v = typeof p.value === 'string' ? phpTrim(p.value) : p.value;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  throw new ConfigError(`Invalid value for '${key}' in ${p.source}: '${show(p.value)}' (expected a non-negative integer)`);
}

/**
 * A boolean setting. From config-itop.php it is PHP's `(bool)`; written as text (parameter or environment
 * variable) only the usual spellings are accepted, since `(bool)"false"` being true is a trap there.
 */
function bool(key: string, p: Picked | undefined): boolean {
  if (p === undefined) return false;
  if (!p.text) return phpBool(p.value);
  const v = phpTrim(String(p.value)).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  throw new ConfigError(`Invalid value for '${key}' in ${p.source}: '${show(p.value)}' (expected true or false)`);
}

/** `timezone`: default Europe/Paris; explicitly empty means PHP's own default, taken as UTC. */
function timezone(p: Picked | undefined): string {
  if (p === undefined) return 'Europe/Paris';
  const tz = phpString(p.value);
  if (tz === '') return 'UTC';
  try {
    if (!/^[A-Za-z]/.test(tz)) throw new RangeError('not a zone name');
    // Without building a formatter when the name is canonical (ICU data costs 8 MiB, see canonicalTimeZone).
    const canonical = canonicalTimeZone(tz);
    if (canonical === undefined) throw new RangeError('unknown zone');
    return canonical;
  } catch {
    throw new ConfigError(
      `Invalid value for 'timezone' in ${p.source}: '${tz}' (expected an IANA time zone such as 'Europe/Paris')`,
    );
  }
}

/**
 * Extension modules: setting `itop_cron.extensions` (array or comma list, paths relative to the config
 * file) then ITOP_CRON_EXTENSIONS (relative to cwd). Bare names are package specifiers and stay as they are.
 */
function extensions(settings: PhpArray, configDir: string, fromEnv: string | undefined, cwd: string): string[] {
  const split = (v: PhpValue | undefined): string[] =>
    Array.isArray(v) ? v.map(phpString) : v === undefined ? [] : phpString(v).split(',').map(phpTrim);
  const resolve = (spec: string, base: string): string =>
    /^\.\.?[\\/]/.test(spec) || path.isAbsolute(spec) || path.win32.isAbsolute(spec) ? resolveParamPath(spec, base) : spec;
  const all = [
    ...split(settingValue(settings, 'itop_cron.extensions')).filter((s) => s !== '').map((s) => resolve(s, configDir)),
    ...split(fromEnv).filter((s) => s !== '').map((s) => resolve(s, cwd)),
  ];
  return [...new Set(all)];
}

type PickFrom = (rawKey: string | undefined, envField: keyof EnvSettings | undefined, settingKey: string) => Picked | undefined;

/** The layering itself: a parameter, else an environment variable, else the config file (isset semantics). */
function sourcePicker(
  raw: Readonly<Record<string, string>>,
  envs: EnvSettings,
  settings: PhpArray,
  file: string | undefined,
): PickFrom {
  return (rawKey, envField, settingKey) => {
    const param = rawKey === undefined ? undefined : getOwn(raw, rawKey);
    if (param !== undefined) return { value: param, source: PARAMS_SOURCE, text: true };
    const env = envField === undefined ? undefined : envs[envField];
    if (envField !== undefined && env !== undefined) {
      return { value: env, source: `environment variable ${ENV_VARS[envField]}`, text: true };
    }
    const v = settingValue(settings, settingKey);
    return v === undefined ? undefined : { value: v, source: file ?? '', text: false };
  };
}

/**
 * Log destination and level: parameter `log_file`/`log_level` > ITOP_CRON_LOG[_LEVEL] > setting
 * `itop_cron.log_file`/`itop_cron.log_level` > stderr/info. A relative file is taken from cwd, or from
 * the config file's directory when the config file names it.
 */
function logSettings(pickFrom: PickFrom, configDir: string, cwd: string): LogSettings {
  const file = pickFrom('log_file', 'log', 'itop_cron.log_file');
  const dest = file === undefined ? '' : phpString(file.value);
  const levelPick = pickFrom('log_level', 'logLevel', 'itop_cron.log_level');
  const level = levelPick === undefined ? 'info' : phpString(levelPick.value).toLowerCase();
  if (!LOG_LEVELS.includes(level as LogSettings['level'])) {
    const expected = `expected one of ${LOG_LEVELS.join(', ')}`;
    throw new ConfigError(`Invalid value for 'log_level' in ${levelPick?.source ?? ''}: '${level}' (${expected})`);
  }
  return {
    destination: dest === '' || dest === 'stderr' ? 'stderr' : resolveParamPath(dest, file?.text === true ? cwd : configDir),
    level: level as LogSettings['level'],
  };
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const item of Object.values(v)) deepFreeze(item);
  }
  return v;
}
