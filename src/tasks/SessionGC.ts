/**
 * iTop's SessionGC: every minute, deletes the PHP session files
 * `<iTop root>/data/sessions/session_*` not modified for PHP's `session.gc_maxlifetime` (1440 s by
 * default; setting `itop_cron.session_gc_maxlifetime` here, since there is no php.ini to read).
 */
import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { symlinkOnPath } from '../fs/linkGuard.js';
import { join } from 'node:path';
import { settingInt } from '../config/php.js';
import type { BackgroundTask } from './types.js';

/** PHP's default `session.gc_maxlifetime`. */
export const DEFAULT_SESSION_MAX_LIFETIME = 1440;

/** iTop's SessionGC: `processed <n> tasks`, n being the files deleted. */
export const sessionGC: BackgroundTask = {
  className: 'Combodo\\iTop\\SessionTracker\\SessionGC',
  periodicity: () => 60,
  async process(ctx) {
    const appRoot = ctx.config.appRoot;
    if (appRoot === undefined) return 'processed 0 tasks';
    const dir = join(appRoot, 'data', 'sessions');
    await mkdir(dir, { recursive: true });
    const link = await symlinkOnPath(appRoot, dir);
    if (link !== undefined) {
      ctx.log.warn({ dir, link }, `SessionGC: '${link}' is a symbolic link: no session file is deleted through it`);
      return 'processed 0 tasks';
    }
    const maxAgeMs = settingInt(ctx.config.settings, 'itop_cron.session_gc_maxlifetime', DEFAULT_SESSION_MAX_LIFETIME) * 1000;
    const now = ctx.clock.nowMs();
    let processed = 0;
    for (const name of await readdir(dir)) {
      if (Date.now() >= ctx.deadline || ctx.signal.aborted) break;
      if (!name.startsWith('session_')) continue;
      const path = join(dir, name);
      const s = await stat(path).catch(() => undefined);
      if (s === undefined || !s.isFile() || now - s.mtimeMs <= maxAgeMs) continue;
      try {
        await unlink(path);
        processed++;
      } catch (e) {
        ctx.log.warn({ file: path, err: (e as Error).message }, 'SessionGC: cannot delete a session file');
      }
    }
    return `processed ${processed} tasks`;
  },
};
