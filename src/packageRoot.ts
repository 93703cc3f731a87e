/**
 * The folder of itop-cron's package.json and sql/, found by walking up from this module: it runs from
 * src/ under tsx, from dist/ as a library and from dist/run/ as the command line, so no fixed depth
 * is assumed.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'sql'))) return (root = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`itop-cron's package folder (package.json and sql/) was not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
