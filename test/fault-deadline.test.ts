/**
 * Fault injection, hung and runaway tasks (issue 5): every task has a hard deadline enforced by the daemon.
 * A never-resolving promise is abandoned, a busy loop in a worker thread is terminated, the run is recorded
 * and rescheduled drift-free, and the loop goes on with the next task.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { insertTask, taskByClass } from '../src/db/backgroundTasks.js';
import { NamedLock, lockName } from '../src/db/lock.js';
import { ProcessFatalError } from '../src/errors.js';
import { hardDeadlineMs, runWithDeadline, taskDeadlineOverrides, TaskTimeoutError } from '../src/scheduler/deadline.js';
import { runTask } from '../src/scheduler/runTask.js';
import { watchTask } from '../src/scheduler/taskWatch.js';
import type { BackgroundTask } from '../src/tasks/types.js';
import { cliEnv, makeItopRoot, writeParamFile } from './helpers/cli.js';
import { faultModule, inProcessEnv, OutputRecorder, waitFor } from './helpers/fault.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const PWD = 'Fault.Deadline-Pwd9';
const recorder = new OutputRecorder();

/** A task of this process that never settles and remembers the signal it was given. */
function neverTask(seen: { signal?: AbortSignal }): BackgroundTask {
  return {
    className: 'InProcessNever',
    periodicity: () => 60,
    process: (ctx) => {
      seen.signal = ctx.signal;
      return new Promise(() => undefined);
    },
  };
}

test('a never-resolving task is abandoned at its hard deadline, its signal fired', { timeout: 30_000 }, async (t) => {
  const db = await createTestDb(t);
  const run = inProcessEnv(db, {}, { task_grace_seconds: '0' });
  t.after(() => run.close());
  const seen: { signal?: AbortSignal } = {};
  await assert.rejects(runWithDeadline(run.env, neverTask(seen), Date.now() + 300), (e: unknown) => {
    assert.ok(e instanceof TaskTimeoutError);
    assert.match(e.message, /^InProcessNever exceeded its hard deadline of 0s and was aborted$/);
    return true;
  });
  assert.equal(seen.signal?.aborted, true);
});

test('runTask records an abandoned run: duration, error, drift-free next run, running left at 1', { timeout: 30_000 }, async (t) => {
  const db = await createTestDb(t);
  const run = inProcessEnv(db, { 'itop_cron.task_deadlines': 'InProcessNever=1' });
  t.after(() => run.close());
  const planned = run.env.clock.format(Date.now() - 5000);
  const id = await insertTask(run.db, 'InProcessNever', planned);
  const row = await taskByClass(run.db, 'InProcessNever');
  assert.ok(row !== undefined);
  const result = await runTask(run.env, neverTask({}), row, Date.now() + 600_000);
  assert.equal(result.outcome, 'timeout');
  assert.equal(result.message, 'Processing failed with message: InProcessNever exceeded its hard deadline of 1s and was aborted');
  assert.ok(result.durationSeconds >= 0.9, `duration ${result.durationSeconds}`);
  const after = await db.query<Record<string, unknown>>(`SELECT * FROM ${db.table('priv_backgroundtask')} WHERE id = ?`, [id]);
  assert.equal(Number(after[0]?.['total_exec_count']), 1);
  assert.equal(Number(after[0]?.['running']), 1, 'as cron.php after a failure');
  assert.ok(Number(after[0]?.['latest_run_duration']) >= 0.9);
  // Planned 5 s ago with a 60 s period: the next slot is planned + 60 s.
  assert.equal(after[0]?.['next_run_date'], run.env.clock.format(run.env.clock.parse(planned) + 60_000));
  assert.ok(run.logs.some((l) => l.includes('"outcome":"timeout"')));
});

