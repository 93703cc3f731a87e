/**
 * iTop's BackupExec: on the weekly schedule of the `itop-backup` module, dumps the
 * database with the real mysqldump and archives it with the configuration as
 * `<backup dir><name>.tar.gz`, keeping `retention_count` backups. Beyond cron.php: the backup lock is
 * awaited only until the task's deadline, the archive appears under its final name only when complete,
 * the work folder and the password file are removed in every case, and the prefix is matched literally.
 */
import { randomBytes } from 'node:crypto';
import { symlinkOnPath } from '../fs/linkGuard.js';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { phpInt, phpString, settingString } from '../config/php.js';
import type { Config } from '../config/types.js';
import { describeDbHost } from '../config/load.js';
import { unreadableReason } from '../config/safeRead.js';
import { assertTrustedPath } from '../config/trust.js';
import { lockName, NamedLock } from '../db/lock.js';
import { coerceError, ProcessFatalError } from '../errors.js';
import { publishArchive, varExportList, writeTarGz } from './backup/archive.js';
import { backupName } from './backup/fileName.js';
import { mysqldumpCommand, prefixedTables, runMysqldump, writeDefaultsFile, type DumpResult } from './backup/mysqldump.js';
import { copyResources } from './backup/resources.js';
import { BACKUP_EXEC_SCHEDULE, backupSetting } from './backup/settings.js';
import { applyRetention, removeStaleWork, WORK_PREFIX } from './backup/retention.js';
import type { BackgroundTask, TaskContext } from './types.js';

/**
 * The backup directory, with a trailing separator: setting `itop_cron.backup_dir` (relative to the iTop
 * root, or to the working directory without one), else `<iTop root>/data/backups/auto/`.
 */
export function backupDirectory(config: Config): string {
  const configured = settingString(config.settings, 'itop_cron.backup_dir', '');
  if (configured !== '') return `${resolve(config.appRoot ?? '.', configured).replace(/\/+$/, '')}/`;
  if (config.appRoot === undefined) {
    throw new ProcessFatalError(
      "No backup directory: set 'itop_cron.backup_dir' in the configuration, or give the iTop root (--itop_root)",
    );
  }
  return `${join(config.appRoot, 'data', 'backups', 'auto')}/`;
}

/** Progress as iTop's scheduled backup reports it: echoed on stdout and logged. */
function reporter(ctx: TaskContext): { info: (m: string) => void; error: (m: string) => void } {
  return {
    info: (m) => {
      ctx.print(m);
      ctx.log.info(m);
    },
    error: (m) => {
      ctx.log.error(m);
      ctx.print(`Error: ${m}`);
    },
  };
}

/**
 * Takes the `backup.production` lock (the one of iTop's manual backup, restore and upgrade), waiting at
 * most until the task's deadline instead of forever.
 */
async function takeBackupLock(ctx: TaskContext): Promise<NamedLock> {
  const { db } = ctx.config;
  const lock = await NamedLock.open(db, lockName('backup.production', db.name, db.prefix));
  try {
    for (;;) {
      const remaining = ctx.deadline - Date.now();
      if (await lock.acquire(Math.max(0, Math.min(5, Math.floor(remaining / 1000))))) return lock;
      if (remaining <= 1000 || ctx.signal.aborted) break;
    }
  } catch (e) {
    await lock.close();
    throw e;
  }
  await lock.close();
  throw new ProcessFatalError(
    'Another backup, restore or upgrade holds the backup lock: no backup this time (the next one is on schedule)',
  );
}

/** The one-line reason of a failed mysqldump: its only line, else its last error line. */
function dumpFailure(result: DumpResult): string {
  if (result.spawnError !== undefined) {
    return `cannot run it (${result.spawnError.code ?? result.spawnError.message}): install the MariaDB/MySQL client or set the 'mysql_bindir' setting of itop-backup (or --mysql_bindir)`;
  }
  if (result.code === null) return 'interrupted';
  const lines = result.lines.map((l) => l.trim());
  if (lines.length === 1) return lines[0] ?? '';
  const errorLine = [...lines].reverse().find((l) => /error|denied|unknown|cannot|can't|got errno/i.test(l));
  return errorLine ?? lines[lines.length - 1] ?? `exit code ${result.code}`;
}

/**
 * As root, a `mysql_bindir` program that another user can write (or replace) would run that user's code
 * as root: refused as the configuration files are (src/config/trust.ts). A missing one is left to spawn's error.
 */
function refuseUntrustedProgram(program: string): void {
  try {
    assertTrustedPath(program);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'EUNTRUSTED') throw new ProcessFatalError(`Failed to execute mysqldump: '${program}' ${unreadableReason(e)}`);
  }
}

/** Dumps the database into `<work>/itop-dump.sql`. */
async function dumpDatabase(ctx: TaskContext, work: string, say: ReturnType<typeof reporter>): Promise<void> {
  const { db } = ctx.config;
  const version = (await ctx.db.query<{ v: string }>('SELECT VERSION() AS v'))[0]?.v ?? '';
  let tables: string[] = [];
  if (db.prefix !== '') {
    tables = await prefixedTables(ctx.db, db.prefix);
    if (tables.length === 0) throw new ProcessFatalError('No table has been found with the given prefix');
  }
  const host = describeDbHost(db.host).host;
  say.info(`Starting backup of ${host}/${db.name}(suffix:'${db.prefix}')`);
  const bindir = ctx.params['mysql_bindir'] ?? phpString(backupSetting(ctx.config, 'mysql_bindir'));
  const defaults = await writeDefaultsFile(db.password);
  try {
    const cmd = mysqldumpCommand({
      db, bindir, defaultsFile: defaults.path, resultFile: join(work, 'itop-dump.sql'), tables, serverVersion: version,
    });
    say.info(`backup: generate data file with command: ${cmd.display}`);
    if (bindir !== '') refuseUntrustedProgram(cmd.program);
    const result = await runMysqldump(cmd, ctx.signal);
    if (result.code === 0) {
      for (const line of result.lines) say.info(`mysqldump said: ${line}`);
      return;
    }
    say.error(`Failed to execute: ${cmd.display}. The command returned:${result.code ?? result.spawnError?.code ?? 'killed'}`);
    for (const line of result.lines) say.error(`mysqldump said: ${line}`);
    throw new ProcessFatalError(`Failed to execute mysqldump: ${dumpFailure(result)}`);
  } finally {
    await defaults.dispose();
  }
}

