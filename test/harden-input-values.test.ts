/**
 * Values that look right and are not (issue 16, "Smaller"): an impossible date given to `task reschedule`,
 * a number option or setting that is no number. Each is one line naming it, exit 254, nothing written.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkNumericValues } from '../src/config/numeric.js';
import type { PhpArray } from '../src/config/types.js';
import { parseWhen } from '../src/ops/taskControl.js';
import { cliEnv, makeItopRoot, runCli, writeParamFile } from './helpers/cli.js';
import { pinnedClock } from './helpers/opsEnv.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';

const PWD = 'Input.Values-Pa55';

test('parseWhen refuses dates that are not on the calendar instead of carrying them over', () => {
  const clock = pinnedClock('2026-01-10 12:00:00');
  for (const bad of ['2026-02-30 10:00:00', '2026-04-31 00:00:00', '2027-02-29 00:00:00', '2026-01-01 24:00:00', '2026-01-01 10:00:60', '0999-01-01 00:00:00']) {
    assert.throws(() => parseWhen(bad, clock), /^CronError: Invalid date '/, bad);
  }
  assert.equal(parseWhen('2028-02-29 10:00:00', clock), '2028-02-29 10:00:00', 'a leap day is a day');
  assert.equal(parseWhen('2026-12-31 23:59:59', clock), '2026-12-31 23:59:59');
});

test('task reschedule with an impossible date: one line, exit 254, the row unchanged', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  await db.execute(`INSERT INTO ${db.table('priv_backgroundtask')} (class_name, next_run_date, status) VALUES ('InlineImageGC', '2026-01-01 00:00:00', 'active')`);
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const r = await runCli(['task', 'reschedule', 'InlineImageGC', '2026-02-30 10:00:00', `--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(r.code, 254, r.stdout + r.stderr);
  assert.equal(r.stdout, "Error: Invalid date '2026-02-30 10:00:00' (expected now, +10m, +2h, +1d or 'Y-m-d H:i:s')\n");
  const rows = await db.query<{ next_run_date: string }>(`SELECT next_run_date FROM ${db.table('priv_backgroundtask')}`);
  assert.deepEqual(rows.map((x) => x.next_run_date), ['2026-01-01 00:00:00']);
});

test('checkNumericValues names every numeric option and itop-cron setting that is no number', () => {
  const cases: Array<[Record<string, string>, PhpArray, string]> = [
    [{ task_grace_seconds: 'abc' }, {}, "Invalid value for 'task_grace_seconds': 'abc' (expected a number >= 0)"],
    [{ task_grace_seconds: '' }, {}, "Invalid value for 'task_grace_seconds': '' (expected a number >= 0)"],
    [{ task_grace_seconds: '-5' }, {}, "Invalid value for 'task_grace_seconds': '-5' (expected a number >= 0)"],
    [{ metrics_port: '70000' }, {}, "Invalid value for 'metrics_port': '70000' (expected an integer from 0 to 65535)"],
    [{}, { 'itop_cron.task_grace_seconds': 'soon' }, "Invalid value for 'itop_cron.task_grace_seconds': 'soon' (expected a number >= 0)"],
    [{}, { 'itop_cron.smtp_timeout': 'abc' }, "Invalid value for 'itop_cron.smtp_timeout': 'abc' (expected an integer from 0 to 2147483)"],
    [{}, { 'itop_cron.async_running_timeout': 1.5 }, "Invalid value for 'itop_cron.async_running_timeout': '1.5' (expected an integer from 0 to 3153600000)"],
    [{}, { 'itop_cron.status_max_lateness': '15m' }, "Invalid value for 'itop_cron.status_max_lateness': '15m' (expected an integer >= 0)"],
    [{}, { 'itop_cron.status_max_age': true }, "Invalid value for 'itop_cron.status_max_age': 'true' (expected an integer >= 0)"],
    [{}, { 'itop_cron.history_max_rows': 'lots' }, "Invalid value for 'itop_cron.history_max_rows': 'lots' (expected an integer >= 1)"],
    [{}, { 'itop_cron.log_rotate_keep': '0' }, "Invalid value for 'itop_cron.log_rotate_keep': '0' (expected an integer >= 1)"],
    [{}, { 'itop_cron.ping_timeout': 'x' }, "Invalid value for 'itop_cron.ping_timeout': 'x' (expected an integer from 1 to 2147483)"],
    [{}, { 'itop_cron.alert_after_failures': [] }, "Invalid value for 'itop_cron.alert_after_failures': '[]' (expected an integer >= 1)"],
    [{}, { 'itop_cron.metrics_port': 'http' }, "Invalid value for 'itop_cron.metrics_port': 'http' (expected an integer from 0 to 65535)"],
    [{}, { 'itop_cron.history_max_days': '3\n0' }, "Invalid value for 'itop_cron.history_max_days': of 3 characters (expected an integer from 1 to 36500)"],
    // Larger than the arithmetic can take: a timer past 2^31-1 ms fires at once, a date 10^15 s back is none.
    [{}, { 'itop_cron.smtp_timeout': 2_147_484 }, "Invalid value for 'itop_cron.smtp_timeout': '2147484' (expected an integer from 0 to 2147483)"],
    [{}, { 'itop_cron.ping_timeout': '99999999' }, "Invalid value for 'itop_cron.ping_timeout': '99999999' (expected an integer from 1 to 2147483)"],
    [{}, { 'itop_cron.async_running_timeout': '9007199254740991' }, "Invalid value for 'itop_cron.async_running_timeout': '9007199254740991' (expected an integer from 0 to 3153600000)"],
    [{}, { 'itop_cron.history_max_days': 1e9 }, "Invalid value for 'itop_cron.history_max_days': '1000000000' (expected an integer from 1 to 36500)"],
  ];
  for (const [options, settings, message] of cases) {
    assert.throws(() => checkNumericValues(options, settings), { name: 'ConfigError', message }, message);
  }
  // What is valid stays valid: digits as text, PHP numbers, a fraction of a second for the grace, no port.
  checkNumericValues({ task_grace_seconds: '2.5', metrics_port: '' }, {
    'itop_cron.task_grace_seconds': 10, 'itop_cron.smtp_timeout': ' 7 ', 'itop_cron.async_running_timeout': 0, 'itop_cron.metrics_port': '9464', 'itop_cron.unrelated': 'abc',
  });
});

test('the built CLI refuses a non-numeric number before it touches the database, in every command and source', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const badParams = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\ntask_grace_seconds=thirty\n`);
  const root = makeItopRoot(db, { 'itop_cron.smtp_timeout': 'abc' });
  const env = cliEnv(db);
  for (const [args, message] of [
    [[`--param_file=${params}`, '--task_grace_seconds=abc'], "'task_grace_seconds': 'abc'"],
    [[`--param_file=${params}`, '--task_grace_seconds=abc', '--status_only=1'], "'task_grace_seconds': 'abc'"],
    [[`--param_file=${badParams}`], "'task_grace_seconds': 'thirty'"],
    [[`--param_file=${params}`, `--itop_root=${root}`], "'itop_cron.smtp_timeout': 'abc'"],
    [['status', `--param_file=${params}`, '--task_grace_seconds=abc'], "'task_grace_seconds': 'abc'"],
    [['task', 'run', 'InlineImageGC', `--param_file=${params}`, '--task_grace_seconds=1e3'], "'task_grace_seconds': '1e3'"],
    [['serve', '--port=0', `--param_file=${params}`, '--task_grace_seconds=abc'], "'task_grace_seconds': 'abc'"],
  ] as const) {
    const r = await runCli(args, { env, timeoutMs: 20_000 });
    assert.equal(r.code, 254, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, `Error: Invalid value for ${message} (expected ${message.includes('smtp') ? 'an integer from 0 to 2147483' : 'a number >= 0'})\n`, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  // A number too large for the arithmetic (here: a cut-off date 10^15 s back, 'Invalid time value' at every
  // ExecAsyncTask pass) is refused the same way.
  const huge = makeItopRoot(db, { 'itop_cron.async_running_timeout': '9007199254740991' });
  const r = await runCli([`--param_file=${params}`, `--itop_root=${huge}`], { env, timeoutMs: 20_000 });
  assert.equal(r.code, 254, r.stdout + r.stderr);
  assert.equal(r.stdout, "Error: Invalid value for 'itop_cron.async_running_timeout': '9007199254740991' (expected an integer from 0 to 3153600000)\n");
  // Digits beyond a safe integer became LIMIT 1e+20, an SQL syntax error.
  const limit = await runCli(['history', '--limit=99999999999999999999', `--param_file=${params}`], { env });
  assert.equal(limit.code, 254, limit.stdout + limit.stderr);
  assert.equal(limit.stdout, "Error: Invalid value for '--limit': '99999999999999999999' (expected a number >= 1)\n");
  const rows = await db.query(`SELECT id FROM ${db.table('priv_backgroundtask')}`);
  assert.equal(rows.length, 0, 'no run started: the registry is untouched');
});
