/**
 * Files that decide what runs, as root (issue 16 item 11): a `.env` in the working directory naming
 * ITOP_CRON_EXTENSIONS ran that module as root, even with an explicit --param_file; a `./cron.params`
 * naming `config=` likewise. As root, a file another user can write (or replace) is refused with one line
 * and exit 254, as sshd and sudo refuse theirs; `.env` is not read at all when the configuration is given.
 * The CLI tests need root (the test runner here is root); the rule for other users is the unit test.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load.js';
import { readTrustedFile, untrustedDirReason, untrustedFileReason } from '../src/config/trust.js';
import { openDb } from '../src/db/connect.js';
import { ProcessFatalError } from '../src/errors.js';
import { backupExec } from '../src/tasks/BackupExec.js';
import type { TaskContext } from '../src/tasks/types.js';
import { createClock } from '../src/time/clock.js';
import { cliEnv, makeItopRoot, runCli, writeParamFile } from './helpers/cli.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const PWD = 'Cwd.Pa55word';
const NOBODY = 65534;
const AS_ROOT = process.geteuid?.() === 0;
const rootOnly = { skip: AS_ROOT ? false : 'the rule applies to root only: run the tests as root (the unit test covers other users)' };

/** A module that leaves `<its dir>/<name>.ran` when it is imported, and exports a valid task. */
function evilModule(dir: string, name = 'evil'): { module: string; ran: string } {
  const module = join(dir, `${name}.mjs`);
  const ran = join(dir, `${name}.ran`);
  writeFileSync(
    module,
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(ran)}, 'ran as ' + process.geteuid());\n` +
      `export default { className: 'EvilTask', periodicity: () => 3600, process: async () => 'done' };\n`,
  );
  chmodSync(module, 0o644);
  return { module, ran };
}

async function setup(t: Parameters<typeof createTestDb>[0]): Promise<{ db: TestDb; params: string; root: string }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  return { db, params: writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`), root: makeItopRoot(db, { cron_max_execution_time: 1 }) };
}

