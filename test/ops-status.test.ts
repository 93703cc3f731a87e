/**
 * Status as data (statusJson, evaluateHealth) and `itop-cron status`, against a real MariaDB.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lockName, NamedLock } from '../src/db/lock.js';
import { createHistoryRecorder } from '../src/ops/history.js';
import { evaluateHealth, statusJson } from '../src/ops/statusData.js';
import { inlineImageGC } from '../src/tasks/InlineImageGC.js';
import { cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { controllableTask, pinnedClock, recordingLogger, testConfig, testPool } from './helpers/opsEnv.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';

const PWD = 'Status.Pa55-word';

async function addRow(db: TestDb, row: { cls: string; status?: string; next: string | null; last?: string | null; count?: number; running?: number }): Promise<void> {
  const n = row.count ?? 0;
  await db.execute(
    `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, first_run_date, latest_run_date, next_run_date, total_exec_count, ` +
      'latest_run_duration, min_run_duration, max_run_duration, average_run_duration, running, status, system_user) ' +
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'www-data')",
    [row.cls, row.last ?? null, row.last ?? null, row.next, n, n > 0 ? '0.250' : '0.000', n > 0 ? '0.100' : '99999.999', n > 0 ? '0.500' : '0.000', n > 0 ? '0.300' : '0.000', row.running ?? 0, row.status ?? 'active'],
  );
}

async function fill(db: TestDb): Promise<void> {
  await addRow(db, { cls: 'InlineImageGC', next: '2025-03-10 11:40:00', last: '2025-03-10 11:39:00', count: 5 });
  await addRow(db, { cls: 'SomePhpTask', next: '2025-03-10 11:00:00', last: '2025-03-10 10:00:00', count: 2 });
  await addRow(db, { cls: 'PausedTask', status: 'paused', next: '2025-03-01 00:00:00' });
  await addRow(db, { cls: 'Fresh', next: '2025-03-10 13:00:00', running: 1 });
  const async = db.table('priv_async_task');
  await db.execute(`INSERT INTO ${async} (status, created, planned) VALUES ('planned', NOW(), NOW()), ('planned', NOW(), NOW()), ('error', NOW(), NOW()), ('idle', NOW(), NOW())`);
  const images = db.table('inline_image');
  await db.execute(
    `INSERT INTO ${images} (expire, temp_id, item_class, item_id) VALUES ('2025-03-10 11:00:00', 'a', 'UserRequest', 0), ` +
      "('2025-03-10 13:00:00', 'b', 'UserRequest', 0), ('2025-03-10 11:00:00', 'c', 'UserRequest', 5)",
  );
}

test('statusJson: durations, lateness, handled classes, queues, history, lock', async (t) => {
  const db = await createTestDb(t, { prefix: 'pfx_' });
  await fill(db);
  const config = testConfig(db);
  const pool = testPool(t, config);
  const clock = pinnedClock('2025-03-10 12:00:00');
  const tasks = [inlineImageGC, controllableTask('Fresh', { fail: false }), controllableTask('PausedTask', { fail: false })];

  const { log } = recordingLogger();
  const history = createHistoryRecorder({ db: pool, clock, log, settings: { historyMaxRows: 10, historyMaxDays: 30 } });
  const startMs = clock.parse('2025-03-10 11:38:59');
  await history.record({ className: 'InlineImageGC', planned: '2025-03-10 11:38:58', startMs, endMs: startMs + 1000, durationSeconds: 1, outcome: 'success', message: 'ok', nextRunDate: null });
  await history.record({ className: 'InlineImageGC', planned: null, startMs: startMs + 2000, endMs: startMs + 3000, durationSeconds: 1, outcome: 'failure', message: 'Processing failed with message: x', nextRunDate: null });

  const report = await statusJson(pool, config, clock, tasks);
  assert.equal(report.generatedAt, '2025-03-10 12:00:00');
  assert.equal(report.prefix, 'pfx_');
  assert.deepEqual(report.tasks.map((x) => x.className), ['Fresh', 'InlineImageGC', 'PausedTask', 'SomePhpTask']);
  const [fresh, gc, paused, php] = report.tasks;
  assert.deepEqual(fresh?.durations, { min: null, max: null, avg: null, latest: null });
  assert.equal(fresh?.running, true);
  assert.equal(fresh?.overdue, false);
  assert.deepEqual(gc?.durations, { min: 0.1, max: 0.5, avg: 0.3, latest: 0.25 });
  assert.equal(gc?.runCount, 5);
  assert.equal(gc?.overdue, true);
  assert.equal(gc?.latenessSeconds, 1200);
  assert.equal(gc?.lastOutcome, 'failure');
  assert.equal(gc?.lastSuccess, '2025-03-10 11:39:00');
  assert.equal(paused?.overdue, false, 'a paused task is never late');
  assert.equal(paused?.latenessSeconds, 0);
  assert.equal(php?.handled, false);
  assert.equal(php?.latenessSeconds, 3600);
  assert.equal(report.cron.lastRun, '2025-03-10 11:39:00');
  assert.equal(report.cron.lastRunAgeSeconds, 1260);
  assert.deepEqual(report.queues, { asyncPlanned: 2, asyncError: 1, expiredInlineImages: 1, expiredAttachments: 0 });
  assert.equal(report.cron.running, false);
  assert.equal(report.cron.lockConnectionId, null);

  assert.equal(php?.runner, 'none', 'no native task and no iTop sources for the PHP bridge');
  assert.equal(gc?.runner, 'native');

  // Overdue by 1200 s: unhealthy at 900, not at 1500; an active task that nothing can run is always a problem
  // (issue 12: a task that nothing can run is never "healthy"), whatever its lateness.
  const noRunner = /^SomePhpTask has no runner: no iTop sources under \(no iTop root\)/;
  const strict = evaluateHealth(report, { maxLatenessSeconds: 900, maxAgeSeconds: 3600 });
  assert.equal(strict.ok, false);
  assert.equal(strict.problems.length, 2, strict.problems.join('\n'));
  assert.match(strict.problems[0] ?? '', /^InlineImageGC is overdue by 1200s/);
  assert.match(strict.problems[1] ?? '', noRunner);
  const lenient = evaluateHealth(report, { maxLatenessSeconds: 1500, maxAgeSeconds: 3600 });
  assert.equal(lenient.problems.length, 1);
  assert.match(lenient.problems[0] ?? '', noRunner);
  const stale = evaluateHealth(report, { maxLatenessSeconds: 1500, maxAgeSeconds: 600 });
  assert.equal(stale.problems.length, 2);
  assert.equal(stale.problems[1], 'no task has run for 1260s (last run 2025-03-10 11:39:00, limit 600s)');
  const pausedPhp = { ...report, tasks: report.tasks.map((x) => (x.className === 'SomePhpTask' ? { ...x, status: 'paused' as const } : x)) };
  assert.equal(evaluateHealth(pausedPhp, { maxLatenessSeconds: 1500, maxAgeSeconds: 3600 }).ok, true, 'a paused task without a runner is not a problem');

  // A cron holding the lock (the same name as PHP's cron.php) is seen from any connection.
  const lock = await NamedLock.open(config.db, lockName('cron', db.name, 'pfx_'));
  t.after(() => lock.close());
  assert.equal(await lock.acquire(0), true);
  const locked = await statusJson(pool, config, clock, tasks);
  assert.equal(locked.cron.running, true);
  assert.equal(locked.cron.lockConnectionId, lock.connectionId);
  assert.notEqual(locked.cron.lockHolder, null);
});

test('statusJson on a database without the optional tables: queues are null, history empty', async (t) => {
  const db = await createTestDb(t);
  await db.execute(`DROP TABLE ${db.table('attachment')}`);
  await db.execute(`DROP TABLE ${db.table('priv_async_task')}`);
  const config = testConfig(db);
  const pool = testPool(t, config);
  const report = await statusJson(pool, config, pinnedClock('2025-03-10 12:00:00'), []);
  assert.deepEqual(report.tasks, []);
  assert.deepEqual(report.queues, { asyncPlanned: null, asyncError: null, expiredInlineImages: 0, expiredAttachments: null });
  assert.deepEqual(evaluateHealth(report, { maxLatenessSeconds: 900, maxAgeSeconds: 3600 }).problems, ['no task has ever run']);
});

async function cliSetup(t: Parameters<typeof createTestDb>[0]): Promise<{ db: TestDb; params: string }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  return { db, params: writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`) };
}

test('itop-cron status --json: exit 1 when a task is overdue, 0 within the margins', async (t) => {
  const { db, params } = await cliSetup(t);
  const recent = new Date(Date.now() - 60_000);
  const local = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'medium' }).format(recent);
  await addRow(db, { cls: 'InlineImageGC', next: '2020-01-01 00:00:00', last: local, count: 3 });
  const bad = await runCli(['status', '--json', `--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  const report = JSON.parse(bad.stdout) as { tasks: Array<{ className: string; overdue: boolean; latenessSeconds: number }>; health: { ok: boolean; problems: string[]; maxLatenessSeconds: number } };
  assert.equal(report.health.ok, false);
  assert.equal(report.health.maxLatenessSeconds, 900);
  assert.equal(report.tasks[0]?.className, 'InlineImageGC');
  assert.ok((report.tasks[0]?.latenessSeconds ?? 0) > 86400 * 365);

  const ok = await runCli(['status', '--json', '--max_lateness=999999999', '--max_age=3600', `--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { health: { ok: boolean } }).health.ok, true);

  const human = await runCli(['status', `--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(human.code, 1);
  assert.match(human.stdout, /^\+-{27}\+/);
  assert.match(human.stdout, /\| InlineImageGC {13}\| active {2}\|/);
  assert.match(human.stdout, /\nCron: not running\n/);
  // Human units (status at a glance); the JSON keeps seconds.
  assert.match(human.stdout, /\nHealth: UNHEALTHY\n {2}- InlineImageGC is overdue by \d+d( \d+h)? \(next run 2020-01-01 00:00:00, limit 15m\)\n/);
  assert.ok(!human.stdout.includes(PWD) && !human.stderr.includes(PWD));
});

test('itop-cron status: --help, bad option, wrong credentials', async (t) => {
  const { db, params } = await cliSetup(t);
  const help = await runCli(['status', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: itop-cron status \[--json\]/);
  const viaMain = await runCli(['help', 'status']);
  assert.equal(viaMain.stdout, help.stdout);
  const badOpt = await runCli(['status', '--colour=blue', `--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(badOpt.code, 254);
  assert.equal(badOpt.stdout, "Error: Unknown argument '--colour' (see --help)\n");
  const badValue = await runCli(['status', '--max_lateness=soon', `--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(badValue.code, 254);
  assert.match(badValue.stdout, /^Error: Invalid value for '--max_lateness'/);
  const wrong = await runCli(['status', '--auth_user=admin', '--auth_pwd=nope'], { env: cliEnv(db) });
  assert.equal(wrong.code, 255);
  assert.equal(wrong.stdout, "Access wrong credentials ('admin')\n");
});
