/**
 * Windows paths on any OS (tested on Linux): a parameter file, a config file, a log file or an extension
 * named `C:\...`, `C:/...` or `\\server\share\...` is absolute and never looked up under the working
 * directory; bin/cron.cmd passes such a path, and the README's schtasks line schedules it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveRunOptions } from '../src/config/argv.js';
import { loadConfig } from '../src/config/load.js';
import { readParamFiles, resolveParamPath } from '../src/config/paramFile.js';
import { CronError } from '../src/errors.js';
import { REPO } from './helpers/cli.js';
import { tempDir } from './helpers/tempDir.js';

const CWD = '/srv/cwd';
const DB_ENV = { ITOP_DB_NAME: 'itop', ITOP_DB_HOST: '127.0.0.1' };

test('Windows absolute paths are kept as given; relative ones are resolved against the working directory', () => {
  for (const p of ['C:\\itop\\cron.params', 'c:\\itop\\cron.params', 'C:/itop/cron.params', '\\\\server\\share\\cron.params', 'D:\\']) {
    assert.equal(resolveParamPath(p, CWD), p);
  }
  assert.equal(resolveParamPath('cron.params', CWD), '/srv/cwd/cron.params');
  assert.equal(resolveParamPath('conf\\cron.params', CWD), '/srv/cwd/conf\\cron.params');
  // A drive letter without a separator is relative to that drive's current directory on Windows: not absolute.
  assert.equal(resolveParamPath('C:cron.params', CWD), '/srv/cwd/C:cron.params');
});

test('a missing Windows parameter file is reported with its own path, not one under the working directory', () => {
  const cwd = tempDir('itop-cron-win-');
  assert.throws(
    () => readParamFiles('C:\\itop-cron\\cron.params', cwd),
    (e: unknown) => e instanceof CronError && e.code === 'EPARAMFILE' && e.message === "Could not find the parameter file: 'C:\\itop-cron\\cron.params'",
  );
  // A list of Windows paths splits on commas only (a drive colon is not a separator).
  assert.throws(() => readParamFiles(' C:\\a.params , D:\\b.params', cwd), /'C:\\a\.params'/);
});

test("a file that would exist under the working directory is not used for a Windows path (it is someone else's)", () => {
  const cwd = tempDir('itop-cron-win-');
  // On Linux `C:\x.params` is a legal file name: were the path resolved against cwd, this file would be read.
  writeFileSync(join(cwd, 'C:\\x.params'), 'auth_user=wrong\n');
  assert.throws(() => readParamFiles('C:\\x.params', cwd), /Could not find the parameter file: 'C:\\x\.params'/);
});

/** The arguments bin/cron.cmd gives, as Windows' command-line parsing hands them to node (quotes removed). */
function cronCmdArguments(cronPath: string): string[] {
  const script = readFileSync(join(REPO, 'bin', 'cron.cmd'), 'utf8');
  const line = script.split('\r\n').find((l) => /^\s*call itop-cron /.test(l));
  assert.ok(line !== undefined, 'cron.cmd calls itop-cron');
  const args = line.replace(/^\s*call itop-cron /, '').replace(/ %\* >>.*$/, '');
  return args.split(' ').map((a) => a.replace(/%CRON_PATH%/g, cronPath).replace(/"/g, ''));
}

test('bin/cron.cmd: CRLF lines, cron.params next to it, verbose, appended log, exit code passed on', () => {
  const script = readFileSync(join(REPO, 'bin', 'cron.cmd'), 'utf8');
  assert.ok(!/[^\r]\n/.test(script), 'every line ends with CRLF (cmd.exe misreads labels and blocks otherwise)');
  assert.match(script, /^@echo off\r\n/);
  assert.match(script, /set "CRON_PATH=%~dp0"/);
  assert.match(script, /--param_file="%CRON_PATH%cron\.params" --verbose=1 %\* >> "%CRON_LOG_DIR%\\cron\.log" 2>&1/);
  assert.match(script, /set "CRON_LOG_DIR=%CRON_PATH%\.\.\\log"/);
  // itop-cron installed by npm is itop-cron.cmd: without CALL the script would never come back.
  assert.match(script, /\r\n\s+call itop-cron /);
  assert.match(script, /\r\nexit \/b %ERRORLEVEL%\r\n$/);
  assert.deepEqual(cronCmdArguments('C:\\itop-cron\\'), ['--param_file=C:\\itop-cron\\cron.params', '--verbose=1']);
});

test("cron.cmd's arguments read the parameter file at its Windows path, whatever the working directory", () => {
  const argv = cronCmdArguments('C:\\Program Files\\itop-cron\\');
  assert.throws(
    () => resolveRunOptions(argv, 'C:\\Windows\\System32'),
    (e: unknown) => e instanceof Error && e.message === "Could not find the parameter file: 'C:\\Program Files\\itop-cron\\cron.params'",
  );
});

test('config, log file and extensions given as Windows paths stay as given', () => {
  const cwd = tempDir('itop-cron-win-');
  const config = loadConfig({
    raw: { log_file: 'C:\\itop\\log\\itop-cron.log' },
    env: { ...DB_ENV, ITOP_CRON_EXTENSIONS: 'C:\\itop-cron\\tasks.mjs,\\\\srv\\share\\more.mjs' },
    cwd,
  });
  assert.equal(config.log.destination, 'C:\\itop\\log\\itop-cron.log');
  assert.deepEqual(config.extensions, ['C:\\itop-cron\\tasks.mjs', '\\\\srv\\share\\more.mjs']);
  const relative = loadConfig({ raw: { log_file: 'log\\itop-cron.log' }, env: DB_ENV, cwd });
  assert.equal(relative.log.destination, join(cwd, 'log\\itop-cron.log'));

  const file = 'C:\\inetpub\\itop\\conf\\production\\config-itop.php';
  assert.throws(
    () => loadConfig({ raw: { config: file }, env: {}, cwd }),
    (e: unknown) => e instanceof Error && e.message === `Cannot read iTop configuration '${file}': no such file`,
  );
});

test('an iTop root given as a Windows path is not looked up under the working directory', () => {
  const cwd = tempDir('itop-cron-win-');
  // A decoy: a complete iTop configuration at <cwd>/C:\itop/conf/production/config-itop.php.
  mkdirSync(join(cwd, 'C:\\itop', 'conf', 'production'), { recursive: true });
  writeFileSync(join(cwd, 'C:\\itop', 'conf', 'production', 'config-itop.php'), "<?php\n$MySettings = array('db_name' => 'decoy');\n");
  assert.throws(
    () => loadConfig({ raw: { itop_root: 'C:\\itop' }, env: {}, cwd }),
    (e: unknown) => e instanceof CronError && e.code === 'ENOTINSTALLED',
  );
  // The decoy is a valid configuration, so the assertion above would fail if the path were joined to cwd.
  assert.equal(loadConfig({ raw: { itop_root: join(cwd, 'C:\\itop') }, env: {}, cwd: '/' }).db.name, 'decoy');
});

test("the README's schtasks line runs cron.cmd every 5 minutes", () => {
  const readme = readFileSync(join(REPO, 'docs', 'scheduling.md'), 'utf8');
  const line = readme.split('\n').find((l) => /^\s*schtasks(\.exe)? \/create /i.test(l));
  assert.ok(line !== undefined, 'docs/scheduling.md has a schtasks /create line');
  assert.match(line, /\/sc minute \/mo 5 /);
  assert.match(line, /\/tr "[A-Z]:\\[^"]*\\cron\.cmd"/);
  assert.match(line, /\/ru /);
});
