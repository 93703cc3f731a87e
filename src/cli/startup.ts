import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TextSink } from '../output/stdout.js';
import { EXIT_ERROR, EXIT_OK } from '../errors.js';

/**
 * cron.php's early flag gates, checked on the iTop root before anything else:
 * maintenance flag (message without newline, exit 0), read-only flag (255). The "not installed" gate is
 * loadConfig's (a missing config-itop.php under the root). Returns the exit code when a gate stops the run.
 */
export function flagGates(appRoot: string | undefined, out: TextSink): number | undefined {
  if (appRoot === undefined) return undefined;
  if (existsSync(join(appRoot, 'data', '.maintenance'))) {
    out.raw('This application is currently under maintenance.');
    return EXIT_OK;
  }
  if (existsSync(join(appRoot, 'data', '.readonly'))) {
    out.line('iTop is read-only. Exiting...');
    return EXIT_ERROR;
  }
  return undefined;
}
