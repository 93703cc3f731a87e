#!/usr/bin/env node
/**
 * Bundles the command line (src/cli/main.ts) into the single CommonJS file dist/run/itop-cron.cjs, which
 * bin/itop-cron.js runs through src/boot/codeCache.ts (a V8 code cache beside it), and `--version`/`--help`
 * (src/cli/quick.ts) into dist/quick/quick.js; dist/ from tsc stays the library that extensions and
 * tests load.
 *
 * Why: a cron run lives seconds, and most of its start went to resolving, reading and compiling some 150
 * modules (ours and mysql2's). One script is one file to read and one code cache, which Node 20 can only
 * give a CommonJS script (bench/RESULTS.md has the figures).
 *
 * Left outside the bundle, loaded from node_modules when first needed, so that a run keeps in memory only
 * the source it may run: nodemailer (a mail to send), tar (a backup), prom-client and OpenTelemetry (the
 * metrics of `serve`), and what src/ requires through createRequire, which esbuild does not follow:
 * dotenv (a .env) and the bcrypt modules (one of them native). pino is bundled (bundledPino below).
 * Whitespace and syntax are minified (the source stays in memory as long as the run), names are kept.
 */
import { readFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'run');

/**
 * pino is loaded on the first log line through createRequire (src/output/logger.ts), which esbuild does not
 * follow: in the bundle that call becomes a require() it does follow, still called on the first line, so
 * that pino's code is in the bundle and its code cache too.
 */
const PINO_REQUIRE = "createRequire(import.meta.url)('pino')";
const bundledPino = {
  name: 'bundled-pino',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]output[\\/]logger\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(PINO_REQUIRE)) throw new Error(`${args.path} no longer loads pino with ${PINO_REQUIRE}: update scripts/bundle.mjs`);
      return { contents: source.replace(PINO_REQUIRE, "require('pino')"), loader: 'ts' };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
rmSync(join(root, 'dist', 'bundle'), { recursive: true, force: true }); // the ES-module bundle of earlier builds
await build({
  absWorkingDir: root,
  entryPoints: { 'itop-cron': 'src/cli/main.ts' },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['nodemailer', 'tar', 'prom-client', '@opentelemetry/api'],
  plugins: [bundledPino],
  // CommonJS has no import.meta: its url is the bundle's own (src/packageRoot.ts walks up from it), and
  // import.meta.resolve() is used only from sources (src/scheduler/isolated.ts, under tsx).
  define: { 'import.meta': '__itopCronImportMeta' },
  banner: { js: "const __itopCronImportMeta = { url: require('node:url').pathToFileURL(__filename).href };" },
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
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
