/**
 * The built CLI against a real MariaDB: cron.php's messages, exit codes and rows.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mysql from 'mysql2/promise';
import { lockName } from '../src/db/lock.js';
import { spawn } from 'node:child_process';
import { BIN, cliEnv, makeItopRoot, runCli, writeParamFile } from './helpers/cli.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const PWD = 'S3cret.Pa55-word';
const AUTH = `auth_user=admin\nauth_pwd=${PWD}\n`;

async function setup(t: Parameters<typeof createTestDb>[0], prefix = ''): Promise<{ db: TestDb; params: string }> {
  const db = await createTestDb(t, { prefix });
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  return { db, params: writeParamFile(AUTH) };
}

const FAST = { ITOP_CRON_MAX_EXECUTION_TIME: '2', ITOP_CRON_SLEEP: '1' };

function assertNoPassword(...texts: string[]): void {
  for (const s of texts) assert.ok(!s.includes(PWD), `password leaked in: ${s}`);
}

test('--version and --help', async () => {
  const v = await runCli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  const h = await runCli(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--auth_user=<login>/);
  assert.match(h.stdout, /--status_only=1/);
});

test('missing auth_user / auth_pwd: the usage block, exit 254', async (t) => {
  const { db } = await setup(t);
  const r = await runCli([], { env: cliEnv(db) });
  assert.equal(r.code, 254);
  assert.equal(
    r.stdout,
    "ERROR: Missing argument 'auth_user'\n\nUSAGE:\n\nitop-cron --auth_user=<login> --auth_pwd=<password> [--param_file=<file>] [--verbose=1] [--debug=1] [--status_only=1]\n\n",
  );
  const p = await runCli(['--auth_user=admin'], { env: cliEnv(db) });
  assert.equal(p.code, 254);
  assert.match(p.stdout, /^ERROR: Missing argument 'auth_pwd'\n/);
});

test('a missing parameter file is an initialisation error, exit 254', async (t) => {
  const { db } = await setup(t);
  const r = await runCli(['--param_file=/nonexistent/x.params'], { env: cliEnv(db) });
  assert.equal(r.code, 254);
  assert.equal(r.stdout, "Error: Could not find the parameter file: '/nonexistent/x.params'\n");
});

test('unknown and malformed arguments are refused with one line, exit 254', async (t) => {
  const { db, params } = await setup(t);
  const u = await runCli([`--param_file=${params}`, '--colour=blue'], { env: cliEnv(db) });
  assert.equal(u.code, 254);
  assert.equal(u.stdout, "Error: Unknown argument '--colour' (see itop-cron --help)\n");
  const m = await runCli([`--param_file=${params}`, 'verbose'], { env: cliEnv(db) });
  assert.equal(m.code, 254);
  assert.equal(m.stdout, "Error: Unexpected argument 'verbose' (arguments are --name=value)\n");
  const c = await runCli(['verbose', `--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(c.code, 254);
  assert.match(c.stdout, /^Error: Unknown command 'verbose'/);
});

test('wrong password, unknown user, disabled user: wrong credentials, exit 255', async (t) => {
  const { db } = await setup(t);
  await createAdminUser(db, { login: 'gone', password: PWD, admin: true, status: 'disabled' });
  for (const [user, pwd] of [
    ['admin', 'not-the-password'],
    ['nobody', PWD],
    ['gone', PWD],
  ] as const) {
    const r = await runCli([`--auth_user=${user}`, `--auth_pwd=${pwd}`], { env: cliEnv(db) });
    assert.equal(r.code, 255, r.stdout + r.stderr);
    assert.equal(r.stdout, `Access wrong credentials ('${user}')\n`);
    assertNoPassword(r.stdout, r.stderr);
  }
});

test('a non-administrator is refused, exit 255; legacy SHA-256 passwords are accepted', async (t) => {
  const { db } = await setup(t);
  await createAdminUser(db, { login: 'user1', password: 'User1.123456', admin: false });
  const r = await runCli(['--auth_user=user1', '--auth_pwd=User1.123456', '--status_only=1'], { env: cliEnv(db) });
  assert.equal(r.code, 255);
  assert.equal(r.stdout, 'Access restricted to administrators\n');
  await createAdminUser(db, { login: 'old', password: 'Old.Pwd-1', admin: true, legacySha256: true });
  const ok = await runCli(['--auth_user=old', '--auth_pwd=Old.Pwd-1', '--status_only=1'], { env: cliEnv(db) });
  assert.equal(ok.code, 0, ok.stdout);
});

test('external and LDAP accounts are refused with a clear message', async (t) => {
  const { db } = await setup(t);
  await createAdminUser(db, { login: 'ext', password: 'x', admin: true, kind: 'UserExternal' });
  await createAdminUser(db, { login: 'ldap', password: 'x', admin: true, kind: 'UserLDAP' });
  for (const login of ['ext', 'ldap']) {
    const r = await runCli([`--auth_user=${login}`, '--auth_pwd=anything', '--status_only=1'], { env: cliEnv(db) });
    assert.equal(r.code, 255);
    assert.match(r.stdout, new RegExp(`^Access refused: '${login}' is a User(External|LDAP) account`));
  }
});

test('--status_only on an empty registry prints the empty table and takes no lock', async (t) => {
  const { db, params } = await setup(t);
  const r = await runCli([`--param_file=${params}`, '--status_only=1'], { env: cliEnv(db) });
  assert.equal(r.code, 0, r.stderr);
  const border = '+---------------------------+---------+---------------------+---------------------+--------+-----------+';
  assert.equal(
    r.stdout,
    `${border}\n| Task Class                | Status  | Last Run            | Next Run            | Nb Run | Avg. Dur. |\n${border}\n${border}\n`,
  );
  assertNoPassword(r.stdout, r.stderr);
});

test('a verbose run creates the registry rows as cron.php and runs due tasks', async (t) => {
  const { db, params } = await setup(t, 'pfx_');
  const r = await runCli([`--param_file=${params}`, '--verbose=1'], { env: cliEnv(db, FAST) });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0] ?? '', /^Starting: \d+ \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$/);
  assert.equal(lines[1], 'Planned duration = 2 seconds');
  assert.equal(lines[2], 'Loop pause = 1 seconds');
  assert.match(lines[3] ?? '', /^Creating record for: \S+$/);
  assert.match(lines[4] ?? '', /^First execution planned at: \d{4}-/);
  assert.match(r.stdout, /\nCreating record for: InlineImageGC\nFirst execution planned at: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n/);
  assert.match(r.stdout, /\nBackground processes: ([^\n]+, )?InlineImageGC(, [^\n]+)?\n/);
  assert.match(r.stdout, /\n>> === \S+ \S+ Starting: InlineImageGC =+\n/);
  assert.match(r.stdout, /\nInlineImageGC: Cleaned 0 old temporary InlineImage\(s\) and 0 old temporary Attachment\(s\)\.\n/);
  assert.match(r.stdout, /\nReached normal execution time limit \(exceeded by \d+s\)\nExiting: \d+ \(.+\)\n$/);
  const rows = await db.query<Record<string, unknown>>(`SELECT * FROM ${db.table('priv_backgroundtask')} WHERE class_name = 'InlineImageGC'`);
  assert.equal(rows.length, 1);
  const row = rows[0]!;
  assert.equal(row['status'], 'active');
  assert.equal(Number(row['running']), 0);
  assert.ok(Number(row['total_exec_count']) >= 1);
  assert.match(String(row['average_run_duration']), /^\d+\.\d{3}$/);
  assert.notEqual(row['min_run_duration'], '99999.999');
  assert.notEqual(row['system_user'], '');
  assert.ok(row['first_run_date'] !== null);
  assertNoPassword(r.stdout, r.stderr);
});

test('another holder of the cron lock (a PHP cron.php) makes the run print Already running..., exit 0', async (t) => {
  const { db, params } = await setup(t);
  const holder = await mysql.createConnection({ host: db.server.host, port: db.server.port, user: db.server.user, password: db.server.password });
  t.after(() => holder.end());
  const [got] = await holder.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS r', [lockName('cron', db.name, db.prefix)]);
  assert.equal(Number(got[0]?.['r']), 1);
  const r = await runCli([`--param_file=${params}`], { env: cliEnv(db, FAST) });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Starting: \d+ \(.+\)\nAlready running\.\.\.\nExiting: \d+ \(.+\)\n$/);
});

test('the lock name is the one PHP computes', () => {
  assert.equal(lockName('cron', 'itop', ''), 'itop.0bb534e2892192951d51666b25d8de4b');
  assert.equal(lockName('cron', 'itopdb', 'pfx_'), 'itop.ac986d68bbc6ca175cda97452aa0dd1c');
  assert.equal(lockName('backup.production', 'itopdb', 'pfx_'), 'itop.f176ce1a56289e65a1e83d2799cce020');
  assert.equal(lockName('restore.production', 'itopdb', 'pfx_'), 'itop.c82b2b7620e286c07f3e6738747c1e8e');
});

test('flag files and installation gates under an iTop root', async (t) => {
  const { db, params } = await setup(t);
  const root = makeItopRoot(db);
  const args = [`--param_file=${params}`, `--itop_root=${root}`];
  writeFileSync(join(root, 'data', '.readonly'), '');
  const ro = await runCli(args);
  assert.deepEqual([ro.code, ro.stdout], [255, 'iTop is read-only. Exiting...\n']);
  writeFileSync(join(root, 'data', '.maintenance'), '');
  const m = await runCli(args);
  assert.deepEqual([m.code, m.stdout], [0, 'This application is currently under maintenance.']);
  const empty = join(root, 'empty');
  mkdirSync(empty);
  const ni = await runCli([`--param_file=${params}`, `--itop_root=${empty}`]);
  assert.deepEqual([ni.code, ni.stdout], [255, 'iTop is not yet installed. Exiting...\n']);
});

test('a maintenance flag appearing during the run stops it: Maintenance detected, exiting (255)', async (t) => {
  const { db, params } = await setup(t);
  const root = makeItopRoot(db, { cron_max_execution_time: 30 });
  const started = Date.now();
  const r = await runCli([`--param_file=${params}`, `--itop_root=${root}`], {
    onSpawn: () => setTimeout(() => writeFileSync(join(root, 'data', '.maintenance'), ''), 1500),
  });
  assert.equal(r.code, 255, r.stdout + r.stderr);
  assert.match(r.stdout, /\nMaintenance detected, exiting\n$/);
  assert.ok(Date.now() - started < 25_000, 'stopped long before the 30 s limit');
  const free = await db.query<{ f: number }>('SELECT IS_FREE_LOCK(?) AS f', [lockName('cron', db.name, '')]);
  assert.equal(Number(free[0]?.f), 1);
});

test('access_mode without admin write: A maintenance is ongoing, exit 0', async (t) => {
  const { db, params } = await setup(t);
  const root = makeItopRoot(db, { access_mode: 1 });
  const r = await runCli([`--param_file=${params}`, `--itop_root=${root}`]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Starting: .+\nA maintenance is ongoing\nExiting: .+\n$/);
});

test('an unreachable database and a wrong database password: cron.php line on stdout, reason on stderr, exit 255', async (t) => {
  const { db, params } = await setup(t);
  const dead = await runCli([`--param_file=${params}`], { env: cliEnv(db, { ITOP_DB_HOST: '127.0.0.1:1' }) });
  assert.equal(dead.code, 255);
  assert.equal(dead.stdout, '<p>iTop: An error occurred, check server error log for more information.</p>\n');
  assert.match(dead.stderr, /itop-cron: Could not connect to the DB server: /);
  const secret = 'Wr0ng-DB-Pa55';
  const bad = await runCli([`--param_file=${params}`], { env: cliEnv(db, { ITOP_DB_USER: 'nobody_here', ITOP_DB_PWD: secret }) });
  assert.equal(bad.code, 255);
  assert.match(bad.stderr, /Could not connect to the DB server: access denied for the database user/);
  assert.ok(!bad.stdout.includes(secret) && !bad.stderr.includes(secret));
});

test('missing iTop tables: one line naming the problem, exit 255', async (t) => {
  const db = await createTestDb(t, { schema: false });
  const params = writeParamFile(AUTH);
  const r = await runCli([`--param_file=${params}`, '--status_only=1'], { env: cliEnv(db) });
  assert.equal(r.code, 255);
  assert.match(r.stdout, /priv_user' doesn't exist: is '.+' \(prefix ''\) an iTop database\? 'itop-cron init' creates the tables\n$/);
});

test('bad cron settings are refused at start with the key named, exit 254', async (t) => {
  const { db, params } = await setup(t);
  for (const [key, value] of [
    ['ITOP_CRON_SLEEP', 'abc'],
    ['ITOP_CRON_MAX_EXECUTION_TIME', '-5'],
  ] as const) {
    const r = await runCli([`--param_file=${params}`], { env: cliEnv(db, { [key]: value }) });
    assert.equal(r.code, 254, `${key}=${value}: ${r.stdout}`);
    assert.match(r.stdout, /^Error: Invalid value for '(cron_sleep|cron_max_execution_time)'/);
  }
});

test('SIGTERM stops the run cleanly: Exiting line, exit 0, lock released', async (t) => {
  const { db, params } = await setup(t);
  const r = await runCli([`--param_file=${params}`], {
    env: cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '60', ITOP_CRON_SLEEP: '1' }),
    onSpawn: (child) => setTimeout(() => child.kill('SIGTERM'), 2500),
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\nExiting: \d+ \(.+\)\n$/);
  const free = await db.query<{ f: number }>('SELECT IS_FREE_LOCK(?) AS f', [lockName('cron', db.name, '')]);
  assert.equal(Number(free[0]?.f), 1);
});

test('init creates a standalone database that a run then uses', async (t) => {
  const db = await createTestDb(t, { schema: false });
  const params = writeParamFile(AUTH);
  const init = await runCli(['init', `--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(init.code, 0, init.stdout + init.stderr);
  assert.match(init.stdout, /administrator 'admin' created/);
  const again = await runCli(['init', `--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(again.code, 0);
  assert.match(again.stdout, /already exists, kept/);
  const run = await runCli([`--param_file=${params}`], { env: cliEnv(db, FAST) });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^Starting: .+\nExiting: .+\n$/);
  assertNoPassword(init.stdout, init.stderr, run.stdout, run.stderr);
});

test('a .env file in the working directory gives the database and the credentials', async (t) => {
  const { db } = await setup(t);
  const dir = tempDir('itop-cron-dotenv-');
  const lines = Object.entries(db.env).map(([k, v]) => `${k}=${v}`);
  writeFileSync(join(dir, '.env'), [...lines, 'ITOP_CRON_AUTH_USER=admin', `ITOP_CRON_AUTH_PWD=${PWD}`, ''].join('\n'));
  const r = await runCli(['--status_only=1'], { cwd: dir });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^\+-+/);
  assertNoPassword(r.stdout, r.stderr);
});

test('a reader that closes the pipe early (itop-cron | head -1) does not crash the run', async (t) => {
  const { db, params } = await setup(t);
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" --param_file="${params}" --verbose=1 | head -1 >/dev/null`], {
      env: { ...process.env, ...cliEnv(db, FAST) } as NodeJS.ProcessEnv,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.stderr, /EPIPE|Unhandled 'error' event/);
  const rows = await db.query<{ n: number }>(`SELECT SUM(total_exec_count) AS n FROM ${db.table('priv_backgroundtask')}`);
  assert.ok(Number(rows[0]?.n) >= 1, 'the run went on after the reader left');
});
