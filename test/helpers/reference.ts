/**
 * The real iTop 3.2 reference material (dumps, DDL, outputs) shipped beside the repository in
 * shared/reference/itop-3.2. Tests that need it skip when it is absent, since the project must also build
 * and test without it.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The `reference/itop-3.2` folder: env ITOP_REFERENCE_DIR, else `<repo>/../shared/reference/itop-3.2`,
 * else `/work/shared/reference/itop-3.2`; undefined when none exists.
 */
export function referenceDir(): string | undefined {
  const candidates = [
    process.env['ITOP_REFERENCE_DIR'],
    join(repoRoot, '..', 'shared', 'reference', 'itop-3.2'),
    '/work/shared/reference/itop-3.2',
  ];
  for (const dir of candidates) {
    if (dir !== undefined && dir !== '' && existsSync(join(dir, 'fresh-install.sql'))) return dir;
  }
  return undefined;
}

/** The message a test gives `t.skip()` when the reference folder is missing. */
export const NO_REFERENCE = 'reference/itop-3.2 not found (set ITOP_REFERENCE_DIR)';