/** A file-system failure of the backup as one line naming the path. */
function fsFailure(what: string, e: unknown): ProcessFatalError {
  const err = coerceError(e) as NodeJS.ErrnoException;
  return new ProcessFatalError(`${what}: ${err.code ?? err.message}${err.path === undefined ? '' : ` (${err.path})`}`, { cause: e });
}

/**
 * Creates the backup directory. A recursive mkdir reports ENOENT for a read-only parent, so on failure a
 * plain mkdir is tried too, for the real reason (EROFS, EACCES, ENOSPC).
 */
async function makeDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    const direct = await mkdir(dir).then(() => undefined, (e2: unknown) => e2);
    if (direct === undefined) return;
    const code = (direct as NodeJS.ErrnoException).code;
    throw fsFailure('Cannot create the backup directory', code !== undefined && code !== 'ENOENT' ? direct : e);
  }
}

/** Dump, resources and archive in a private work folder of `dir`; the archive is renamed in place at the end. */
async function createBackup(ctx: TaskContext, dir: string, name: string): Promise<void> {
  const say = reporter(ctx);
  const target = `${dir}${name}.tar.gz`;
  say.info(`Creating backup: '${target}'`);
  const work = `${dir}${WORK_PREFIX}${randomBytes(6).toString('hex')}`;
  try {
    say.info(`backup: creating tmp dir '${work}'`);
    await mkdir(work, { mode: 0o700 }).catch((e: unknown) => {
      throw fsFailure('Cannot create the backup work folder', e);
    });
    const entries = await copyResources(
      { configFile: ctx.config.configFile ?? itopConfigFile(ctx.config), appRoot: ctx.config.appRoot, extraFiles: backupSetting(ctx.config, 'extra_files') },
      work,
      say.info,
    ).catch((e: unknown) => {
      throw e instanceof Error && e.message.startsWith('Backup: Aborting') ? e : fsFailure('Cannot copy the files to back up', e);
    });
    await dumpDatabase(ctx, work, say);
    entries.push('itop-dump.sql');
    say.info(`backup: adding to archive files '${varExportList(entries.map((e) => join(work, e)))}'`);
    const partial = join(work, '.itop-cron-archive.tar.gz.part');
    try {
      await writeTarGz(work, entries, partial);
      if (ctx.signal.aborted) throw new Error('interrupted');
      await publishArchive(partial, target);
    } catch (e) {
      say.error('Cannot backup : unable to create archive');
      throw fsFailure('Cannot backup : unable to create archive', e);
    }
    say.info(`backup: removing tmp folder '${work}'`);
  } finally {
    await rm(work, { recursive: true, force: true }).catch((e: unknown) => ctx.log.error({ err: coerceError(e).message, work }, 'backup: cannot remove the work folder'));
  }
}

/** `<iTop root>/conf/production/config-itop.php`, the file iTop's backup embeds. */
function itopConfigFile(config: Config): string | undefined {
  return config.appRoot === undefined ? undefined : join(config.appRoot, 'conf', 'production', 'config-itop.php');
}

/**
 * Removes the work folders of killed backups and applies the retention, unless the way to the backup
 * directory goes through a symbolic link: deleting through it would delete files of another tree.
 */
async function cleanUp(ctx: TaskContext, dir: string): Promise<void> {
  const link = await symlinkOnPath(ctx.config.appRoot, dir);
  if (link !== undefined) {
    ctx.log.warn(
      { dir, link },
      `backup: '${link}' is a symbolic link: no old backup is deleted through it (set itop_cron.backup_dir to the real directory)`,
    );
    return;
  }
  for (const stale of await removeStaleWork(dir)) ctx.log.warn({ dir, stale }, 'backup: removed the work folder of an interrupted backup');
  const retention = phpInt(backupSetting(ctx.config, 'retention_count'));
  const deleted = await applyRetention(dir, retention, (path, e) => ctx.log.error({ path, err: e.message }, 'backup: cannot delete an old backup'));
  if (deleted.length > 0) ctx.log.info({ deleted }, 'backup: retention applied');
}

/** iTop's BackupExec: a weekly-scheduled backup of the database and the configuration. */
export const backupExec: BackgroundTask = {
  ...BACKUP_EXEC_SCHEDULE,
  async process(ctx) {
    const dir = backupDirectory(ctx.config);
    const lock = await takeBackupLock(ctx);
    try {
      await makeDirectory(dir);
      await cleanUp(ctx, dir);
      const { db } = ctx.config;
      const format = phpString(backupSetting(ctx.config, 'file_name_format'));
      const name = backupName(format, { host: describeDbHost(db.host).host, dbName: db.name, prefix: db.prefix }, ctx.clock.nowMs(), ctx.config.timezone);
      if (name === undefined) throw new ProcessFatalError(`The backup file name format '${format}' does not give a file name (no '/' allowed)`);
      await createBackup(ctx, dir, name);
      return `Created the backup: ${dir}${name}`;
    } finally {
      await lock.close();
    }
  },
};
