/**
 * The typed, frozen configuration of one itop-cron invocation. Built once at start-up by
 * `loadConfig` (src/config/load.ts) from, most specific first: command line, parameter file(s),
 * environment / .env, iTop's config-itop.php, iTop's defaults.
 */

/** A value as PHP's var_export writes it: lists become arrays, other arrays plain objects (key order kept). */
export type PhpValue = string | number | boolean | null | PhpValue[] | { [key: string]: PhpValue };
export type PhpArray = { [key: string]: PhpValue };

/** The cron.php parameters, after parameter files and command line are merged. */
export interface RunOptions {
  /** `auth_user`, trimmed; undefined when missing (cron.php prints the usage block). */
  readonly authUser: string | undefined;
  /** `auth_pwd`, trimmed; undefined when missing. */
  readonly authPwd: string | undefined;
  readonly verbose: boolean;
  readonly debug: boolean;
  readonly statusOnly: boolean;
  /** The parameter files that were read, in order (absolute paths). */
  readonly paramFiles: readonly string[];
  /** True when the password came from the command line (visible in the process list). */
  readonly passwordOnCommandLine: boolean;
  /** Every key/value read from parameter files and `--key=value` arguments (last one wins), for extra settings. */
  readonly raw: Readonly<Record<string, string>>;
}

export interface DbSettings {
  /** `db_host` as written in the config: `host`, `host:port`, `p:host[:port]`, `localhost` = Unix socket. */
  readonly host: string;
  readonly user: string;
  readonly password: string;
  readonly name: string;
  /** `db_subname`: the table prefix, prepended to every table name. */
  readonly prefix: string;
  readonly tlsEnabled: boolean;
  readonly tlsCa: string | undefined;
  /** Unix socket path used when the host is `localhost` without a port. */
  readonly socketPath: string | undefined;
}

export interface CronSettings {
  /** `cron_max_execution_time` (s), default 600. */
  readonly maxExecutionTime: number;
  /** `cron_task_max_execution_time` (multiplied by a task's periodicity), default 0 = unlimited. */
  readonly taskMaxExecutionTime: number;
  /** `cron_sleep` (s), default 2. */
  readonly sleep: number;
}

export interface LogSettings {
  /** `stderr` or a file path. */
  readonly destination: string;
  readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface Config {
  /** iTop root directory (holds data/.maintenance, log/, data/backups); undefined for a database-only install. */
  readonly appRoot: string | undefined;
  /** The config-itop.php that was read, if any. */
  readonly configFile: string | undefined;
  readonly db: DbSettings;
  /** iTop's `timezone` (IANA name), default `Europe/Paris`; every DATETIME read or written is in it. */
  readonly timezone: string;
  readonly cron: CronSettings;
  /** `access_mode`: cron needs bit 2 (ACCESS_ADMIN_WRITE). */
  readonly accessMode: number;
  /** `$MySettings` as read (values trimmed), for task-specific settings; read them through src/config/php.ts helpers. */
  readonly settings: Readonly<PhpArray>;
  /** `$MyModuleSettings`: module name → settings. */
  readonly moduleSettings: Readonly<Record<string, PhpArray>>;
  /** JavaScript modules that add tasks (setting `itop_cron.extensions`, env ITOP_CRON_EXTENSIONS, comma-separated). */
  readonly extensions: readonly string[];
  /** When true, rows of classes no loaded task implements are flipped to `removed` (cron.php's behaviour). */
  readonly ownsRegistry: boolean;
  /** Cluster mode (`itop_cron.cluster`, src/config/cluster.ts); absent when off, cron.php's behaviour. */
  readonly cluster?: ClusterSettings;
  readonly log: LogSettings;
}

/** Cluster mode's timing (src/config/cluster.ts), in seconds. */
export interface ClusterSettings {
  /** How often the heartbeat and the held leases are renewed. */
  readonly renewSeconds: number;
  /** How long a lease lives without renewal. */
  readonly ttlSeconds: number;
}
