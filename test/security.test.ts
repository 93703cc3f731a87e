/**
 * Security (issue 5): passwords stay off the process list with a parameter file or the environment, and
 * out of every output (stdout, stderr, the log file, errors and --debug stack traces) of every scenario
 * here; the parameter file's permissions are checked; SQL is parameterised (injection attempts through
 * auth_user, db_subname, registry class names and task messages change nothing); failed logins are slowed.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { authenticate } from '../src/auth/authenticate.js';
import { CronError } from '../src/errors.js';
import { cliEnv, writeParamFile } from './helpers/cli.js';
import { faultModule, inProcessEnv, OutputRecorder, waitFor } from './helpers/fault.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const PWD = 'Sec.Admin-Pwd!42'; // no '#': a parameter file cuts a value there
const DB_PWD = 'Sec.Db-Pwd#97';
const recorder = new OutputRecorder();

/** A test database reached through a MariaDB account that has a password, and an administrator. */
async function setup(t: TestContext): Promise<{ db: TestDb; env: Record<string, string | undefined> }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const user = `u_${randomBytes(5).toString('hex')}`;
  await db.execute(`CREATE USER '${user}'@'%' IDENTIFIED BY '${DB_PWD}'`);
  await db.execute(`GRANT ALL PRIVILEGES ON \`${db.name}\`.* TO '${user}'@'%'`);
  t.after(() => db.execute(`DROP USER IF EXISTS '${user}'@'%'`).then(() => undefined, () => undefined));
  return { db, env: cliEnv(db, { ITOP_DB_USER: user, ITOP_DB_PWD: DB_PWD, ITOP_CRON_MAX_EXECUTION_TIME: '2', ITOP_CRON_SLEEP: '1' }) };
}

/** What `ps` shows of a process: its command line. */
function commandLine(child: ChildProcess | undefined): string {
  return child?.pid === undefined ? '' : readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
}

test('the process list: no password with a parameter file or the environment; a warning with --auth_pwd', { skip: !existsSync('/proc/self/cmdline') }, async (t) => {
  const { env } = await setup(t);
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const seen: string[] = [];
  const watch = (c: ChildProcess): void => void waitFor('the process', () => c.pid !== undefined).then(() => seen.push(commandLine(c)));
  const fromFile = await recorder.run('parameter file', [`--param_file=${params}`], { env, onSpawn: watch });
  const fromEnv = await recorder.run('environment', [], { env: { ...env, ITOP_CRON_AUTH_USER: 'admin', ITOP_CRON_AUTH_PWD: PWD }, onSpawn: watch });
  for (const r of [fromFile, fromEnv]) {
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /visible in the process list/);
  }
  assert.equal(seen.length, 2);
  for (const cmd of seen) assert.ok(cmd.includes('itop-cron.js') && !cmd.includes(PWD) && !cmd.includes(DB_PWD), cmd);
  // Documented: on the command line the password is visible to others, so a warning says so (not recorded:
  // this output is the one place the password is expected, on argv).
  let cmd = '';
  const onArgv = await recorder.run('password on argv', ['--auth_user=admin', '--auth_pwd=Visible.Pwd-1', '--status_only=1'], {
    env,
    onSpawn: (c) => void waitFor('the process', () => c.pid !== undefined).then(() => (cmd = commandLine(c))),
  });
  assert.equal(onArgv.code, 255);
  assert.match(onArgv.stderr, /--auth_pwd on the command line is visible in the process list/);
  assert.ok(cmd.includes('Visible.Pwd-1'), 'the reason for the warning');
});

test('the parameter file must not be readable by others: a warning for 0644, none for 0600', async (t) => {
  const { env } = await setup(t);
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const quiet = await recorder.run('0600 file', [`--param_file=${params}`, '--status_only=1'], { env });
  assert.equal(quiet.code, 0, quiet.stdout + quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /readable by other users/);
  chmodSync(params, 0o644);
  const loud = await recorder.run('0644 file', [`--param_file=${params}`, '--status_only=1'], { env });
  assert.equal(loud.code, 0);
  assert.match(loud.stderr, /"msg":"the parameter file is readable by other users: chmod 600 it"/);
});

