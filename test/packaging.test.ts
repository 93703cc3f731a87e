/**
 * The npm package: what `npm pack` puts in it, that it installs globally and runs from any directory
 * (its SQL found next to its code, not in the working directory), and that the systemd examples verify.
 * The package is built from dist/: `npm test` builds it first (`npm run build`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, cliEnv, REPO, runCli, writeParamFile } from './helpers/cli.js';
import { createTestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const PKG = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

/** What may ship: compiled code and its types, the entry points, SQL, the template, docs, examples. */
const ALLOWED = [
  /^dist\/.+\.(js|d\.ts)$/,
  /^dist\/run\/itop-cron\.cjs$/,
  /^bin\/(itop-cron\.js|cron\.cmd)$/,
  /^sql\/.+\.sql$/,
  /^php\/bridge\.php$/,
  /^docs\/.+\.md$/,
  /^examples\/.+$/,
  /^(package\.json|cron\.distrib|README\.md|LICENSE)$/,
];
const REQUIRED = [
  'package.json', 'README.md', 'LICENSE', 'cron.distrib', 'bin/itop-cron.js', 'bin/cron.cmd', 'dist/index.js',
  'dist/cli/main.js', 'dist/run/itop-cron.cjs', 'dist/boot/codeCache.js', 'dist/cli/serveCommand.js', 'dist/http/server.js', 'sql/01-backgroundtask.sql', 'php/bridge.php', 'docs/migrating.md',
  'examples/systemd/itop-cron.service', 'examples/systemd/itop-cron.timer',
];

