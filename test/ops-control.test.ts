/**
 * Task control (pause, resume, reschedule, run now, list) as library calls and through the built CLI,
 * against a real MariaDB and the real cron lock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { taskByClass } from '../src/db/backgroundTasks.js';
import { lockName, NamedLock } from '../src/db/lock.js';
import { recentRuns } from '../src/db/runHistory.js';
import { createRunOps } from '../src/ops/runOps.js';
import { parseWhen, pauseTask, rescheduleTask, resolveClassName, resumeTask, runTaskNow, UnknownTaskError } from '../src/ops/taskControl.js';
import { cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { controllableTask, opsEnv, pinnedClock, testConfig, testPool } from './helpers/opsEnv.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';

const PWD = 'Control.Pa55-word';
const SESSION_GC = 'Combodo\\iTop\\SessionTracker\\SessionGC';

async function addRow(db: TestDb, cls: string, next: string, status = 'active'): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, next_run_date, total_exec_count, min_run_duration, status, running, system_user) ` +
      "VALUES (?, ?, 0, 99999.999, ?, 0, '')",
    [cls, next, status],
  );
}

async function statusOf(db: TestDb, cls: string): Promise<{ status: string; next_run_date: string; total_exec_count: number }> {
  const rows = await db.query<{ status: string; next_run_date: string; total_exec_count: number }>(
    `SELECT status, next_run_date, total_exec_count FROM ${db.table('priv_backgroundtask')} WHERE class_name = ?`,
    [cls],
  );
  assert.ok(rows[0], `no row for ${cls}`);
  return rows[0];
}

test('parseWhen and resolveClassName', () => {
  const clock = pinnedClock('2025-03-30 01:50:00');
  assert.equal(parseWhen('now', clock), '2025-03-30 01:50:00');
  assert.equal(parseWhen('+10m', clock), '2025-03-30 03:00:00', 'the spring-forward gap is crossed in real time');
  assert.equal(parseWhen('+30s', clock), '2025-03-30 01:50:30');
  assert.equal(parseWhen('+1d', clock), '2025-03-31 02:50:00', 'durations are real time: 24 h across the DST change');
  assert.equal(parseWhen('2025-04-01 06:00:00', clock), '2025-04-01 06:00:00');
  assert.equal(parseWhen('2025-03-30 02:30:00', clock), '2025-03-30 03:30:00', 'a time in the gap moves forward, as iTop stores it');
  for (const bad of ['tomorrow', '+10', '2025-04-01', '2025-13-01 00:00:00', '-5m']) {
    assert.throws(() => parseWhen(bad, clock), /Invalid date/, bad);
  }
  const known = ['InlineImageGC', SESSION_GC, 'Other\\SessionGC2'];
  assert.equal(resolveClassName(known, 'InlineImageGC'), 'InlineImageGC');
  assert.equal(resolveClassName(known, 'inlineimagegc'), 'InlineImageGC');
  assert.equal(resolveClassName(known, 'SessionGC'), SESSION_GC);
  assert.equal(resolveClassName(known, `\\${SESSION_GC}`), SESSION_GC);
  assert.throws(() => resolveClassName(known, 'Nope'), UnknownTaskError);
  assert.throws(() => resolveClassName(['A\\X', 'B\\X'], 'X'), /matches several tasks/);
});

test('pause, resume and reschedule write what cron.php reads', async (t) => {
  const db = await createTestDb(t, { prefix: 'itop_' });
  await addRow(db, 'InlineImageGC', '2025-03-10 12:00:00');
  await addRow(db, SESSION_GC, '2025-03-10 12:00:00', 'removed');
  const config = testConfig(db);
  const pool = testPool(t, config);
  const clock = pinnedClock('2025-03-10 12:00:00');

  await pauseTask(pool, 'InlineImageGC');
  assert.equal((await statusOf(db, 'InlineImageGC')).status, 'paused');
  await resumeTask(pool, 'InlineImageGC');
  assert.equal((await statusOf(db, 'InlineImageGC')).status, 'active');
  await resumeTask(pool, 'SessionGC');
  assert.equal((await statusOf(db, SESSION_GC)).status, 'active');
  const r = await rescheduleTask(pool, clock, 'InlineImageGC', '+2h');
  assert.deepEqual(r, { className: 'InlineImageGC', next: '2025-03-10 14:00:00' });
  assert.equal((await statusOf(db, 'InlineImageGC')).next_run_date, '2025-03-10 14:00:00');
  await assert.rejects(pauseTask(pool, 'NoSuchTask'), /No task 'NoSuchTask' in the registry/);
});

test('runTaskNow: runs one task with the bookkeeping and the history, or says Already running...', async (t) => {
  const db = await createTestDb(t);
  const config = testConfig(db);
  const pool = testPool(t, config);
  const state = { fail: false, message: 'did it' };
  const task = controllableTask('TestTask', state);
  const { env: plain } = opsEnv(config, pool);
  const ops = createRunOps({ config, db: pool, clock: plain.clock, log: plain.log, serveMetrics: false });
  t.after(() => ops.close());
  const { env, out } = opsEnv(config, pool, { observer: ops.observer });

  // No row yet: it is created as cron.php would, then run (even paused: asking is explicit).
  const first = await runTaskNow(env, [task], 'testtask');
  assert.equal(first.kind, 'ran');
  const row = await taskByClass(pool, 'TestTask');
  assert.equal(Number(row?.total_exec_count), 1);
  assert.equal(Number(row?.running), 0);
  assert.match(out.text(), /^>> === \d{4}-\d\d-\d\d \d\d:\d\d:\d\d Starting: TestTask =+\nTestTask: did it\n<< === .* End of:  {2}TestTask =+ Next: \d{4}-/);
  const runs = await recentRuns(pool, 'TestTask', 10);
  assert.equal(runs.length, 1);
  assert.equal(runs[0]?.outcome, 'success');
  assert.equal(runs[0]?.message, 'did it');

  // A cron holds the lock: nothing runs.
  const lock = await NamedLock.open(config.db, lockName('cron', db.name, ''));
  t.after(() => lock.close());
  assert.equal(await lock.acquire(0), true);
  assert.deepEqual(await runTaskNow(env, [task], 'TestTask'), { kind: 'already-running' });
  assert.equal(Number((await taskByClass(pool, 'TestTask'))?.total_exec_count), 1);
  await lock.close();

  await assert.rejects(runTaskNow(env, [task], 'InlineImageGC'), /No task 'InlineImageGC'/);
  await addRow(db, 'ObsolescenceDateUpdater', '2025-01-01 00:00:00');
  await assert.rejects(runTaskNow(env, [task], 'ObsolescenceDateUpdater'), /does not implement 'ObsolescenceDateUpdater'/);
});

async function cliSetup(t: Parameters<typeof createTestDb>[0]): Promise<{ db: TestDb; params: string }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  return { db, params: writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`) };
}

test('itop-cron task: pause keeps a real cron run off the task; run, reschedule, list', async (t) => {
  const { db, params } = await cliSetup(t);
  const env = cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '2', ITOP_CRON_SLEEP: '1' });
  await addRow(db, 'InlineImageGC', '2020-01-01 00:00:00');

  const pause = await runCli(['task', 'pause', 'InlineImageGC', `--param_file=${params}`], { env });
  assert.equal(pause.code, 0, pause.stdout + pause.stderr);
  assert.match(pause.stdout, /^Paused InlineImageGC: /);
  const cron = await runCli([`--param_file=${params}`], { env });
  assert.equal(cron.code, 0, cron.stdout);
  assert.deepEqual(await statusOf(db, 'InlineImageGC'), { status: 'paused', next_run_date: '2020-01-01 00:00:00', total_exec_count: 0 });

  const run = await runCli(['task', 'run', 'InlineImageGC', `--param_file=${params}`], { env });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /\nInlineImageGC: Cleaned 0 old temporary InlineImage\(s\) and 0 old temporary Attachment\(s\)\.\n<< === /);
  const after = await statusOf(db, 'InlineImageGC');
  assert.equal(Number(after.total_exec_count), 1);
  assert.equal(after.status, 'paused', 'running a paused task on request does not resume it');

  const resched = await runCli(['task', 'reschedule', 'InlineImageGC', '2031-05-06 07:08:09', `--param_file=${params}`], { env });
  assert.equal(resched.stdout, 'InlineImageGC: next run 2031-05-06 07:08:09\n');
  const resume = await runCli(['task', 'resume', 'InlineImageGC', `--param_file=${params}`], { env });
  assert.equal(resume.stdout, 'Resumed InlineImageGC: next run 2031-05-06 07:08:09\n');
  assert.equal((await statusOf(db, 'InlineImageGC')).status, 'active');

  const list = await runCli(['task', 'list', '--json', `--param_file=${params}`], { env });
  assert.equal(list.code, 0);
  const tasks = JSON.parse(list.stdout) as Array<{ className: string; status: string; nextRun: string; runCount: number }>;
  const gc = tasks.filter((x) => x.className === 'InlineImageGC');
  assert.deepEqual(gc.map((x) => [x.status, x.nextRun, x.runCount]), [['active', '2031-05-06 07:08:09', 1]]);
  assert.ok(tasks.length > 1, 'the cron run created the other built-in tasks');
});

test('itop-cron task: Already running..., unknown task, bad date, usage', async (t) => {
  const { db, params } = await cliSetup(t);
  const env = cliEnv(db);
  await addRow(db, 'InlineImageGC', '2020-01-01 00:00:00');
  const lock = await NamedLock.open(testConfig(db).db, lockName('cron', db.name, ''));
  t.after(() => lock.close());
  assert.equal(await lock.acquire(0), true);
  const busy = await runCli(['task', 'run', 'InlineImageGC', `--param_file=${params}`], { env });
  assert.equal(busy.code, 1);
  assert.equal(busy.stdout, 'Already running...\n');
  assert.equal(Number((await statusOf(db, 'InlineImageGC')).total_exec_count), 0);

  const unknown = await runCli(['task', 'pause', 'Nope', `--param_file=${params}`], { env });
  assert.equal(unknown.code, 254);
  assert.equal(unknown.stdout, "Error: No task 'Nope' in the registry (see itop-cron task list)\n");
  const badDate = await runCli(['task', 'reschedule', 'InlineImageGC', 'someday', `--param_file=${params}`], { env });
  assert.equal(badDate.code, 254);
  assert.match(badDate.stdout, /^Error: Invalid date 'someday'/);
  const help = await runCli(['task', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: itop-cron task <action>/);
  const none = await runCli(['task']);
  assert.equal(none.code, 254);
  const badAction = await runCli(['task', 'explode', 'InlineImageGC', `--param_file=${params}`], { env });
  assert.equal(badAction.code, 254);
  assert.match(badAction.stdout, /^Error: Unknown action 'explode'/);
});