test('SQL injection through auth_user and db_subname changes nothing', async (t) => {
  const { db, env } = await setup(t);
  const users = async (): Promise<number> => Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.table('priv_user')}`))[0]?.n);
  const before = await users();
  const logins = ["admin' OR '1'='1", "admin'-- -", 'admin" OR "1"="1', "x'; DROP TABLE priv_user; --"];
  const results = await Promise.all(
    logins.map((login) => recorder.run(`login ${login}`, [`--auth_user=${login}`, `--auth_pwd=${PWD}`, '--status_only=1'], { env })),
  );
  results.forEach((r, i) => {
    assert.equal(r.code, 255, r.stdout);
    assert.equal(r.stdout, `Access wrong credentials ('${logins[i]}')\n`);
  });
  const prefix = await recorder.run('db_subname', ['--status_only=1'], {
    env: { ...env, ITOP_DB_SUBNAME: "x'; DROP TABLE priv_user; --", ITOP_CRON_AUTH_USER: 'admin', ITOP_CRON_AUTH_PWD: PWD },
  });
  assert.equal(prefix.code, 254, prefix.stdout + prefix.stderr);
  assert.match(prefix.stdout, /Invalid table prefix 'db_subname'/);
  assert.equal(await users(), before);
});

test('hostile class names in the registry and from an extension, hostile task messages: stored and shown as data', async (t) => {
  const { db, env } = await setup(t);
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const hostile = "x'; DROP TABLE priv_user; --";
  await db.execute(
    `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, next_run_date, total_exec_count, latest_run_duration, min_run_duration, ` +
      "max_run_duration, average_run_duration, running, status, system_user) VALUES (?, '2000-01-01 00:00:00', 0, 0, 99999.999, 0, 0, 0, 'active', '')",
    [hostile],
  );
  const logFile = join(tempDir('itop-cron-sec-'), 'cron.log');
  const run = await recorder.run('hostile names', [`--param_file=${params}`, '--verbose=1', '--debug=1', `--log_file=${logFile}`], {
    env: { ...env, ITOP_CRON_EXTENSIONS: faultModule('evil.mjs') },
  });
  recorder.addFile('log file', logFile);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const evil = `Evil'Task"; DROP TABLE priv_user; --`;
  assert.ok(run.stdout.includes(`${evil}: '); DELETE FROM priv_backgroundtask; -- "quoted" \\ backslash\n`));
  assert.match(run.stdout, /\nFaultThrows: Processing failed with message: failed on purpose: x' OR '1'='1\. Error: failed on purpose/, '--debug adds the trace');
  const rows = await db.query<{ class_name: string; status: string; total_exec_count: number }>(
    `SELECT class_name, status, total_exec_count FROM ${db.table('priv_backgroundtask')}`,
  );
  const byClass = new Map(rows.map((r) => [r.class_name, r]));
  assert.deepEqual([byClass.get(hostile)?.status, Number(byClass.get(hostile)?.total_exec_count)], ['active', 0], 'unknown class: left alone');
  assert.equal(Number(byClass.get(evil)?.total_exec_count), 1, 'the hostile extension class ran and was recorded under its exact name');
  assert.ok(rows.length >= 10, 'no row deleted');
  assert.ok(Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.table('priv_user')}`))[0]?.n) >= 1);

  const status = await recorder.run('status with hostile names', [`--param_file=${params}`, '--status_only=1'], { env });
  assert.ok(status.stdout.includes(`| ${hostile.padEnd(25).slice(0, 25)} | active  |`), status.stdout);
  // With itop_cron.owns_registry the unknown row is flipped to removed, by id, as data.
  const owns = await recorder.run('owns_registry', [`--param_file=${params}`], { env: { ...env, ITOP_CRON_OWN_REGISTRY: '1' } });
  assert.equal(owns.code, 0, owns.stdout + owns.stderr);
  const flipped = await db.query<{ status: string }>(`SELECT status FROM ${db.table('priv_backgroundtask')} WHERE class_name = ?`, [hostile]);
  assert.equal(flipped[0]?.status, 'removed');
});

test('failed logins are slowed down by the configured delay (lower bound only); the failure is logged', async (t) => {
  const { db, env } = await setup(t);
  const run = inProcessEnv(db);
  t.after(() => run.close());
  for (const delay of [0, 400]) {
    const started = performance.now();
    await assert.rejects(authenticate(run.db, 'admin', 'not-the-password', delay), (e: unknown) => e instanceof CronError && e.code === 'EAUTH');
    assert.ok(performance.now() - started >= delay - 5, `waited at least ${delay} ms`);
  }
  const started = performance.now();
  const r = await recorder.run('wrong password', ['--auth_user=admin', '--auth_pwd=Wrong.Pwd-1'], { env });
  assert.ok(performance.now() - started >= 1000, 'the CLI waits its default second before answering');
  assert.equal(r.code, 255);
  assert.match(r.stderr, /"code":"EAUTH".*"msg":"cron stopped"/);
});

test('errors and --debug traces of failing runs never show a password', async (t) => {
  const { db, env } = await setup(t);
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const scenarios: [string, string[], Record<string, string | undefined>][] = [
    ['wrong database password', [`--param_file=${params}`, '--debug=1'], { ...env, ITOP_DB_PWD: `${DB_PWD}x` }],
    ['unreachable database', [`--param_file=${params}`, '--debug=1'], { ...env, ITOP_DB_HOST: '127.0.0.1:1' }],
    ['missing extension', [`--param_file=${params}`, '--debug=1'], { ...env, ITOP_CRON_EXTENSIONS: '/nonexistent/ext.mjs' }],
    ['missing tables', [`--param_file=${params}`, '--debug=1'], { ...env, ITOP_DB_SUBNAME: 'nope_' }],
    ['bad setting', [`--param_file=${params}`, '--debug=1'], { ...env, ITOP_CRON_SLEEP: 'abc' }],
    ['status', [`--param_file=${params}`, '--status_only=1', '--debug=1'], env],
  ];
  for (const [label, args, e] of scenarios) {
    const r = await recorder.run(label, args, { env: e });
    assert.ok(r.code !== null && [0, 254, 255].includes(r.code), `${label}: ${r.code} ${r.stdout}${r.stderr}`);
  }
  assert.ok(db.name !== '');
});

test('the output recorder catches a leak (so that the check below can fail)', () => {
  const probe = new OutputRecorder();
  probe.add('probe', `ERROR: 'cannot log in with ${PWD}'`);
  assert.throws(() => probe.assertNever(PWD), /a secret leaked into probe/);
});

test('no output of any scenario of this suite contains a password (admin or database)', (t) => {
  assert.ok(recorder.count > 30, `${recorder.count} outputs recorded`);
  t.diagnostic(`${recorder.count} outputs scanned for the password`);
  recorder.assertNever(PWD, DB_PWD);
});
