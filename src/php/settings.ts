/**
 * The PHP bridge's settings: whether it may run, which PHP, which classes go to PHP although itop-cron
 * implements them natively, and when a worker is recycled. Read from the command line / parameter files
 * (`php_bin`), `$MySettings` (`itop_cron.*`) and the environment (`ITOP_CRON_PHP_BIN`).
 */
import { existsSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve, win32 } from 'node:path';
import { getOwn, phpString, settingBool, settingInt, settingString } from '../config/php.js';
import type { Config, PhpValue } from '../config/types.js';

export interface BridgeSettings {
  /** `itop_cron.php_bridge` (default true): false turns the bridge off. */
  readonly enabled: boolean;
  /** What was asked for: `--php_bin`, `itop_cron.php_bin`, `ITOP_CRON_PHP_BIN`, else `php`. */
  readonly phpBin: string;
  /** Classes that run through PHP even though itop-cron has a native implementation (`itop_cron.php_tasks`). */
  readonly forcedClasses: ReadonlySet<string>;
  /** Resident memory (bytes) past which a worker is replaced between tasks (`itop_cron.php_memory_cap_mb`, 512). */
  readonly memoryCapBytes: number;
  /** `itop_cron.php_opcache` (default true): a file opcache under the iTop root's data/ for a faster bootstrap. */
  readonly opcache: boolean;
}

/** A list setting: a PHP array of names, or a comma-separated string. */
function nameList(v: PhpValue | undefined): string[] {
  if (v === undefined || v === null) return [];
  const items = typeof v === 'object' ? Object.values(v).map((x) => phpString(x)) : phpString(v).split(',');
  return items.map((s) => s.trim().replace(/^\\/, '')).filter((s) => s !== '');
}

export function bridgeSettings(config: Config, params: Readonly<Record<string, string>>): BridgeSettings {
  const phpBin = params['php_bin'] ?? process.env['ITOP_CRON_PHP_BIN'] ?? settingString(config.settings, 'itop_cron.php_bin', 'php');
  const capMb = settingInt(config.settings, 'itop_cron.php_memory_cap_mb', 512);
  return {
    enabled: settingBool(config.settings, 'itop_cron.php_bridge', true),
    phpBin: phpBin.trim() === '' ? 'php' : phpBin.trim(),
    forcedClasses: new Set(nameList(getOwn(config.settings, 'itop_cron.php_tasks'))),
    memoryCapBytes: (capMb > 0 ? capMb : 512) * 1024 * 1024,
    opcache: settingBool(config.settings, 'itop_cron.php_opcache', true),
  };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * The PHP executable, found once: a path (`/usr/bin/php8.2`, `C:\php\php.exe`) is taken as it is, a bare
 * name is looked up on PATH (with PATHEXT on Windows). Undefined when there is none.
 */
export function findPhp(bin: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  const windows = platform === 'win32';
  const looksLikePath = bin.includes('/') || (windows && (bin.includes('\\') || win32.isAbsolute(bin)));
  if (looksLikePath) {
    const p = windows ? win32.resolve(bin) : resolve(bin);
    return isFile(p) ? p : undefined;
  }
  const exts = windows ? ['', ...(env['PATHEXT'] ?? '.EXE;.BAT;.CMD').split(';').filter((e) => e !== '')] : [''];
  for (const dir of (env['PATH'] ?? env['Path'] ?? '').split(windows ? ';' : delimiter)) {
    if (dir === '') continue;
    for (const ext of exts) {
      const candidate = windows ? win32.join(dir, bin + ext) : join(dir, bin);
      if (isFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/** An iTop root with PHP sources: a database-only install (no root, or a root without code) has none. */
export function hasItopSources(appRoot: string | undefined): appRoot is string {
  if (appRoot === undefined || !isAbsolute(resolve(appRoot))) return false;
  return existsSync(join(appRoot, 'approot.inc.php')) && existsSync(join(appRoot, 'application', 'startup.inc.php'));
}
