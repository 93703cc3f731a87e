/**
 * Fault injection, crashes and concurrency (issue 5): `kill -9` at any point of a run leaves a state the
 * next run repairs (stale `running` flags cleared and logged, no duplicate rows, the lock free); five
 * daemons started at once on one database run exactly one loop; a bad schedule setting is reported and
 * skipped while the other tasks run; catch-up after a year of downtime is one step.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { lockName } from '../src/db/lock.js';
import { nextPeriodicRun } from '../src/scheduler/nextRun.js';
import { formatLocal } from '../src/time/zone.js';
import { cliEnv, makeItopRoot, writeParamFile, type CliResult } from './helpers/cli.js';
import { faultModule, OutputRecorder, waitFor } from './helpers/fault.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';

const PWD = 'Fault.Crash-Pwd3';
const recorder = new OutputRecorder();

async function setup(t: Parameters<typeof createTestDb>[0]): Promise<{ db: TestDb; params: string }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  return { db, params: writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`) };
}

async function rows(db: TestDb): Promise<Record<string, string | number | null>[]> {
  return db.query(`SELECT * FROM ${db.table('priv_backgroundtask')} ORDER BY id`);
}

async function lockIsFree(db: TestDb): Promise<boolean> {
  const r = await db.query<{ f: number }>('SELECT IS_FREE_LOCK(?) AS f', [lockName('cron', db.name, db.prefix)]);
  return Number(r[0]?.f) === 1;
}

/** Starts the CLI and returns it with a way to SIGKILL it. */
function spawnRun(label: string, args: string[], env: Record<string, string | undefined>): { done: Promise<CliResult>; kill: () => void } {
  let child: ChildProcess | undefined;
  const done = recorder.run(label, args, { env, timeoutMs: 60_000, onSpawn: (c) => (child = c) });
  return { done, kill: () => child?.kill('SIGKILL') };
}

test('kill -9 during a task: the row stays running, the lock is free; the next run clears the flag (logged) and runs it', async (t) => {
  const { db, params } = await setup(t);
  const env = cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '60', ITOP_CRON_SLEEP: '1', ITOP_CRON_EXTENSIONS: faultModule('slow.mjs') });
  const run = spawnRun('kill -9 during a task', [`--param_file=${params}`], env);
  await waitFor('FaultSlow running', async () => (await rows(db)).some((r) => r['class_name'] === 'FaultSlow' && Number(r['running']) === 1));
  run.kill();
  const killed = await run.done;
  assert.equal(killed.signal, 'SIGKILL');
  const left = (await rows(db)).find((r) => r['class_name'] === 'FaultSlow');
  assert.deepEqual([Number(left?.['running']), Number(left?.['total_exec_count'])], [1, 0]);
  await waitFor('the server to release the lock of the dead process', () => lockIsFree(db), 5000);

  const next = await recorder.run('after kill -9', [`--param_file=${params}`], {
    env: { ...env, ITOP_CRON_MAX_EXECUTION_TIME: '2', FAULT_SLOW_SECONDS: '0' },
  });
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.match(next.stderr, /"task":"FaultSlow".*"msg":"cleared a running flag left by a previous run"/);
  const after = (await rows(db)).find((r) => r['class_name'] === 'FaultSlow');
  assert.deepEqual([Number(after?.['running']), Number(after?.['total_exec_count'])], [0, 1]);
});

test('kill -9 at several points of runs (start-up, resync, loop): no duplicate row, no stuck flag, lock free', async (t) => {
  const { db, params } = await setup(t);
  const env = cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '30', ITOP_CRON_SLEEP: '1' });
  const delays = [400, 900, 1500];
  for (const ms of delays) {
    const run = spawnRun(`kill -9 after ${ms} ms`, [`--param_file=${params}`, '--verbose=1'], env);
    await new Promise((resolve) => setTimeout(resolve, ms));
    run.kill();
    const r = await run.done;
    assert.ok(r.signal === 'SIGKILL' || r.code !== null, 'ended');
    await waitFor('the lock to be free', () => lockIsFree(db), 5000);
  }
  const check = await recorder.run('after the kills', [`--param_file=${params}`], { env: { ...env, ITOP_CRON_MAX_EXECUTION_TIME: '3' } });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  const all = await rows(db);
  const classes = all.map((r) => String(r['class_name']));
  assert.equal(new Set(classes).size, classes.length, `one row per class: ${classes.join(', ')}`);
  assert.ok(classes.includes('InlineImageGC'));
  assert.deepEqual(all.filter((r) => Number(r['running']) === 1).map((r) => r['class_name']), [], 'no flag left at 1');
  assert.ok(await lockIsFree(db));
});