function requireBuild(): void {
  assert.ok(existsSync(join(REPO, 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build` first');
}

test('npm pack lists only the built code, bin/, sql/, the PHP bridge, cron.distrib, examples, README and LICENSE', async () => {
  requireBuild();
  // --ignore-scripts: the listing must not depend on a build of other people's work in progress; `prepare`
  // (checked below) is what builds dist/ for a real `npm pack`.
  const { stdout } = await run(NPM, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, maxBuffer: 8 << 20 });
  const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  const stray = files.filter((f) => !ALLOWED.some((re) => re.test(f)));
  assert.deepEqual(stray, [], 'files that do not belong in the package');
  for (const f of REQUIRED) assert.ok(files.includes(f), `${f} is in the package`);
  assert.match(PKG.scripts['prepare'] ?? '', /\bbuild\b/, 'prepare builds dist/ before npm pack');
  assert.equal(PKG.bin['itop-cron'], 'bin/itop-cron.js');
  accessSync(join(REPO, 'bin', 'itop-cron.js'), constants.X_OK);
  assert.match(readFileSync(join(REPO, 'bin', 'itop-cron.js'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
  assert.match(readFileSync(join(REPO, 'LICENSE'), 'utf8'), /AGPL-3\.0-or-later/);
});

test('npm ci is quiet: every install script of the dependencies is reviewed; esbuild works without its postinstall', async (t) => {
  const version = (await run(NPM, ['--version'])).stdout.trim().split('.').map(Number);
  if ((version[0] ?? 0) < 11 || ((version[0] ?? 0) === 11 && (version[1] ?? 0) < 16)) return t.skip(`npm ${version.join('.')} has no allowScripts`);
  const pending = JSON.parse((await run(NPM, ['install-scripts', 'ls', '--json'], { cwd: REPO })).stdout) as { allowScripts: unknown[] };
  assert.deepEqual(pending.allowScripts, [], 'no package whose install script npm ci would warn about');
  // Denied: its postinstall only links the platform binary (from the optional @esbuild/<platform> package) in
  // place of the JS launcher; the JS API that scripts/bundle.mjs uses finds that package by itself.
  assert.equal((PKG as { allowScripts?: Record<string, boolean> }).allowScripts?.['esbuild'], false);
  const { transform } = await import('esbuild');
  assert.equal((await transform('let a: number = 1', { loader: 'ts' })).code, 'let a = 1;\n');
});

/** npm's own words when the registry cannot be reached: then the install cannot be tested here. */
const OFFLINE = /ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ENETUNREACH|network/i;

test('the packed tarball installs globally and runs from any directory', { timeout: 300_000 }, async (t) => {
  requireBuild();
  const work = tempDir('itop-cron-pack-');
  // The README's way: `npm run pack` (scripts/pack.mjs), whose tarball has no install script.
  const packed = await run(process.execPath, [join(REPO, 'scripts', 'pack.mjs'), '--no-build', '--json', '--pack-destination', work], { cwd: REPO, maxBuffer: 8 << 20 });
  const tgz = join(work, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
  const manifest = JSON.parse((await run('tar', ['-xOzf', tgz, 'package/package.json'])).stdout) as { scripts: Record<string, string> };
  assert.deepEqual(Object.keys(manifest.scripts).filter((s) => /install|prepare/.test(s)), [], 'no install script in the tarball');
  const prefix = join(work, 'prefix');
  try {
    const installed = await run(NPM, ['install', '-g', '--prefix', prefix, tgz, '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: work, maxBuffer: 8 << 20, timeout: 240_000,
    });
    assert.doesNotMatch(installed.stdout + installed.stderr, /install-scripts|prepare/, 'npm says nothing about install scripts');
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    if (OFFLINE.test(err.stderr ?? '')) return t.skip(`the npm registry is unreachable: ${err.message}`);
    throw e;
  }
  const installed = join(prefix, process.platform === 'win32' ? 'itop-cron.cmd' : join('bin', 'itop-cron'));
  const elsewhere = tempDir('itop-cron-elsewhere-');
  const version = await run(installed, ['--version'], { cwd: elsewhere });
  assert.equal(version.stdout, `${PKG.version}\n`);
  const help = await run(installed, ['--help'], { cwd: elsewhere });
  assert.match(help.stdout, /\n {2}serve /);

  // init reads the package's sql/ files: found next to the installed code, not in the working directory.
  const db = await createTestDb(t, { schema: false });
  const params = writeParamFile('auth_user=admin\nauth_pwd=Pack.Test-123\n');
  const env = { ...process.env, ...cliEnv(db), ITOP_CRON_LOG_LEVEL: 'silent' } as NodeJS.ProcessEnv;
  const init = await run(installed, ['init', `--param_file=${params}`], { cwd: elsewhere, env });
  assert.match(init.stdout, /^Initialised database /);
  const status = await run(installed, [`--param_file=${params}`, '--status_only=1'], { cwd: elsewhere, env });
  assert.match(status.stdout, /\| Task Class /);
});

test('the systemd unit and timer pass systemd-analyze verify', async (t) => {
  const found = await run('systemd-analyze', ['--version']).then(() => true, () => false);
  if (!found) return t.skip('systemd-analyze is not installed here');
  const dir = tempDir('itop-cron-systemd-');
  const src = join(REPO, 'examples', 'systemd');
  const service = readFileSync(join(src, 'itop-cron.service'), 'utf8');
  assert.match(service, /^ExecStart=\/usr\/local\/bin\/itop-cron --param_file=\/etc\/itop\/cron\.params$/m);
  assert.match(service, /^User=www-data$/m);
  assert.match(service, /^Type=oneshot$/m);
  // verify checks that ExecStart's program exists: point it at this checkout's executable.
  writeFileSync(join(dir, 'itop-cron.service'), service.replace('/usr/local/bin/itop-cron', BIN));
  copyFileSync(join(src, 'itop-cron.timer'), join(dir, 'itop-cron.timer'));
  assert.match(readFileSync(join(dir, 'itop-cron.timer'), 'utf8'), /^OnCalendar=\*:0\/5$/m);
  const r = await run('systemd-analyze', ['verify', join(dir, 'itop-cron.service'), join(dir, 'itop-cron.timer')]).then(
    (ok) => ({ code: 0, stderr: ok.stderr }),
    (e: { code?: number; stderr?: string }) => ({ code: e.code ?? 1, stderr: e.stderr ?? '' }),
  );
  const ours = r.stderr.split('\n').filter((l) => l.includes('itop-cron'));
  assert.deepEqual(ours, [], 'no warning about our units');
  assert.equal(r.code, 0, r.stderr);
  const calendar = await run('systemd-analyze', ['calendar', '*:0/5']);
  assert.match(calendar.stdout, /Normalized form: \*-\*-\* \*:00\/5:00/);
});

test('itop-cron serve --help prints its usage', async () => {
  requireBuild();
  const r = await runCli(['serve', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: itop-cron serve /);
});
