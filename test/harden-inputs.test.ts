/**
 * Files named by the user that are not regular files, or far too big (issue 16 item 7): a FIFO blocks
 * open() for good (a run that never ends and ignores SIGTERM), /dev/zero reads until memory runs out.
 * Each is refused at once with one line and the configuration exit code (254).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliEnv, makeItopRoot, runCli, writeParamFile } from './helpers/cli.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const fifo = (dir: string, name: string): string => {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
};

/** A run that must end quickly (a hang is killed after 15 s and fails the test). */
async function refused(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  const started = Date.now();
  const r = await runCli(args, { ...opts, timeoutMs: 15_000 });
  assert.equal(r.signal, null, `hung (killed after ${Date.now() - started} ms): ${args.join(' ')}`);
  assert.equal(r.code, 254, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout.split('\n').length, 2, `one line: ${r.stdout}`);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
  return r.stdout;
}

test('a FIFO, a device or a huge file as --param_file or --config is refused at once', { skip: process.platform === 'win32' }, async () => {
  const dir = tempDir('itop-cron-inputs-');
  const pipe = fifo(dir, 'p.params');
  const big = join(dir, 'big.params');
  writeFileSync(big, '');
  truncateSync(big, 5 * 1024 * 1024);
  assert.equal(await refused([`--param_file=${pipe}`]), `Error: Could not load parameter file: '${pipe}' (not a regular file)\n`);
  assert.equal(await refused(['--param_file=/dev/zero']), "Error: Could not load parameter file: '/dev/zero' (not a regular file)\n");
  assert.equal(await refused([`--param_file=${big}`]), `Error: Could not load parameter file: '${big}' (larger than 4 MiB)\n`);
  const conf = fifo(dir, 'config-itop.php');
  assert.equal(await refused([`--config=${conf}`]), `Error: Cannot read iTop configuration '${conf}': not a regular file\n`);
  assert.equal(await refused(['--config=/dev/zero']), "Error: Cannot read iTop configuration '/dev/zero': not a regular file\n");
  assert.equal(await refused([`--config=${big}`]), `Error: Cannot read iTop configuration '${big}': larger than 4 MiB\n`);
  // config= inside a parameter file, and the default ./cron.params of the working directory
  const viaParams = writeParamFile(`config=${conf}\n`);
  assert.equal(await refused([`--param_file=${viaParams}`]), `Error: Cannot read iTop configuration '${conf}': not a regular file\n`);
  const cwd = tempDir('itop-cron-cwd-');
  const defaultParams = fifo(cwd, 'cron.params');
  assert.equal(await refused([], { cwd }), `Error: Could not load parameter file: '${defaultParams}' (not a regular file)\n`);
});

test('a FIFO as .env or as the database CA file is refused at once', { skip: process.platform === 'win32' }, async () => {
  const cwd = tempDir('itop-cron-cwd-');
  fifo(cwd, '.env');
  // No --config: with an explicit configuration the working directory's .env is not read at all (harden-cwd.test.ts).
  assert.equal(await refused([], { cwd }), `Error: Cannot read '${join(cwd, '.env')}': not a regular file\n`);
  const dir = tempDir('itop-cron-inputs-');
  const ca = fifo(dir, 'ca.pem');
  const root = tempDir('itop-root-');
  const file = join(root, 'config-itop.php');
  writeFileSync(
    file,
    `<?php\n$MySettings = array('db_host' => '127.0.0.1:1', 'db_user' => 'u', 'db_pwd' => 'p', 'db_name' => 'x', 'db_tls.enabled' => true, 'db_tls.ca' => '${ca}');\n`,
  );
  assert.equal(await refused([`--config=${file}`]), `Cannot read the database CA file 'db_tls.ca' = '${ca}': not a regular file\n`);
});

test('a FIFO or a device named as an extension module is refused at once', { skip: process.platform === 'win32' }, async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: 'Ext.Pa55word', admin: true });
  const params = writeParamFile('auth_user=admin\nauth_pwd=Ext.Pa55word\n');
  const root = makeItopRoot(db);
  const dir = tempDir('itop-cron-inputs-');
  const ext = fifo(dir, 'ext.mjs');
  for (const module of [ext, '/dev/zero']) {
    const out = await refused([`--itop_root=${root}`, `--param_file=${params}`], { env: cliEnv(db, { ITOP_CRON_EXTENSIONS: module }) as Record<string, string> });
    assert.equal(out, `Cannot load the extension module '${module}': not a regular file\n`);
  }
});