test('five daemons started at once on one database: exactly one runs, the others print Already running...', async (t) => {
  const { db, params } = await setup(t);
  const env = cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '30', ITOP_CRON_SLEEP: '1' });
  const children: ChildProcess[] = [];
  const runs = Array.from({ length: 5 }, (_, i) =>
    recorder.run(`daemon ${i}`, [`--param_file=${params}`], { env, timeoutMs: 60_000, onSpawn: (c) => children.push(c) }),
  );
  // The losers answer at once; the winner then gets a clean SIGTERM instead of running 30 s.
  const settled: (CliResult | undefined)[] = runs.map(() => undefined);
  runs.forEach((p, i) => void p.then((r) => (settled[i] = r)));
  await waitFor('four daemons to give up', () => settled.filter((r) => r !== undefined).length >= 4, 30_000);
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const results = await Promise.all(runs);
  const losers = results.filter((r) => /\nAlready running\.\.\.\n/.test(r.stdout));
  const winners = results.filter((r) => !/Already running/.test(r.stdout));
  assert.equal(losers.length, 4, results.map((r) => r.stdout).join('\n---\n'));
  assert.equal(winners.length, 1);
  for (const r of results) assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const r of losers) assert.match(r.stdout, /^Starting: .+\nAlready running\.\.\.\nExiting: .+\n$/);
  assert.match(winners[0]?.stderr ?? '', /"msg":"cron lock acquired"/);
  assert.ok(await lockIsFree(db));
});

test('a bad schedule setting is reported and skipped, the other tasks run (extension task, itop-backup week_days)', async (t) => {
  const { db, params } = await setup(t);
  const root = makeItopRoot(
    db,
    { cron_max_execution_time: 2, cron_sleep: 1, 'itop_cron.extensions': faultModule('badschedule.mjs') },
    "\t'itop-backup' => array('week_days' => 'funday', 'time' => '23:30'),",
  );
  const r = await recorder.run('bad schedules', [`--param_file=${params}`, `--itop_root=${root}`], { env: cliEnv(db) });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\nERROR: 'itop-backup: wrong format for setting 'week_days' \(found 'funday'\)'\n/);
  assert.match(r.stdout, /\nERROR: 'fault-module: wrong format for setting 'week_days' \(found 'funday'\)'\n/);
  assert.match(r.stdout, /\nExiting: .+\n$/);
  const byClass = new Map((await rows(db)).map((x) => [x['class_name'], x]));
  assert.equal(byClass.has('FaultBadSchedule'), false, 'no row for a task whose first run cannot be computed');
  assert.equal(byClass.has('BackupExec'), false);
  assert.ok(Number(byClass.get('InlineImageGC')?.['total_exec_count']) >= 1, 'the others ran');
  assert.match(r.stderr, /"task":"BackupExec".*invalid schedule setting: task skipped for this run/);
});

test('bounded catch-up: a 1-second task after one year of downtime is due now, in one step', { timeout: 30_000 }, async (t) => {
  const now = Date.now();
  const yearAgo = formatLocal(now - 365 * 86_400_000, 'Europe/Paris');
  const floor = Math.floor(now / 1000) * 1000;
  assert.equal(nextPeriodicRun(yearAgo, 1, now, 'Europe/Paris'), formatLocal(floor, 'Europe/Paris'));
  // Ten years (20 DST changes): stepping over 315 million periods would not end within the test's timeout.
  const decade = formatLocal(now - 3652 * 86_400_000, 'Europe/Paris');
  assert.equal(nextPeriodicRun(decade, 1, now, 'Europe/Paris'), formatLocal(floor, 'Europe/Paris'));

  const { db, params } = await setup(t);
  await db.execute(
    `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, next_run_date, total_exec_count, latest_run_duration, ` +
      "min_run_duration, max_run_duration, average_run_duration, running, status, system_user) VALUES ('InlineImageGC', ?, 0, 0, 99999.999, 0, 0, 0, 'active', '')",
    [yearAgo],
  );
  const started = formatLocal(Date.now(), 'Europe/Paris');
  const r = await recorder.run('one year later', [`--param_file=${params}`], { env: cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '2', ITOP_CRON_SLEEP: '1' }) });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const gc = (await rows(db)).find((x) => x['class_name'] === 'InlineImageGC');
  assert.ok(Number(gc?.['total_exec_count']) >= 1);
  assert.ok(String(gc?.['next_run_date']) >= started, `next run ${gc?.['next_run_date']} is not in the past`);
});

test('no output of this suite contains the password', (t) => {
  assert.ok(recorder.count > 0);
  t.diagnostic(`${recorder.count} outputs scanned for the password`);
  recorder.assertNever(PWD);
});
