/**
 * The run history (table created on demand, retention, queries, `itop-cron history`) and the logs (one
 * 'task run' line per run, file rotation), against a real MariaDB and real files.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { consecutiveFailures, failureStreak, historySummary, HISTORY_TABLE, recentRuns } from '../src/db/runHistory.js';
import { createHistoryRecorder, historyLines } from '../src/ops/history.js';
import { parseRotation, RotatingFile, rotationFromConfig } from '../src/output/logFile.js';
import { createLogger } from '../src/output/logger.js';
import type { TaskRunEvent } from '../src/scheduler/observer.js';
import type { Clock } from '../src/time/clock.js';
import { cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { pinnedClock, recordingLogger, testConfig, testPool } from './helpers/opsEnv.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const PWD = 'History.Pa55-word';

function event(clock: Clock, className: string, outcome: TaskRunEvent['outcome'], offsetS = 0, message: string | null = 'm'): TaskRunEvent {
  const startMs = clock.nowMs() + offsetS * 1000;
  return { className, planned: clock.format(startMs), startMs, endMs: startMs + 1500, durationSeconds: 1.5, outcome, message, nextRunDate: null };
}

test('the history table is created on demand and keeps what a run was', async (t) => {
  const db = await createTestDb(t, { prefix: 'p_' });
  const config = testConfig(db);
  const pool = testPool(t, config);
  const clock = pinnedClock('2025-03-10 12:00:00');
  assert.deepEqual(await db.query(`SHOW TABLES LIKE 'p_${HISTORY_TABLE}'`), []);
  assert.deepEqual(await recentRuns(pool, undefined, 10), [], 'no table yet reads as no run');
  const { log } = recordingLogger();
  const history = createHistoryRecorder({ db: pool, clock, log, settings: { historyMaxRows: 1000, historyMaxDays: 30 }, host: 'node-1' });
  await history.record(event(clock, 'InlineImageGC', 'failure', 0, `Processing failed with message: ${'x'.repeat(3000)}`));
  const [row] = await db.query<Record<string, unknown>>(`SELECT * FROM ${db.table(HISTORY_TABLE)}`);
  assert.equal(row?.['class_name'], 'InlineImageGC');
  assert.equal(row?.['planned'], '2025-03-10 12:00:00');
  assert.equal(row?.['started'], '2025-03-10 12:00:00');
  assert.equal(row?.['ended'], '2025-03-10 12:00:01');
  assert.equal(row?.['duration'], '1.500');
  assert.equal(row?.['outcome'], 'failure');
  assert.equal(row?.['host'], 'node-1');
  assert.equal(String(row?.['message']).length, 2000, 'long messages are cut');
  // iTop's own tables are untouched: only ours was added.
  const ours = await db.query<{ n: string }>("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'p\\_itop\\_cron%'");
  assert.equal(Number(ours[0]?.n), 1);
});

test('a database user without CREATE privilege: the history is disabled once, the runs go on', async (t) => {
  const db = await createTestDb(t);
  const user = `u_${db.name.slice(2)}`;
  await db.execute(`CREATE USER '${user}'@'%' IDENTIFIED BY 'Limited.Pwd-1'`);
  const { log, lines } = recordingLogger();
  try {
    await db.execute(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${db.name}\`.* TO '${user}'@'%'`);
    const base = testConfig(db);
    const pool = testPool(t, { ...base, db: { ...base.db, user, password: 'Limited.Pwd-1' } });
    const clock = pinnedClock('2025-03-10 12:00:00');
    const history = createHistoryRecorder({ db: pool, clock, log, settings: { historyMaxRows: 10, historyMaxDays: 30 } });
    await history.record(event(clock, 'A', 'success'));
    await history.record(event(clock, 'A', 'success', 1));
    await pool.close();
  } finally {
    await db.execute(`DROP USER '${user}'@'%'`);
  }
  const errors = lines.filter((l) => l['msg'] === 'run history disabled for this run: its table cannot be created');
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]?.['err']), /CREATE command denied/);
  assert.ok(!JSON.stringify(lines).includes('Limited.Pwd-1'));
});

test('retention: newest N runs per class, nothing older than the age limit, pruned every N inserts', async (t) => {
  const db = await createTestDb(t);
  const config = testConfig(db);
  const pool = testPool(t, config);
  const clock = pinnedClock('2025-03-10 12:00:00');
  const { log } = recordingLogger();
  const everyTime = createHistoryRecorder({ db: pool, clock, log, settings: { historyMaxRows: 3, historyMaxDays: 2 }, pruneEvery: 1 });
  for (let i = 0; i < 5; i++) await everyTime.record(event(clock, 'A', 'success', i));
  for (let i = 0; i < 2; i++) await everyTime.record(event(clock, 'B', 'success', i));
  assert.deepEqual((await recentRuns(pool, 'A', 10)).map((r) => r.started), ['2025-03-10 12:00:04', '2025-03-10 12:00:03', '2025-03-10 12:00:02']);
  assert.equal((await recentRuns(pool, 'B', 10)).length, 2);

  // A run started three days ago goes at the next pruning, whatever its class.
  await everyTime.record(event(clock, 'C', 'success', -3 * 86400));
  await everyTime.record(event(clock, 'B', 'success', 10));
  assert.deepEqual((await recentRuns(pool, 'C', 10)).length, 0);

  // The default recorder prunes a class at its first insert, then once every PRUNE_EVERY inserts.
  const cheap = createHistoryRecorder({ db: pool, clock, log, settings: { historyMaxRows: 1, historyMaxDays: 30 } });
  for (let i = 10; i < 14; i++) await cheap.record(event(clock, 'A', 'success', i));
  assert.equal((await recentRuns(pool, 'A', 100)).length, 4, 'one left by the first pruning, then three unpruned');
});

test('consecutive failures, summary, and the text and JSON forms', async (t) => {
  const db = await createTestDb(t);
  const config = testConfig(db);
  const pool = testPool(t, config);
  const clock = pinnedClock('2025-03-10 12:00:00');
  const { log } = recordingLogger();
  const history = createHistoryRecorder({ db: pool, clock, log, settings: { historyMaxRows: 100, historyMaxDays: 30 }, host: 'h' });
  assert.equal(await consecutiveFailures(pool, 'A', 5), 0);
  await history.record(event(clock, 'A', 'failure', 0));
  await history.record(event(clock, 'A', 'success', 1, 'fine'));
  await history.record(event(clock, 'A', 'timeout', 2));
  await history.record(event(clock, 'A', 'fatal', 3, 'bad config'));
  assert.equal(await consecutiveFailures(pool, 'A', 5), 2);
  assert.equal(await consecutiveFailures(pool, 'A', 1), 1);
  assert.deepEqual((await failureStreak(pool, 'A', 2))?.map((r) => r.outcome), ['fatal', 'timeout']);
  assert.equal(await failureStreak(pool, 'A', 1), undefined, 'a streak of 2 reached 1 earlier');
  assert.equal(await failureStreak(pool, 'A', 3), undefined);
  const summary = await historySummary(pool);
  assert.deepEqual(summary.get('A'), { lastOutcome: 'fatal', lastEnded: '2025-03-10 12:00:04', lastMessage: 'bad config', lastSuccess: '2025-03-10 12:00:02' });
  const lines = historyLines(await recentRuns(pool, 'A', 2));
  assert.equal(lines[0], 'Started              Task Class                 Outcome    Duration  Host              Message');
  assert.equal(lines[2], '2025-03-10 12:00:03  A                          fatal       1.500 s  h                 bad config');
  assert.equal(lines.length, 4);
  assert.deepEqual(historyLines([]).slice(2), ['(no run recorded)']);
});

test('itop-cron history after a real cron run; at debug the log has one structured line per task run, at info one summary', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const logFile = join(tempDir('ops-log-'), 'cron.log');
  // The per-task line of a task that succeeded is at debug (docs/configuration.md, "log"): ask for it.
  const env = cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '2', ITOP_CRON_SLEEP: '1', ITOP_CRON_LOG: logFile, ITOP_CRON_LOG_LEVEL: 'debug' });
  const cron = await runCli([`--param_file=${params}`], { env });
  assert.equal(cron.code, 0, cron.stdout + cron.stderr);

  const json = await runCli(['history', '--json', '--limit=500', `--param_file=${params}`], { env });
  assert.equal(json.code, 0, json.stdout + json.stderr);
  const runs = JSON.parse(json.stdout) as Array<{ id: number; className: string; outcome: string; durationSeconds: number; host: string; message: string | null }>;
  const gc = runs.filter((r) => r.className === 'InlineImageGC');
  assert.ok(gc.length >= 1, json.stdout);
  assert.equal(gc[0]?.outcome, 'success');
  assert.equal(gc[0]?.message, 'Cleaned 0 old temporary InlineImage(s) and 0 old temporary Attachment(s).');
  assert.ok((gc[0]?.host ?? '') !== '');
  assert.deepEqual(runs.map((r) => r.id), [...runs.map((r) => r.id)].sort((a, b) => b - a), 'newest first');

  const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const taskRuns = lines.filter((l) => l['msg'] === 'task run');
  assert.equal(taskRuns.length, runs.length, 'one log line per recorded run');
  const line = taskRuns.find((l) => l['task'] === 'InlineImageGC');
  for (const key of ['planned', 'start', 'end', 'duration', 'outcome', 'message', 'next']) assert.ok(line !== undefined && key in line, key);
  assert.equal(line?.['level'], 20, 'debug: the task succeeded');
  const summaries = lines.filter((l) => String(l['msg']).startsWith('cron run: '));
  assert.equal(summaries.length, 1, 'one summary line per run');
  assert.equal(summaries[0]?.['level'], 30, 'the summary is at info');
  assert.equal(summaries[0]?.['taskRuns'], runs.length, 'the summary counts every recorded run');
  assert.equal(summaries[0]?.['failures'], 0);

  const human = await runCli(['history', 'inlineimagegc', '--limit=1', `--param_file=${params}`], { env });
  assert.equal(human.code, 0);
  const out = human.stdout.trimEnd().split('\n');
  assert.equal(out.length, 3);
  assert.match(out[2] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}InlineImageGC {14}success +\d+\.\d{3} s {2}/);

  const help = await runCli(['history', '--help']);
  assert.match(help.stdout, /^Usage: itop-cron history \[<Class>\]/);
  const bad = await runCli(['history', '--limit=0', `--param_file=${params}`], { env });
  assert.equal(bad.code, 254);
  assert.match(bad.stdout, /^Error: Invalid value for '--limit'/);
});

test('rotation settings: only for a log file, in iTop\'s zone', async (t) => {
  const db = await createTestDb(t, { schema: false });
  const toFile = (settings: Record<string, string | number>) => {
    const c = testConfig(db, settings);
    return { ...c, log: { destination: '/var/log/itop-cron.log', level: 'info' as const } };
  };
  assert.deepEqual(rotationFromConfig(toFile({ 'itop_cron.log_rotate': '5MB', 'itop_cron.log_rotate_keep': 3 })), {
    policy: { kind: 'size', maxBytes: 5 * 1024 * 1024 }, keep: 3, timezone: 'Europe/Paris',
  });
  assert.equal(rotationFromConfig(toFile({})), undefined);
  assert.equal(rotationFromConfig(testConfig(db, { 'itop_cron.log_rotate': 'daily' })), undefined, 'stderr never rotates');
  assert.throws(() => rotationFromConfig(toFile({ 'itop_cron.log_rotate': 'hourly' })), /Invalid value for 'itop_cron.log_rotate'/);
});

test('log rotation: by size (numbered, bounded) and by day (dated, also at open)', () => {
  assert.deepEqual(parseRotation('daily'), { kind: 'daily' });
  assert.deepEqual(parseRotation('10MB'), { kind: 'size', maxBytes: 10 * 1024 * 1024 });
  assert.deepEqual(parseRotation(' 512kb '), { kind: 'size', maxBytes: 512 * 1024 });
  assert.equal(parseRotation(''), undefined);
  assert.throws(() => parseRotation('weekly'), /itop_cron\.log_rotate/);

  const dir = tempDir('ops-rotate-');
  const file = join(dir, 'sub', 'itop-cron.log');
  const log = createLogger({ destination: file, level: 'info' }, ['s3cret-value'], { policy: { kind: 'size', maxBytes: 400 }, keep: 2 });
  for (let i = 0; i < 30; i++) log.info({ i, note: 'password s3cret-value' }, 'a line of some length to fill the file quickly');
  log.flush();
  assert.deepEqual(readdirSync(join(dir, 'sub')).sort(), ['itop-cron.log', 'itop-cron.log.1', 'itop-cron.log.2']);
  for (const f of readdirSync(join(dir, 'sub'))) {
    const text = readFileSync(join(dir, 'sub', f), 'utf8');
    assert.ok(text.length <= 400, `${f} has ${text.length} bytes`);
    assert.ok(!text.includes('s3cret-value'));
  }
  const last = readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { i: number }).i);
  assert.equal(last.at(-1), 29);

  let now = Date.parse('2025-03-10T22:00:00Z'); // 23:00 in Paris
  const daily = join(dir, 'daily.log');
  const r = new RotatingFile(daily, { policy: { kind: 'daily' }, timezone: 'Europe/Paris', now: () => now });
  r.write('day one\n');
  now += 2 * 3600_000; // 01:00 the next day in Paris
  r.write('day two\n');
  r.end();
  assert.equal(readFileSync(`${daily}.2025-03-10`, 'utf8'), 'day one\n');
  assert.equal(readFileSync(daily, 'utf8'), 'day two\n');

  // A file last written on an earlier day is rotated when a new process opens it.
  const stale = join(dir, 'stale.log');
  writeFileSync(stale, 'old\n');
  const old = Date.parse('2025-03-01T12:00:00Z') / 1000;
  utimesSync(stale, old, old);
  new RotatingFile(stale, { policy: { kind: 'daily' }, timezone: 'Europe/Paris', now: () => now }).end();
  assert.equal(readFileSync(`${stale}.2025-03-01`, 'utf8'), 'old\n');
  assert.equal(existsSync(stale), true);
  assert.equal(readFileSync(stale, 'utf8'), '');
});

test('the log is built on its first line: nothing written, no file; then lines, child loggers and levels as pino', () => {
  const dir = tempDir('ops-lazy-log-');
  const file = join(dir, 'sub', 'itop-cron.log');
  const log = createLogger({ destination: file, level: 'info' }, ['s3cret-value']);
  log.flush();
  assert.equal(existsSync(join(dir, 'sub')), false, 'a run that logs nothing creates no log file');
  log.child({ task: 'T' }).warn({ pwd: 'x' }, 'with s3cret-value inside');
  log.debug('below the level');
  log.flush();
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.['task'], 'T');
  assert.equal(lines[0]?.['pwd'], '[redacted]');
  assert.equal(lines[0]?.['msg'], 'with [redacted] inside');
  assert.equal(log.level, 'info');
  assert.equal(log.isLevelEnabled('debug'), false);
});