/** A run refused at once: exit 254, one line, no stack trace; returns that line. */
async function refused(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<string> {
  const r = await runCli(args, { ...opts, timeoutMs: 30_000 });
  assert.equal(r.code, 254, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout.split('\n').length, 2, `one line: ${r.stdout}`);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
  return r.stdout;
}

const AS_ROOT_SUFFIX = 'refused when running as root';

test('the rule: root trusts only files of root that root alone can write; other users are not affected', () => {
  const f = (uid: number, mode: number): { uid: number; mode: number } => ({ uid, mode: 0o100000 | mode });
  assert.equal(untrustedFileReason(f(0, 0o600), 0), undefined);
  assert.equal(untrustedFileReason(f(0, 0o644), 0), undefined);
  assert.equal(untrustedFileReason(f(NOBODY, 0o600), 0), 'owned by uid 65534, not by root');
  assert.equal(untrustedFileReason(f(0, 0o666), 0), 'writable by other users (mode 0666)');
  assert.equal(untrustedFileReason(f(0, 0o664), 0), 'writable by its group (mode 0664)');
  const d = (mode: number): { uid: number; mode: number } => ({ uid: 0, mode: 0o040000 | mode });
  assert.equal(untrustedDirReason('/x', d(0o777), 0), "in '/x', which other users can write to (mode 0777, no sticky bit)");
  assert.equal(untrustedDirReason('/tmp', d(0o1777), 0), undefined, '/tmp: the sticky bit keeps others from replacing the file');
  assert.equal(untrustedDirReason('/x', d(0o775), 0), undefined);
  // Any other user: nothing is refused (it can only do what it could do anyway).
  for (const euid of [1000, NOBODY, undefined]) {
    assert.equal(untrustedFileReason(f(NOBODY, 0o666), euid), undefined);
    assert.equal(untrustedFileReason(f(1234, 0o622), euid), undefined);
    assert.equal(untrustedDirReason('/x', d(0o777), euid), undefined);
  }
  // A real file of another owner, writable by all, in a directory anyone may write: read for uid 1000.
  const dir = tempDir('itop-cron-trust-');
  chmodSync(dir, 0o777);
  const file = join(dir, 'cron.params');
  writeFileSync(file, 'auth_user=x\n');
  chmodSync(file, 0o666);
  if (AS_ROOT) chownSync(file, NOBODY, NOBODY);
  assert.equal(readTrustedFile(file, undefined, 1000), 'auth_user=x\n');
  if (AS_ROOT) {
    assert.throws(() => readTrustedFile(file, undefined, 0), { code: 'EUNTRUSTED', message: `owned by uid 65534, not by root; ${AS_ROOT_SUFFIX}` });
    // Root's file, 0600, in a directory of root: read. Through a link in a directory anyone can write
    // (the link could be swapped): refused, although the file it points to is fine.
    const safe = join(tempDir('itop-cron-trust-'), 'cron.params');
    writeFileSync(safe, 'auth_user=root\n', { mode: 0o600 });
    assert.equal(readTrustedFile(safe, undefined, 0), 'auth_user=root\n');
    const link = join(dir, 'link.params');
    symlinkSync(safe, link);
    assert.throws(() => readTrustedFile(link, undefined, 0), {
      code: 'EUNTRUSTED',
      message: `in '${dir}', which other users can write to (mode 0777, no sticky bit); ${AS_ROOT_SUFFIX}`,
    });
  }
});

test('.env is not read when the configuration is given (--param_file, --config, --itop_root)', rootOnly, async (t) => {
  const { db, params, root } = await setup(t);
  const cwd = tempDir('itop-cron-cwd-');
  const { module, ran } = evilModule(tempDir('itop-cron-evil-'));
  // Even a .env of root, mode 0600: an explicit configuration ignores the working directory.
  writeFileSync(join(cwd, '.env'), `ITOP_CRON_EXTENSIONS=${module}\nITOP_CRON_SLEEP=bogus\n`);
  chmodSync(join(cwd, '.env'), 0o600);
  const r = await runCli([`--itop_root=${root}`, `--param_file=${params}`], { cwd, env: cliEnv(db), timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^Starting: .+\nExiting: .+\n$/);
  assert.equal(existsSync(ran), false, 'the module named by ./.env did not run');
  for (const args of [[`--param_file=${params}`], [`--itop_root=${root}`]]) {
    const s = await runCli([...args, '--status_only=1'], { cwd, env: cliEnv(db, { ITOP_CRON_AUTH_USER: 'admin', ITOP_CRON_AUTH_PWD: PWD }), timeoutMs: 30_000 });
    assert.equal(s.code, 0, `${args.join(' ')}: ${s.stdout}${s.stderr}`);
  }
  // Without any of them, the .env is read: its bad value is reported.
  const bare = await refused([], { cwd, env: cliEnv(db) });
  assert.match(bare, /^Error: Invalid value for .cron_sleep. in environment variable ITOP_CRON_SLEEP: .bogus./);
});

test('as root, a ./cron.params, a --param_file or a .env that another user can write is refused', rootOnly, async (t) => {
  const { db, root } = await setup(t);
  const other = makeItopRoot(db);
  for (const [label, prepare, reason] of [
    ['owned by nobody', (f: string) => chownSync(f, NOBODY, NOBODY), 'owned by uid 65534, not by root'],
    ['mode 0666', (f: string) => chmodSync(f, 0o666), 'writable by other users (mode 0666)'],
    ['mode 0620', (f: string) => chmodSync(f, 0o620), 'writable by its group (mode 0620)'],
  ] as const) {
    const cwd = tempDir('itop-cron-cwd-');
    const file = join(cwd, 'cron.params');
    writeFileSync(file, `auth_user=admin\nauth_pwd=${PWD}\nconfig=${join(other, 'conf', 'production', 'config-itop.php')}\n`, { mode: 0o600 });
    prepare(file);
    const expected = `Error: Could not load parameter file: '${file}' (${reason}; ${AS_ROOT_SUFFIX})\n`;
    assert.equal(await refused(['--status_only=1'], { cwd, env: cliEnv(db) }), expected, `./cron.params ${label}`);
    assert.equal(await refused([`--param_file=${file}`, `--itop_root=${root}`]), expected, `--param_file ${label}`);
    const envDir = tempDir('itop-cron-cwd-');
    const env = join(envDir, '.env');
    writeFileSync(env, 'ITOP_CRON_LOG_LEVEL=info\n', { mode: 0o600 });
    prepare(env);
    assert.equal(await refused(['--status_only=1'], { cwd: envDir, env: cliEnv(db) }), `Error: Cannot read '${env}': ${reason}; ${AS_ROOT_SUFFIX}\n`, `.env ${label}`);
  }
  // The same files, root's and mode 0600 (or 0644), are read as before.
  const cwd = tempDir('itop-cron-cwd-');
  writeFileSync(join(cwd, 'cron.params'), `auth_user=admin\nauth_pwd=${PWD}\nitop_root=${root}\n`, { mode: 0o600 });
  writeFileSync(join(cwd, '.env'), 'ITOP_CRON_LOG_LEVEL=info\n', { mode: 0o644 });
  const ok = await runCli(['--status_only=1'], { cwd, env: cliEnv(db), timeoutMs: 30_000 });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^\+-+/);
});

test('as root, a config-itop.php or a database CA file that another user can write is refused', rootOnly, async (t) => {
  const { db, params } = await setup(t);
  const root = makeItopRoot(db);
  const config = join(root, 'conf', 'production', 'config-itop.php');
  chmodSync(config, 0o666);
  assert.equal(
    await refused([`--config=${config}`, `--param_file=${params}`]),
    `Error: Cannot read iTop configuration '${config}': writable by other users (mode 0666); ${AS_ROOT_SUFFIX}\n`,
  );
  // Found through the iTop root, or by discovery from the working directory: the same.
  chmodSync(config, 0o600);
  chownSync(config, NOBODY, NOBODY);
  const why = `Error: Cannot read iTop configuration '${config}': owned by uid 65534, not by root; ${AS_ROOT_SUFFIX}\n`;
  assert.equal(await refused([`--itop_root=${root}`, `--param_file=${params}`]), why);
  assert.equal(await refused([`--param_file=${params}`], { cwd: root }), why);
  chownSync(config, 0, 0);
  const ok = await runCli([`--itop_root=${root}`, `--param_file=${params}`, '--status_only=1'], { timeoutMs: 30_000 });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);

  const ca = join(tempDir('itop-cron-ca-'), 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n', { mode: 0o644 });
  chownSync(ca, NOBODY, NOBODY);
  const tls = join(tempDir('itop-root-'), 'config-itop.php');
  writeFileSync(tls, `<?php\n$MySettings = array('db_host' => '127.0.0.1:1', 'db_user' => 'u', 'db_pwd' => 'p', 'db_name' => 'x', 'db_tls.enabled' => true, 'db_tls.ca' => '${ca}');\n`);
  assert.equal(
    await refused([`--config=${tls}`, `--param_file=${params}`]),
    `Cannot read the database CA file 'db_tls.ca' = '${ca}': owned by uid 65534, not by root; ${AS_ROOT_SUFFIX}\n`,
  );
});

test('as root, an extension module that another user can write or replace is not imported', rootOnly, async (t) => {
  const { db, params, root } = await setup(t);
  const run = (module: string): Promise<Awaited<ReturnType<typeof runCli>>> =>
    runCli([`--itop_root=${root}`, `--param_file=${params}`], { env: cliEnv(db, { ITOP_CRON_EXTENSIONS: module }), timeoutMs: 30_000 });
  const owned = evilModule(tempDir('itop-cron-ext-'), 'owned');
  chownSync(owned.module, NOBODY, NOBODY);
  const writable = evilModule(tempDir('itop-cron-ext-'), 'writable');
  chmodSync(writable.module, 0o666);
  const openDir = join(tempDir('itop-cron-ext-'), 'open');
  mkdirSync(openDir);
  chmodSync(openDir, 0o777);
  const inOpenDir = evilModule(openDir, 'inopen');
  for (const [m, reason] of [
    [owned, 'owned by uid 65534, not by root'],
    [writable, 'writable by other users (mode 0666)'],
    [inOpenDir, `in '${openDir}', which other users can write to (mode 0777, no sticky bit)`],
  ] as const) {
    const r = await run(m.module);
    assert.equal(r.code, 254, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`Cannot load the extension module '${m.module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': ${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; ${AS_ROOT_SUFFIX}\n`));
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(m.ran), false, `${m.module} was not imported`);
  }
  // Root's module in a sticky directory open to all (as /tmp is): loaded and run.
  const stickyDir = join(tempDir('itop-cron-ext-'), 'sticky');
  mkdirSync(stickyDir);
  chmodSync(stickyDir, 0o1777);
  const good = evilModule(stickyDir, 'good');
  const r = await run(good.module);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(existsSync(good.ran), true, 'a module root alone can write is loaded');
});

