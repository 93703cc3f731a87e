/**
 * One bad value in priv_backgroundtask (a zero date, a negative or saturated counter, negative durations,
 * a NULL status or next run) is that task's problem only (issue 16 item 4): the run repairs it with a
 * warning naming the class and the column, skips a row that cannot be repaired, and runs the others.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { taskByClass, type NamedTaskRow } from '../src/db/backgroundTasks.js';
import { runTask } from '../src/scheduler/runTask.js';
import { createClock } from '../src/time/clock.js';
import { cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { controllableTask, opsEnv, pinnedClock, testConfig, testPool } from './helpers/opsEnv.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';

const PWD = 'Bad.Values-Pa55';
const SESSION_GC = 'Combodo\\iTop\\SessionTracker\\SessionGC';
const TEMP_GC = 'Combodo\\iTop\\Service\\TemporaryObjects\\TemporaryObjectGC';
const NEWSROOM_GC = 'Combodo\\iTop\\Service\\Notification\\Event\\EventNotificationNewsroomGC';

/** A registry row as the test reads it back (its class is known: the test inserted it). */
type Row = NamedTaskRow;

async function rows(db: TestDb): Promise<Map<string, Row>> {
  const all = await db.query<Row>(`SELECT * FROM ${db.table('priv_backgroundtask')} ORDER BY id`);
  return new Map(all.map((r) => [r.class_name, r]));
}

