#!/usr/bin/env node
/**
 * Bundles the command line (src/cli/main.ts) and the task worker into dist/bundle/, which bin/itop-cron.js
 * runs; dist/ from tsc stays the library that extensions and tests import.
 *
 * Why: `--status_only` is called by monitoring every minute, and most of its time was Node resolving,
 * reading and compiling some 150 modules (ours and mysql2's). One file per lazily loaded part (code
 * splitting) keeps what `--status_only` never runs (the tasks, nodemailer, tar, the web mode) out of its
 * way. bench/RESULTS.md has the figures.
 *
 * Left outside the bundle, loaded from node_modules when first needed: pino (a healthy `--status_only`
 * logs nothing) and dotenv (only when a .env exists); both are required through createRequire, which
 * esbuild does not follow.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');

/**
 * JSON files (iconv-lite's code pages, ~0.5 MB, required by mysql2 only for those encodings) as a string
 * given to JSON.parse: V8 skims a string literal far faster than it parses the same data as an object
 * literal, and every start pays that parse.
 */
const jsonAsString = {
  name: 'json-as-string',
  setup(b) {
    b.onLoad({ filter: /\.json$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const text = JSON.stringify(JSON.parse(await readFile(args.path, 'utf8')));
      return { contents: `module.exports = JSON.parse(${JSON.stringify(text)});`, loader: 'js' };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts', taskWorker: 'src/scheduler/taskWorker.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Every file in one folder: the code that starts the worker finds taskWorker.js next to itself,
  // whichever chunk it lands in.
  chunkNames: 'chunk-[hash]',
  // mysql2 and the other CommonJS dependencies call require() for Node's modules.
  banner: { js: "import { createRequire as __itopCronRequire } from 'node:module'; const require = __itopCronRequire(import.meta.url);" },
  plugins: [jsonAsString],
  logLevel: 'warning',
  legalComments: 'none',
});