test('a busy loop in a worker thread is terminated at its hard deadline (declared isolated, or by the setting)', { timeout: 30_000 }, async (t) => {
  const db = await createTestDb(t);
  const run = inProcessEnv(db, { 'itop_cron.task_deadlines': { FaultBusyLoop: 1, FaultSpin: 1 }, 'itop_cron.isolate_extensions': true });
  t.after(() => run.close());
  const tasks = await run.loadTasks(faultModule('busy.mjs'), faultModule('spin.mjs'));
  for (const name of ['FaultBusyLoop', 'FaultSpin']) {
    const task = tasks.find((x) => x.className === name);
    assert.ok(task !== undefined);
    const started = Date.now();
    await assert.rejects(runWithDeadline(run.env, task, Date.now() + 600_000), new RegExp(`^TaskTimeoutError: ${name} exceeded its hard deadline of 1s`));
    assert.ok(Date.now() - started >= 900);
  }
  // The main thread kept its event loop all along (the timers above fired).
});

test('an isolated task uses the database, prints, logs and returns through the worker', { timeout: 30_000 }, async (t) => {
  const db = await createTestDb(t);
  const run = inProcessEnv(db, {}, { marker: 'm1' });
  t.after(() => run.close());
  await insertTask(run.db, 'Anything', run.env.clock.nowLocal());
  const tasks = await run.loadTasks(faultModule('isolated.mjs'));
  const ok = tasks.find((x) => x.className === 'FaultIsolatedOk');
  const fatal = tasks.find((x) => x.className === 'FaultIsolatedFatal');
  assert.ok(ok !== undefined && fatal !== undefined);
  const message = await runWithDeadline(run.env, ok, Date.now() + 60_000);
  assert.equal(message, 'rows=1 marker=m1 inTime=true aborted=false');
  assert.match(run.out.text(), /^printed from the worker \(Europe\/Paris\)\n$/);
  const logged = run.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'logged from the worker');
  assert.equal(logged?.['rows'], 1);
  assert.equal(logged?.['task'], 'FaultIsolatedOk');
  assert.equal(logged?.['level'], 40);
  await assert.rejects(runWithDeadline(run.env, fatal, Date.now() + 60_000), (e: unknown) => {
    assert.ok(e instanceof ProcessFatalError, 'the loop still tells a fatal error apart');
    assert.equal(e.message, 'fatal from the worker');
    return true;
  });
});

test('an interrupt fires the task signal; a polite task returns, a deaf one is abandoned after the grace', { timeout: 30_000 }, async (t) => {
  const db = await createTestDb(t);
  const run = inProcessEnv(db);
  t.after(() => run.close());
  const polite = (await run.loadTasks(faultModule('isolated.mjs'))).find((x) => x.className === 'FaultIsolatedPolite');
  assert.ok(polite !== undefined);
  const stopPolite = new AbortController();
  const politeRun = runWithDeadline(run.env, polite, Date.now() + 60_000, stopPolite.signal);
  await waitFor('the worker to start', () => run.out.text().includes('polite task waiting'));
  stopPolite.abort('maintenance detected');
  assert.equal(await politeRun, 'stopped: maintenance detected');

  const stopDeaf = new AbortController();
  setTimeout(() => stopDeaf.abort('the cron lock was lost'), 100);
  const seen: { signal?: AbortSignal } = {};
  await assert.rejects(
    runWithDeadline(run.env, neverTask(seen), Date.now() + 60_000, stopDeaf.signal),
    /^TaskTimeoutError: InProcessNever was aborted after 1s: the cron lock was lost$|InProcessNever was aborted after 0s: the cron lock was lost/,
  );
  assert.equal(seen.signal?.aborted, true);
});

test('hard deadlines: limit + grace by default, itop_cron.task_deadlines per class (array or string)', { timeout: 30_000 }, async (t) => {
  const db = await createTestDb(t);
  const run = inProcessEnv(db, { 'itop_cron.task_deadlines': { ExecAsyncTask: 120, '\\BackupExec': '3600', Bad: 0, Worse: 'abc' } });
  t.after(() => run.close());
  assert.deepEqual([...taskDeadlineOverrides(run.env.config)], [['ExecAsyncTask', 120], ['BackupExec', 3600]]);
  const text = inProcessEnv(db, { 'itop_cron.task_deadlines': 'A=5, B = 7 ,C=-1,=3,D' }, { task_grace_seconds: '10' });
  t.after(() => text.close());
  assert.deepEqual([...taskDeadlineOverrides(text.env.config)], [['A', 5], ['B', 7]]);
  const task = neverTask({});
  assert.equal(hardDeadlineMs(text.env, task, 50_000, 1_000), 60_000, 'limit + task_grace_seconds');
  assert.equal(hardDeadlineMs(text.env, { ...task, className: 'B' }, 50_000, 1_000), 8_000, 'start + override');
  assert.equal(hardDeadlineMs(run.env, task, 50_000, 1_000), 80_000, 'default grace 30 s');
});

