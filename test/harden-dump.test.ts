/**
 * mysqldump and its password file never outlive itop-cron (issue 16 item 10): the built CLI is killed
 * with SIGKILL while a real mysqldump is blocked on a table another connection holds locked. The dump
 * must die and the password folder go at once; and when the guard is killed with it (kill -9 of both),
 * the next run kills the orphaned dump and removes the folder.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import mysql from 'mysql2/promise';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { cliEnv, makeItopRoot, runCli, writeParamFile } from './helpers/cli.js';
import { waitFor } from './helpers/fault.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';
import { removeDumpLeftovers } from '../src/tasks/backup/leftovers.js';

const PWD = 'Dump.Guard-Pwd3';

interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
}

/** Every process whose command line contains `needle`, from /proc. */
function processes(needle: string): Proc[] {
  const found: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      if (!cmdline.includes(needle)) continue;
      const ppid = Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1]);
      found.push({ pid: Number(name), ppid, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The mysqldump of `db` (its command line ends with the database name), not the guard around it. */
const dumpsOf = (db: TestDb): Proc[] => processes(`--defaults-extra-file=`).filter((p) => p.cmdline.includes(` ${db.name} `) || p.cmdline.endsWith(` ${db.name}`)).filter((p) => !p.cmdline.includes(' -e '));

/** The password folders of process `pid`. */
// The runs of this file keep their password folders in a temporary directory of their own: every run start
// removes the folders of dead runs it finds in its temporary directory, so a run of another test file
// (the suite runs files in parallel) would otherwise clean up what this file's kill -9 test must find.
const TMP = tempDir('itop-cron-dumptmp-');
const foldersOf = (pid: number): string[] => readdirSync(TMP).filter((n) => n.startsWith(`itop-cron-mysqldump-${pid}-`));

async function setup(t: TestContext): Promise<{ db: TestDb; root: string; params: string; locker: mysql.Connection }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  await db.execute('CREATE TABLE zz_locked (id INT PRIMARY KEY)');
  await db.execute('INSERT INTO zz_locked VALUES (1)');
  await db.execute(
    `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, next_run_date, total_exec_count, latest_run_duration, min_run_duration, ` +
      "max_run_duration, average_run_duration, running, status, system_user) VALUES ('BackupExec', '2000-01-01 00:00:00', 0, 0, 99999.999, 0, 0, 0, 'active', '')",
  );
  // Another session holds the table: mysqldump blocks on it, a real dump in progress.
  const s = db.server;
  const locker = await mysql.createConnection({ host: s.host, port: s.port, user: s.user, password: s.password, database: db.name });
  await locker.query('LOCK TABLES zz_locked WRITE');
  t.after(() => locker.end().catch(() => undefined));
  const root = makeItopRoot(db, { cron_max_execution_time: 60, cron_sleep: 1 });
  return { db, root, params: writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`), locker };
}

/** Starts the CLI; resolves once its mysqldump runs, with the child and the dump. */
async function cliDuringDump(db: TestDb, root: string, params: string): Promise<{ cli: ChildProcess; dump: Proc; done: Promise<unknown> }> {
  let cli: ChildProcess | undefined;
  const done = runCli([`--param_file=${params}`, `--itop_root=${root}`], { env: cliEnv(db, { TMPDIR: TMP }), onSpawn: (c) => (cli = c), timeoutMs: 90_000 });
  await waitFor('mysqldump to run', () => dumpsOf(db).length === 1);
  assert.ok(cli?.pid !== undefined);
  const dump = dumpsOf(db)[0];
  assert.ok(dump !== undefined);
  return { cli, dump, done };
}

test('kill -9 of itop-cron during mysqldump: the dump dies and the password file goes at once', { skip: process.platform !== 'linux' }, async (t) => {
  const { db, root, params, locker } = await setup(t);
  const { cli, dump, done } = await cliDuringDump(db, root, params);
  const file = /--defaults-extra-file=(\S+)/.exec(dump.cmdline)?.[1] ?? '';
  assert.ok(existsSync(file), `the password file ${file} exists during the dump`);
  const killedAt = Date.now();
  cli.kill('SIGKILL');
  await done;
  await waitFor('the orphaned mysqldump to die', () => !existsSync(`/proc/${dump.pid}`) || dumpsOf(db).length === 0, 10_000);
  await waitFor('the password folder to be removed', () => !existsSync(dirname(file)), 10_000);
  t.diagnostic(`mysqldump dead and password folder gone ${Date.now() - killedAt} ms after the kill`);
  await locker.query('UNLOCK TABLES');
  assert.deepEqual(dumpsOf(db), []);
});

test('kill -9 of itop-cron and its guard: the next run kills the orphaned dump and removes the password file', { skip: process.platform !== 'linux' }, async (t) => {
  const { db, root, params, locker } = await setup(t);
  const { cli, dump, done } = await cliDuringDump(db, root, params);
  const pid = cli.pid ?? 0;
  assert.equal(foldersOf(pid).length, 1, 'the password folder is named after its itop-cron');
  const guard = processes(' -e ').find((p) => p.ppid === pid && p.pid === dump.ppid);
  assert.ok(guard !== undefined, 'mysqldump runs under a guard process');
  process.kill(guard.pid, 'SIGKILL');
  cli.kill('SIGKILL');
  await done;
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(foldersOf(pid).length, 1, 'left behind (nobody was left to remove it)');
  assert.ok(dumpsOf(db).some((p) => p.pid === dump.pid), 'the dump still runs, blocked');
  // The next run: no backup due (the row is running/rescheduled), but the clean-up is at every start.
  await db.execute(`UPDATE ${db.table('priv_backgroundtask')} SET running = 0, next_run_date = '2999-01-01 00:00:00' WHERE class_name = 'BackupExec'`);
  const next = await runCli([`--param_file=${params}`, `--itop_root=${root}`], { env: cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '2', TMPDIR: TMP }) });
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.deepEqual(foldersOf(pid), [], 'the password folder of the dead run is removed');
  await waitFor('the orphaned mysqldump to be killed', () => !dumpsOf(db).some((p) => p.pid === dump.pid), 5_000);
  assert.match(next.stderr, /removed what killed backups left/);
  await locker.query('UNLOCK TABLES');
});

test('the start-up clean-up removes only real folders of dead processes, never through a planted link', () => {
  const dir = tempDir('itop-cron-tmp-');
  const dead = spawnSync(process.execPath, ['-e', '']).pid ?? 0; // a pid that just ended
  const name = (pid: number, tail: string): string => join(dir, `itop-cron-mysqldump-${pid}-${tail}`);
  mkdirSync(name(dead, 'aaaaaa'));
  writeFileSync(join(name(dead, 'aaaaaa'), 'my.cnf'), '[mysqldump]\npassword="x"\n');
  mkdirSync(name(process.pid, 'bbbbbb')); // a live run's
  const victim = tempDir('itop-cron-victim-');
  writeFileSync(join(victim, 'precious'), '');
  symlinkSync(victim, name(dead, 'cccccc'));
  const left = removeDumpLeftovers(dir);
  assert.deepEqual(left.removed, [name(dead, 'aaaaaa')]);
  assert.deepEqual(readdirSync(dir).sort(), [`itop-cron-mysqldump-${dead}-cccccc`, `itop-cron-mysqldump-${process.pid}-bbbbbb`].sort());
  assert.deepEqual(readdirSync(victim), ['precious']);
});
