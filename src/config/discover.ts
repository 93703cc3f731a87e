/**
 * Finding the iTop root when neither `--config`, `--itop_root` nor their variables name one: cron.php
 * users run it from the iTop root (`php webservices/cron.php`) or from `webservices/` itself, so those are
 * where itop-cron looks, the working directory first, then its parent. Only a directory holding
 * `conf/production/config-itop.php` counts: an unrelated parent never turns a database-only set-up
 * (ITOP_DB_*) into a "not installed" iTop.
 */
import { statSync } from 'node:fs';
import path from 'node:path';

/** Where an iTop root keeps its configuration, relative to the root. */
export const CONFIG_IN_ROOT = path.join('conf', 'production', 'config-itop.php');

export interface Discovery {
  /** The iTop root found and its config file, or undefined. */
  readonly root: string | undefined;
  readonly file: string | undefined;
  /** The config files looked for, in order (for the error when nothing was found). */
  readonly looked: readonly string[];
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The working directory, then its parent (`webservices/`, `log/`...): the first that is an iTop root. */
export function discoverItopRoot(cwd: string): Discovery {
  const dir = path.resolve(cwd);
  const candidates = [...new Set([dir, path.dirname(dir)])];
  const looked: string[] = [];
  for (const root of candidates) {
    const file = path.join(root, CONFIG_IN_ROOT);
    looked.push(file);
    if (isFile(file)) return { root, file, looked };
  }
  return { root: undefined, file: undefined, looked };
}
