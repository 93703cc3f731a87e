#!/usr/bin/env node
/**
 * Bundles the command line (src/cli/main.ts) into dist/bundle/, which bin/itop-cron.js runs for
 * `--status_only=1` only, and `--version`/`--help` (src/cli/quick.ts) into the single file
 * dist/quick/quick.js; dist/ from tsc stays the library that every other run, extensions and tests load.
 *
 * Why: `--status_only` is called by monitoring every minute, and most of its time was Node resolving,
 * reading and compiling some 150 modules (ours and mysql2's). One file per lazily loaded part (code
 * splitting) keeps what `--status_only` never runs (the tasks, nodemailer, tar, the web mode) out of its
 * way. bench/RESULTS.md has the figures.
 *
 * Left outside the bundle, loaded from node_modules when first needed: pino (a healthy `--status_only`
 * logs nothing), dotenv (only when a .env exists) and the bcrypt modules (one of them native); all are
 * required through createRequire, which esbuild does not follow.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // mysql2 and the other CommonJS dependencies call require() for Node's modules.
  banner: { js: "import { createRequire as __itopCronRequire } from 'node:module'; const require = __itopCronRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});

// `--version` and `--help`: one file, no chunk to resolve (each one costs a bare `node` start a few %).
const quickDir = join(root, 'dist', 'quick');
rmSync(quickDir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { quick: 'src/cli/quick.ts' },
  outdir: quickDir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
});
