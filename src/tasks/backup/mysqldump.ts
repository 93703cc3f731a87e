/**
 * The mysqldump run of a backup: iTop's options in iTop's order, the
 * password in a 0600 option file (never on argv, never printed), the tables of the prefix, and the
 * command line as iTop prints it (`--user=xxxxx`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDbHost } from '../../config/load.js';
import type { DbSettings } from '../../config/types.js';
import type { Db } from '../../db/types.js';
import { DUMP_DIR_PREFIX } from './leftovers.js';

/** PHP's escapeshellarg() on Unix: single quotes, each `'` written `'\''`. For the printed command only. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** "x.y.z" at the start of a server version string, as numbers. */
function versionParts(version: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m === null ? [0, 0, 0] : [Number(m[1]), Number(m[2]), Number(m[3])];
}

function versionBelow(version: string, min: readonly [number, number, number]): boolean {
  const [a, b, c] = versionParts(version);
  if (a !== min[0]) return a < min[0];
  if (b !== min[1]) return b < min[1];
  return c < min[2];
}

/** Only MySQL ≥ 5.7.11 replaced `--ssl` by `--ssl-mode`; MariaDB clients still take `--ssl`. */
function usesSslMode(serverVersion: string): boolean {
  return !/mariadb/i.test(serverVersion) && !versionBelow(serverVersion, [5, 7, 11]);
}

/** What the command is built from. */
export interface DumpOptions {
  readonly db: DbSettings;
  /** `mysql_bindir`: empty for `mysqldump` from PATH. */
  readonly bindir: string;
  readonly defaultsFile: string;
  readonly resultFile: string;
  /** Tables to dump (a prefixed install); empty for the whole database. */
  readonly tables: readonly string[];
  /** `SELECT VERSION()`: picks the charset and the TLS options as iTop does. */
  readonly serverVersion: string;
}

/** The program, its arguments, and the line iTop prints for it. */
export interface DumpCommand {
  readonly program: string;
  readonly args: readonly string[];
  readonly display: string;
  /** The password file; its folder is removed by the guard if this process dies (dumpGuard.ts). */
  readonly defaultsFile: string;
}

/** One option as a [real argument, displayed text] pair. */
type Opt = [string, string];
const opt = (name: string, value: string): Opt => [`--${name}=${value}`, `--${name}=${shellQuote(value)}`];

/** Port and transport: nothing for the Unix socket, `--protocol=tcp` for localhost with a port. */
function portOptions(db: DbSettings): Opt[] {
  const where = describeDbHost(db.host);
  if (where.host.toLowerCase() === 'localhost') {
    if (where.port === undefined) {
      // iTop relies on the client's default socket; a socket named in our configuration is passed on.
      return db.socketPath === undefined ? [] : [opt('socket', db.socketPath)];
    }
    return [opt('port', String(where.port)), ['--protocol=tcp', '--protocol=tcp']];
  }
  return [opt('port', String(where.port ?? 3306))];
}

function tlsOptions(db: DbSettings, serverVersion: string): Opt[] {
  if (!db.tlsEnabled) return [];
  const ca = db.tlsCa ?? '';
  const mode: Opt = usesSslMode(serverVersion)
    ? [`--ssl-mode=${ca === '' ? 'REQUIRED' : 'VERIFY_CA'}`, `--ssl-mode=${ca === '' ? 'REQUIRED' : 'VERIFY_CA'}`]
    : ['--ssl', '--ssl'];
  return ca === '' ? [mode] : [mode, opt('ssl-ca', ca)];
}

/** The mysqldump command and iTop's displayed line. */
export function mysqldumpCommand(o: DumpOptions): DumpCommand {
  const program = o.bindir === '' ? 'mysqldump' : join(o.bindir, 'mysqldump');
  const charset = versionBelow(o.serverVersion, [5, 5, 33]) ? 'utf8' : 'utf8mb4';
  const host = describeDbHost(o.db.host).host;
  const fixed = ['--opt', '--skip-lock-tables', `--default-character-set=${charset}`, '--add-drop-database', '--single-transaction'];
  const port = portOptions(o.db);
  const tls = tlsOptions(o.db, o.serverVersion);
  const args = [
    `--defaults-extra-file=${o.defaultsFile}`, ...fixed, `--host=${host}`, ...port.map((p) => p[0]),
    `--user=${o.db.user}`, ...tls.map((t) => t[0]), `--result-file=${o.resultFile}`, o.db.name, ...o.tables,
  ];
  // iTop's template, spaces included: option groups start with a space and may be empty.
  const group = (opts: readonly Opt[]): string => opts.map((o) => ` ${o[1]}`).join('');
  const display =
    `${o.bindir === '' ? program : `"${program}"`} --defaults-extra-file="${o.defaultsFile}" ${fixed.join(' ')} ` +
    `--host=${shellQuote(host)} ${group(port)} --user=xxxxx ${group(tls)} --result-file=${shellQuote(o.resultFile)} ` +
    `${shellQuote(o.db.name)} ${o.tables.map(shellQuote).join(' ')}`;
  return { program, args, display, defaultsFile: o.defaultsFile };
}

/**
 * A value for a MySQL option file: double-quoted, with the escapes the client's option parser reads
 * (`\\`, `\"`, `\n`, `\r`, `\t`), so that `#`, `;`, quotes and spaces in a password survive.
 */
export function optionFileValue(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return `"${escaped}"`;
}

/** A private option file holding the password; `dispose()` removes it (call it in every case). */
export interface DefaultsFile {
  readonly path: string;
  dispose(): Promise<void>;
}

/**
 * Writes `[mysqldump] password=...` to a fresh 0700 directory of the system temp dir, mode 0600. The
 * directory is named `itop-cron-mysqldump-<our pid>-XXXXXX`, so that a run finding one of a dead process can
 * remove it (leftovers.ts).
 */
export async function writeDefaultsFile(password: string): Promise<DefaultsFile> {
  const dir = await mkdtemp(join(tmpdir(), `${DUMP_DIR_PREFIX}${process.pid}-`));
  const path = join(dir, 'my.cnf');
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await writeFile(path, `[mysqldump]\npassword=${optionFileValue(password)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    await dispose();
    throw e;
  }
  return { path, dispose };
}

/** `SHOW TABLES LIKE '<prefix>%'` with `\`, `%` and `_` of the prefix escaped, so `_` is not a wildcard. */
export async function prefixedTables(db: Db, prefix: string): Promise<string[]> {
  const pattern = `${prefix.replace(/[\\%_]/g, '\\$&')}%`;
  const rows = await db.query<Record<string, unknown>>('SHOW TABLES LIKE ?', [pattern]);
  return rows.map((r) => String(Object.values(r)[0]));
}

/** How a mysqldump run ended: its exit code (null when killed) and its output lines (stdout and stderr). */
export interface DumpResult {
  readonly code: number | null;
  readonly lines: string[];
  /** Set when the program could not be started (ENOENT, EACCES). */
  readonly spawnError?: NodeJS.ErrnoException;
}

export { runMysqldump } from './dumpGuard.js';