/** The registry as a damaged database holds it: each built-in task with one bad value. */
async function damage(db: TestDb): Promise<void> {
  const table = db.table('priv_backgroundtask');
  // A zero date needs a permissive sql_mode, as older servers and some dumps have.
  await db.execute("SET SESSION sql_mode = ''");
  const insert = (cls: string, cols: Partial<Record<keyof Row, string | number | null>>): Promise<unknown> => {
    const row: Record<string, string | number | null> = {
      class_name: cls, first_run_date: '2026-01-01 00:00:00', latest_run_date: '2026-01-01 00:00:00', next_run_date: '2026-01-01 00:00:00',
      total_exec_count: 3, latest_run_duration: '0.100', min_run_duration: '0.100', max_run_duration: '0.100', average_run_duration: '0.100',
      running: 0, status: 'active', system_user: 'www-data', ...cols,
    };
    const names = Object.keys(row);
    return db.execute(`INSERT INTO ${table} (${names.map((n) => `\`${n}\``).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`, Object.values(row));
  };
  await insert('InlineImageGC', { next_run_date: '0000-00-00 00:00:00' });
  await insert('CheckStopWatchThresholds', { total_exec_count: -1 });
  await insert('ExecAsyncTask', { total_exec_count: 2147483647 });
  await insert('BulkExportResultGC', {
    first_run_date: '0000-00-00 00:00:00', latest_run_date: '0000-00-00 00:00:00',
    average_run_duration: '-1.500', min_run_duration: '-2.000', max_run_duration: '-0.500', latest_run_duration: '-3.000',
  });
  await insert(SESSION_GC, { status: null });
  await insert(TEMP_GC, { next_run_date: null });
  // A row that cannot be repaired: the server refuses every change to it (a trigger stands for whatever
  // refuses it on a real server: a replication filter, a DBA's lock).
  await insert(NEWSROOM_GC, { next_run_date: '0000-00-00 00:00:00', running: 1 });
  // A row of a class itop-cron does not run, refused likewise (flipped to 'removed' when it owns the registry).
  await insert('RefusedPhpTask', {});
  await db.execute("SET SESSION sql_mode = DEFAULT");
  await db.execute(
    `CREATE TRIGGER refuse_newsroom BEFORE UPDATE ON ${table} FOR EACH ROW ` +
      `BEGIN IF OLD.class_name LIKE '%EventNotificationNewsroomGC' OR OLD.class_name = 'RefusedPhpTask' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'row locked by the DBA'; END IF; END`,
  );
}

function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('bad registry values are repaired with a warning, an unrepairable row is skipped, and every other task runs', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  await damage(db);
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const env = cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '3', ITOP_CRON_SLEEP: '1', ITOP_CRON_OWN_REGISTRY: '1' });

  // The read-only views show the damaged rows without failing.
  const only = await runCli([`--param_file=${params}`, '--status_only=1'], { env });
  assert.equal(only.code, 0, only.stdout + only.stderr);
  assert.match(only.stdout, /^\| InlineImageGC {13}\| active {2}\| 2026-01-01 00:00:00 \| 0000-00-00 00:00:00 \|/m);
  const status = await runCli(['status', '--json', `--param_file=${params}`], { env });
  assert.ok(status.code === 0 || status.code === 1, status.stdout + status.stderr);
  assert.equal((JSON.parse(status.stdout) as { tasks: unknown[] }).tasks.length, 8);

  const before = await rows(db);
  const startedLocal = createClock('Europe/Paris').nowLocal();
  const r = await runCli([`--param_file=${params}`, '--verbose=1'], { env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /ERROR/, r.stdout);
  assert.match(r.stdout, /^Reached normal execution time limit/m);
  const log = logLines(r.stderr);
  const repaired = (task: string, column: string): boolean =>
    log.some((l) => l['task'] === task && l['column'] === column && l['level'] === 40 && /bad registry value repaired/.test(String(l['msg'])));
  for (const [task, column] of [
    ['InlineImageGC', 'next_run_date'],
    ['CheckStopWatchThresholds', 'total_exec_count'],
    ['BulkExportResultGC', 'first_run_date'],
    ['BulkExportResultGC', 'latest_run_date'],
    ['BulkExportResultGC', 'average_run_duration'],
    ['BulkExportResultGC', 'min_run_duration'],
    ['BulkExportResultGC', 'max_run_duration'],
    ['BulkExportResultGC', 'latest_run_duration'],
    [SESSION_GC, 'status'],
    [TEMP_GC, 'next_run_date'],
  ] as const) {
    assert.ok(repaired(task, column), `a warning names ${task} and ${column}: ${r.stderr}`);
  }
  assert.ok(
    log.some((l) => l['task'] === NEWSROOM_GC && l['level'] === 50 && /could not be repaired: task skipped/.test(String(l['msg'])) && /row locked by the DBA/.test(String(l['err']))),
    r.stderr,
  );
  assert.ok(log.some((l) => l['task'] === NEWSROOM_GC && /running flag left by a previous run could not be cleared/.test(String(l['msg']))), r.stderr);
  assert.ok(log.some((l) => l['task'] === 'RefusedPhpTask' && /could not be marked removed/.test(String(l['msg']))), r.stderr);
  assert.doesNotMatch(r.stdout, /Starting: Combodo\\iTop\\Service\\Notification\\Event\\EventNotificationNewsroomGC/);

  const after = await rows(db);
  for (const cls of ['InlineImageGC', 'CheckStopWatchThresholds', 'ExecAsyncTask', 'BulkExportResultGC', SESSION_GC, TEMP_GC]) {
    const a = after.get(cls);
    assert.ok(a !== undefined, cls);
    assert.equal(Number(a.running), 0, `${cls} finished`);
    assert.equal(a.status, 'active', cls);
    assert.ok(a.latest_run_date !== null && a.latest_run_date >= startedLocal, `${cls} ran: ${a.latest_run_date}`);
    assert.ok(a.next_run_date !== null && a.next_run_date > '2026-01-01', `${cls} has a next run: ${a.next_run_date}`);
    if (cls !== 'ExecAsyncTask') assert.ok(Number(a.total_exec_count) >= 1 && Number(a.total_exec_count) <= 10, `${cls}: ${a.total_exec_count}`);
    for (const c of ['latest_run_duration', 'min_run_duration', 'max_run_duration', 'average_run_duration'] as const) {
      assert.ok(Number(a[c]) >= 0, `${cls}.${c} = ${a[c]}`);
    }
  }
  // The saturated counter stays at INT's maximum instead of overflowing.
  assert.equal(Number(after.get('ExecAsyncTask')?.total_exec_count), 2147483647);
  assert.equal(Number(before.get('CheckStopWatchThresholds')?.total_exec_count), -1);
  // The unrepairable row is as it was.
  assert.deepEqual(after.get(NEWSROOM_GC), before.get(NEWSROOM_GC));
  assert.deepEqual(after.get('RefusedPhpTask'), before.get('RefusedPhpTask'));

  // And the next run finds nothing left to repair.
  const again = await runCli([`--param_file=${params}`], { env: { ...env, ITOP_CRON_MAX_EXECUTION_TIME: '1' } });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.ok(!logLines(again.stderr).some((l) => /bad registry value repaired/.test(String(l['msg']))), again.stderr);
});

test('a row damaged while the run goes on (zero planned date, -1 count, saturated count) is run and written within range', async (t) => {
  const db = await createTestDb(t);
  const config = testConfig(db);
  const pool = testPool(t, config);
  const { env } = opsEnv(config, pool, { clock: pinnedClock('2026-03-10 12:00:00') });
  await db.execute("SET SESSION sql_mode = ''");
  await db.execute(
    `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, next_run_date, total_exec_count, min_run_duration, status) VALUES ` +
      "('Zero', '0000-00-00 00:00:00', -1, 99999.999, 'active'), ('Full', '2026-03-10 11:59:00', 2147483647, 99999.999, 'active')",
  );
  await db.execute('SET SESSION sql_mode = DEFAULT');
  for (const cls of ['Zero', 'Full']) {
    const row = await taskByClass(pool, cls);
    assert.ok(row !== undefined);
    const result = await runTask(env, controllableTask(cls, { fail: false }), row, Date.now() + 60_000);
    assert.equal(result.outcome, 'success', cls);
  }
  const after = await db.query<{ class_name: string; next_run_date: string; total_exec_count: number; average_run_duration: string }>(
    `SELECT class_name, next_run_date, total_exec_count, average_run_duration FROM ${db.table('priv_backgroundtask')} ORDER BY id`,
  );
  // Zero: no planned date to step from, so one period after the (pinned) end of the run.
  assert.deepEqual(after.map((r) => [r.class_name, r.next_run_date, Number(r.total_exec_count)]), [
    ['Zero', '2026-03-10 12:01:00', 1],
    ['Full', '2026-03-10 12:00:00', 2147483647],
  ]);
  for (const r of after) assert.ok(Number(r.average_run_duration) >= 0, r.class_name);
});
