/**
 * iTop's LogFileRotationProcess: at the start of each day, week or month (per
 * `log_filename_builder_impl`), renames iTop's main log files of an earlier period to
 * `<base>.<suffix>.<ext>`, then purges old log files when `log_purge.enabled`. iTop rotates inline too
 * whenever it writes a log; this task is the backstop. Without an iTop root there is nothing to do.
 */
import { readdir, rename, stat, unlink } from 'node:fs/promises';
import { symlinkOnPath } from '../fs/linkGuard.js';
import { extname, join } from 'node:path';
import { settingBool, settingInt, settingString } from '../config/php.js';
import type { Config } from '../config/types.js';
import { lockName, NamedLock } from '../db/lock.js';
import {
  DEFAULT_LOG_FILENAME_BUILDER,
  isRotatingBuilder,
  logRotationNextOccurrence,
  logRotationSuffix,
} from '../scheduler/logRotationSchedule.js';
import type { BackgroundTask, TaskContext } from './types.js';

/** The files iTop rotates from cron (its LOGFILES_TO_ROTATE). */
export const LOG_FILES_TO_ROTATE = ['setup.log', 'error.log', 'tools.log', 'itop-fence.log'] as const;

/** Extensions of the files the purge considers. */
const PURGED_EXTENSIONS = new Set(['log', 'sql', 'xml']);
const DAY_MS = 86_400_000;

function builderOf(config: Config): string {
  return settingString(config.settings, 'log_filename_builder_impl', DEFAULT_LOG_FILENAME_BUILDER);
}

/** `error.log` + `2024-month10` → `error.2024-month10.log`. */
export function rotatedName(fileName: string, suffix: string): string {
  const ext = extname(fileName);
  return `${fileName.slice(0, fileName.length - ext.length)}.${suffix}${ext}`;
}

/**
 * Runs `fn` holding iTop's `log_rotation_<path>` lock (the one iTop takes when it rotates a file inline),
 * waiting until the deadline at most; false when the lock could not be taken.
 */
async function withRotationLock(ctx: TaskContext, lockPath: string, fn: () => Promise<void>): Promise<boolean> {
  const { db } = ctx.config;
  const lock = await NamedLock.open(db, lockName(`log_rotation_${lockPath}`, db.name, db.prefix));
  try {
    const wait = Math.max(0, Math.min(30, Math.floor((ctx.deadline - Date.now()) / 1000)));
    if (!(await lock.acquire(wait))) return false;
    await fn();
    return true;
  } finally {
    await lock.close();
  }
}

/** Rotates one file when its mtime lies in an earlier period than now; returns the new name if renamed. */
async function rotateFile(ctx: TaskContext, appRoot: string, fileName: string, builder: string): Promise<string | undefined> {
  const path = join(appRoot, 'log', fileName);
  const tz = ctx.config.timezone;
  const current = logRotationSuffix(builder, ctx.clock.nowMs(), tz);
  const due = async (): Promise<string | undefined> => {
    const s = await stat(path).catch(() => undefined);
    if (s === undefined || !s.isFile()) return undefined;
    const suffix = logRotationSuffix(builder, s.mtimeMs, tz);
    return suffix === undefined || suffix === current ? undefined : suffix;
  };
  if ((await due()) === undefined) return undefined;
  // iTop builds the path as APPROOT . '/log/' . name, APPROOT ending with '/': the lock name keeps that form.
  const lockPath = `${appRoot.replace(/\/+$/, '')}//log/${fileName}`;
  let renamed: string | undefined;
  const locked = await withRotationLock(ctx, lockPath, async () => {
    const suffix = await due(); // again under the lock: iTop may have rotated it meanwhile
    if (suffix === undefined) return;
    const target = join(appRoot, 'log', rotatedName(fileName, suffix));
    if (await stat(target).then(() => true, () => false)) {
      ctx.log.warn({ file: path, target }, 'log rotation: the rotated file already exists; left as is');
      return;
    }
    await rename(path, target);
    renamed = target;
  });
  if (!locked) ctx.log.warn({ file: path }, 'log rotation: lock busy, file left for the next rotation');
  return renamed;
}

/** Deletes `log/*.{log,sql,xml}` files last modified more than `maxKeepDays` whole days ago. */
async function purgeLogs(ctx: TaskContext, appRoot: string, maxKeepDays: number): Promise<string[]> {
  const dir = join(appRoot, 'log');
  const link = await symlinkOnPath(appRoot, dir);
  if (link !== undefined) {
    ctx.log.warn({ dir, link }, `log purge: '${link}' is a symbolic link: no file is deleted through it`);
    return [];
  }
  const now = ctx.clock.nowMs();
  const deleted: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!PURGED_EXTENSIONS.has(extname(name).slice(1))) continue;
    const path = join(dir, name);
    const s = await stat(path).catch(() => undefined);
    if (s === undefined || !s.isFile() || Math.floor((now - s.mtimeMs) / DAY_MS) <= maxKeepDays) continue;
    try {
      await unlink(path);
      deleted.push(path);
    } catch (e) {
      ctx.log.error({ file: path, err: (e as Error).message }, 'log purge: cannot delete');
    }
  }
  return deleted;
}

/** iTop's LogFileRotationProcess: scheduled at the start of the next day, week or month; returns nothing. */
export const logFileRotationProcess: BackgroundTask = {
  className: 'LogFileRotationProcess',
  nextOccurrence: (config, nowMs) => logRotationNextOccurrence(builderOf(config), nowMs, config.timezone),
  async process(ctx) {
    const builder = builderOf(ctx.config);
    if (!isRotatingBuilder(builder)) {
      throw new Error(`LogFileRotationProcess : The configured filename builder is invalid (log_filename_builder_impl="${builder}")`);
    }
    const appRoot = ctx.config.appRoot;
    if (appRoot === undefined) {
      ctx.log.debug('log rotation: no iTop root, no log files to rotate');
      return undefined;
    }
    for (const file of LOG_FILES_TO_ROTATE) {
      const target = await rotateFile(ctx, appRoot, file, builder);
      if (target !== undefined) ctx.log.info({ file, target }, 'log file rotated');
    }
    if (settingBool(ctx.config.settings, 'log_purge.enabled', false)) {
      const deleted = await purgeLogs(ctx, appRoot, settingInt(ctx.config.settings, 'log_purge.max_keep_days', 365));
      if (deleted.length > 0) ctx.log.info({ deleted }, 'old log files purged');
    }
    return undefined;
  },
};