test('as root, a mysqldump of mysql_bindir that another user can write is not run', rootOnly, async (t) => {
  const db = await createTestDb(t);
  const root = makeItopRoot(db);
  const config = loadConfig({ itopRoot: root, raw: {}, env: {}, cwd: root });
  const pool = openDb(config.db);
  t.after(() => pool.close());
  const backup = async (bindir: string): Promise<{ error: unknown; printed: string[] }> => {
    const printed: string[] = [];
    const ctx: TaskContext = {
      db: pool, config, clock: createClock(config.timezone), deadline: Date.now() + 60_000, signal: new AbortController().signal,
      log: pino({ level: 'silent' }), print: (l) => printed.push(l), debug: false, userId: 1, params: { mysql_bindir: bindir },
    };
    return { error: await backupExec.process(ctx).then(() => undefined, (e: unknown) => e), printed };
  };
  /** A fake mysqldump that leaves a mark and fails. */
  const fake = (dir: string): string => {
    const program = join(dir, 'mysqldump');
    writeFileSync(program, `#!/bin/sh\necho ran > "${dir}/ran"\necho 'fake mysqldump' >&2\nexit 3\n`, { mode: 0o755 });
    chmodSync(program, 0o755);
    return program;
  };
  const bin = tempDir('itop-cron-bin-');
  const program = fake(bin);
  chownSync(program, NOBODY, NOBODY);
  const refusedRun = await backup(bin);
  assert.ok(refusedRun.error instanceof ProcessFatalError, String(refusedRun.error));
  assert.equal((refusedRun.error as Error).message, `Failed to execute mysqldump: '${program}' owned by uid 65534, not by root; ${AS_ROOT_SUFFIX}`);
  assert.equal(existsSync(join(bin, 'ran')), false, 'the program was not run');
  // Root's own, in a directory of root: run (and its failure reported as before).
  chownSync(program, 0, 0);
  const ran = await backup(bin);
  assert.match(String((ran.error as Error).message), /^Failed to execute mysqldump: fake mysqldump$/);
  assert.equal(existsSync(join(bin, 'ran')), true);
});