test('the task watch fires on a maintenance flag and on a lost lock (KILL of the lock connection)', { timeout: 30_000 }, async (t) => {
  const db = await createTestDb(t);
  const run = inProcessEnv(db);
  t.after(() => run.close());
  const root = tempDir('itop-root-');
  mkdirSync(join(root, 'data'));
  const flagged = { ...run.env, config: { ...run.env.config, appRoot: root } };
  const lock = await NamedLock.open(run.env.config.db, lockName('cron', db.name, db.prefix));
  t.after(() => lock.close());
  assert.equal(await lock.acquire(0), true);

  const quiet = watchTask(flagged, lock, 100);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(quiet.signal.aborted, false, 'nothing to report');
  writeFileSync(join(root, 'data', '.maintenance'), '');
  await new Promise((r) => quiet.signal.addEventListener('abort', r));
  assert.equal(quiet.reason(), 'maintenance');
  quiet.stop();

  const watch = watchTask(run.env, lock, 100);
  await db.execute(`KILL ${lock.connectionId}`);
  await new Promise((r) => watch.signal.addEventListener('abort', r));
  assert.equal(watch.reason(), 'lock-lost', 'the server still answers: the lock, not the database, is gone');
  watch.stop();
});

test('CLI: a busy loop and a never-resolving task are aborted, recorded and rescheduled; the loop goes on', { timeout: 90_000 }, async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const root = makeItopRoot(db, {
    cron_max_execution_time: 6,
    cron_sleep: 1,
    'itop_cron.extensions': `${faultModule('busy.mjs')},${faultModule('never.mjs')}`,
    'itop_cron.task_deadlines': 'FaultBusyLoop=1, FaultNeverResolves=1',
  });
  const r = await recorder.run('hung tasks', [`--param_file=${params}`, `--itop_root=${root}`, '--verbose=1'], { env: cliEnv(db), timeoutMs: 40_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Reached normal execution time limit/);
  for (const cls of ['FaultBusyLoop', 'FaultNeverResolves']) {
    assert.match(r.stdout, new RegExp(`\\n${cls}: Processing failed with message: ${cls} exceeded its hard deadline of 1s and was aborted\\n`));
    assert.match(r.stderr, new RegExp(`"task":"${cls}".*"outcome":"timeout"`));
  }
  const rows = await db.query<Record<string, string>>(`SELECT * FROM ${db.table('priv_backgroundtask')} ORDER BY id`);
  const byClass = new Map(rows.map((r) => [r['class_name'], r]));
  for (const cls of ['FaultBusyLoop', 'FaultNeverResolves']) {
    const row = byClass.get(cls);
    assert.ok(row !== undefined, cls);
    assert.equal(Number(row['total_exec_count']), 1, `${cls} ran once (period 3600 s)`);
    assert.ok(Number(row['latest_run_duration']) >= 0.9, `${cls} duration ${row['latest_run_duration']}`);
    assert.ok(String(row['next_run_date']) > String(row['latest_run_date']), `${cls} rescheduled an hour later`);
  }
  const gc = byClass.get('InlineImageGC');
  assert.ok(Number(gc?.['total_exec_count']) >= 2, 'the other task kept running after the aborted ones');
  assert.ok(String(gc?.['latest_run_date']) >= String(byClass.get('FaultNeverResolves')?.['latest_run_date']));
  recorder.assertNever(PWD);
});

test('CLI outputs of this suite never contain the password', (t) => {
  assert.ok(recorder.count > 0);
  t.diagnostic(`${recorder.count} outputs scanned for the password`);
  recorder.assertNever(PWD);
});
