#!/usr/bin/env node
/**
 * `npm run pack`: the package's tarball, built from a copy of what `npm pack` would ship, whose package.json
 * has no install-time script. Why: `prepare` (which builds dist/ at `npm ci` in a checkout, so that
 * `npm ci && npx itop-cron demo` works) is an install script of a tarball too, and npm 11 warns about it at
 * `npm install -g ./itop-cron-<version>.tgz` although the tarball holds dist/ already.
 *
 * Options: --pack-destination <dir> (default: the working directory), --no-build (dist/ is built already),
 * --json (print npm pack's JSON).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const destIndex = args.indexOf('--pack-destination');
const destination = resolve(destIndex >= 0 ? (args[destIndex + 1] ?? '.') : '.');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npmJson = (argv, cwd) => JSON.parse(execFileSync(npm, argv, { cwd, encoding: 'utf8', maxBuffer: 8 << 20, shell: process.platform === 'win32' }));

/** Run when the package is installed from a tarball or a directory: none of them is needed once dist/ is built. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare'];

if (!args.includes('--no-build')) execFileSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
const files = npmJson(['pack', '--dry-run', '--json', '--ignore-scripts'], root)[0].files.map((f) => f.path);
const staging = mkdtempSync(join(tmpdir(), 'itop-cron-pack-'));
try {
  for (const f of files) {
    mkdirSync(dirname(join(staging, f)), { recursive: true });
    copyFileSync(join(root, f), join(staging, f));
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  for (const s of INSTALL_SCRIPTS) delete pkg.scripts?.[s];
  writeFileSync(join(staging, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  mkdirSync(destination, { recursive: true });
  const packed = npmJson(['pack', staging, '--json', '--ignore-scripts', '--pack-destination', destination], root);
  process.stdout.write(args.includes('--json') ? `${JSON.stringify(packed, null, 2)}\n` : `${join(destination, packed[0].filename)}\n`);
} finally {
  rmSync(staging, { recursive: true, force: true });
}
