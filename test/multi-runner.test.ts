// Cluster mode (itop_cron.cluster) on one plain MariaDB: several runners of the built CLI on one database
// run each occurrence once, take over the task of a runner killed or paused past the lease's TTL, keep
// PHP's cron.php out through the classic lock, stop together on a maintenance flag, and schedule on the
// database's clock whatever their own clocks say. The same on a real Galera cluster: cluster-runners.test.ts.
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'node:test';
import mysql from 'mysql2/promise';
import { lockName } from '../src/db/lock.js';
import { EXIT_ERROR } from '../src/errors.js';
import { cliEnv, makeItopRoot, runCli, writeParamFile, type CliResult } from './helpers/cli.js';
import { doubles, HISTORY_COLUMNS, killAndTimeTakeover, overlaps, type HistoryRow } from './helpers/clusterHistory.js';
import { faultModule, waitFor } from './helpers/fault.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';

const PWD = 'Cluster.Pa55-word';
/** Short leases so that the takeovers happen within a test: renewed every second, lost after 4 s. */
const CLUSTER = { 'itop_cron.cluster': true, 'itop_cron.cluster_renew_seconds': 1, 'itop_cron.cluster_ttl_seconds': 4, cron_sleep: 1 };

interface Runner {
  readonly done: Promise<CliResult>;
  child?: ChildProcess;
}

async function setup(t: test.TestContext): Promise<{ db: TestDb; params: string }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  return { db, params: writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`) };
}

function startRunner(db: TestDb, params: string, root: string, extra: Record<string, string> = {}, wrap?: string[]): Runner {
  const runner: { done?: Promise<CliResult>; child?: ChildProcess } = {};
  runner.done = runCli([`--param_file=${params}`, `--itop_root=${root}`, '--verbose=1'], {
      env: cliEnv(db, { ITOP_CRON_LOG_LEVEL: 'debug', ...extra }),
      timeoutMs: 90_000,
      onSpawn: (c) => {
        runner.child = c;
      },
      ...(wrap !== undefined ? { wrap } : {}),
    });
  return runner as Runner;
}

interface StatusJson {
  cluster: { runners: Array<{ runner: string; alive: boolean }>; leases: Array<{ name: string; runner: string }> };
}

/** Rows of a table of itop-cron's own, which the first runner creates: none before it exists. */
async function ownRows<T extends object>(db: TestDb, sql: string, params: Array<string | number>): Promise<T[]> {
  try {
    return await db.query<T>(sql, params);
  } catch (e) {
    if ((e as { code?: string }).code === 'ER_NO_SUCH_TABLE') return [];
    throw e;
  }
}

const history = (db: TestDb, cls?: string): Promise<HistoryRow[]> =>
  ownRows<HistoryRow>(
    db,
    `SELECT ${HISTORY_COLUMNS} FROM ${db.table('itop_cron_run_history')} ${cls === undefined ? '' : 'WHERE class_name = ?'} ORDER BY id`,
    cls === undefined ? [] : [cls],
  );

async function ticks(db: TestDb, cls: string): Promise<number> {
  const rows = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM cluster_ticks WHERE class_name = ?', [cls]);
  return Number(rows[0]?.n);
}

test('three runners on one database: every occurrence runs once, one registry row per class, the status shows them', { timeout: 120_000 }, async (t) => {
  const { db, params } = await setup(t);
  const roots = [0, 1, 2].map(() => makeItopRoot(db, { ...CLUSTER, cron_max_execution_time: 15 }));
  const env = { ITOP_CRON_EXTENSIONS: faultModule('ticks.mjs') };
  const runners = roots.map((root) => startRunner(db, params, root, env));
  // While they run, the status shows each runner alive and who holds which lease.
  let seen: StatusJson | undefined;
  await waitFor('three runners alive in the status', async () => {
    const s = await runCli(['status', '--json', `--param_file=${params}`, `--itop_root=${roots[0]}`], { env: cliEnv(db, env) });
    seen = JSON.parse(s.stdout) as StatusJson;
    return seen.cluster.runners.filter((r) => r.alive).length === 3;
  }, 20_000);
  assert.deepEqual(new Set(seen?.cluster.runners.map((r) => r.runner.replace(/:\d+$/, ''))).size, 1, 'host:pid on one host');
  assert.ok(seen?.cluster.leases.every((l) => /:\d+$/.test(l.runner)));
  const results = await Promise.all(runners.map((r) => r.done));
  for (const r of results) {
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /Already running|ERROR/, r.stdout);
  }
  const rows = await history(db);
  assert.deepEqual(doubles(rows), [], 'no occurrence recorded twice');
  assert.deepEqual(overlaps(rows), [], 'no two runs of one task at the same time');
  const tick1 = rows.filter((r) => r.class_name === 'ClusterTick1');
  t.diagnostic(`ClusterTick1 ran ${tick1.length} times in 15 s; runners: ${[...new Set(rows.map((r) => r.host))].join(', ')}`);
  assert.ok(tick1.length >= 10, `the 1-second task kept its schedule (${tick1.length} runs)`);
  assert.equal(await ticks(db, 'ClusterTick1'), tick1.length, 'each execution recorded once in the history');
  assert.equal(await ticks(db, 'ClusterTick2'), rows.filter((r) => r.class_name === 'ClusterTick2').length);
  assert.ok(rows.every((r) => /:\d+$/.test(r.host)), 'the history names each run\'s runner as host:pid');
  const perClass = await db.query<{ class_name: string; n: number }>(`SELECT class_name, COUNT(*) AS n FROM ${db.table('priv_backgroundtask')} GROUP BY class_name HAVING n > 1`);
  assert.deepEqual(perClass, [], 'one registry row per class');
  const registered = await db.query<{ n: number; stopped: number }>(`SELECT COUNT(*) AS n, SUM(stopped IS NOT NULL) AS stopped FROM ${db.table('itop_cron_runner')}`);
  assert.equal(Number(registered[0]?.n), 3);
  assert.equal(Number(registered[0]?.stopped), 3, 'each runner recorded its stop');
  // None left: unhealthy, and the status says why.
  const after = await runCli(['status', `--param_file=${params}`, `--itop_root=${roots[0]}`], { env: cliEnv(db, env) });
  assert.equal(after.code, 1, after.stdout + after.stderr);
  assert.match(after.stdout, /^Cluster: 0 runner\(s\) alive/m);
  assert.match(after.stdout, /^ {2}- no itop-cron runner is alive \(cluster mode: no heartbeat in the last 4s\)$/m);
});

test('the cron lock held by something else than a runner (PHP\'s cron.php): a cluster runner says "Already running..." as cron.php', { timeout: 60_000 }, async (t) => {
  const { db, params } = await setup(t);
  const root = makeItopRoot(db, { ...CLUSTER, cron_max_execution_time: 3 });
  const conn = await mysql.createConnection({ host: db.server.host, port: db.server.port, user: db.server.user, password: db.server.password, database: db.name });
  try {
    await conn.query('SELECT GET_LOCK(?, 0)', [lockName('cron', db.name, db.prefix)]);
    const r = await startRunner(db, params, root, { ITOP_CRON_EXTENSIONS: faultModule('ticks.mjs') }).done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Already running\.\.\.$/m);
    assert.equal((await history(db)).length, 0, 'no task ran');
  } finally {
    await conn.end();
  }
});

/** The pid in a runner id (host:pid:random) of the lease's owner. */
async function leaseOwnerPid(db: TestDb, name: string): Promise<number | undefined> {
  const rows = await ownRows<{ owner: string }>(db, `SELECT owner FROM ${db.table('itop_cron_lease')} WHERE name = ? AND expires >= NOW(3)`, [name]);
  const m = /:(\d+):[0-9a-f]+$/.exec(rows[0]?.owner ?? '');
  return m === null ? undefined : Number(m[1]);
}

/** Two runners with FaultSlow (`seconds` long): the one that claimed it, once it has. */
async function twoRunnersOnSlow(t: test.TestContext, seconds: number, maxExecution: number): Promise<{ db: TestDb; runners: Runner[]; pid: number; holder: Runner & { child: ChildProcess } }> {
  const { db, params } = await setup(t);
  const env = { ITOP_CRON_EXTENSIONS: faultModule('slow.mjs'), FAULT_SLOW_SECONDS: String(seconds) };
  const runners = [0, 1].map(() => startRunner(db, params, makeItopRoot(db, { ...CLUSTER, cron_max_execution_time: maxExecution }), env));
  let pid: number | undefined;
  // In the middle of the task: its lease held and its row marked running (a claim alone may be one that
  // finds the occurrence already run and gives the lease back at once).
  await waitFor('a runner running FaultSlow', async () => (pid = await leaseOwnerPid(db, 'task:FaultSlow')) !== undefined && (await slowRow(db))[0]?.[0] === 1, 20_000);
  const holder = runners.find((r) => r.child?.pid === pid);
  assert.ok(pid !== undefined && holder?.child !== undefined, `the lease's owner (pid ${pid}) is one of the runners`);
  return { db, runners, pid, holder: holder as Runner & { child: ChildProcess } };
}

/** FaultSlow's registry row: [running, total_exec_count]. */
async function slowRow(db: TestDb): Promise<number[][]> {
  const row = await db.query<{ running: number; total_exec_count: number }>(`SELECT running, total_exec_count FROM ${db.table('priv_backgroundtask')} WHERE class_name = 'FaultSlow'`);
  return row.map((r) => [Number(r.running), Number(r.total_exec_count)]);
}

test('kill -9 of the runner of a long task: another runner takes it over within TTL + cron_sleep, and the history says so', { timeout: 120_000 }, async (t) => {
  const { db, runners, pid, holder: victim } = await twoRunnersOnSlow(t, 8, 30);
  // Different tasks on different runners at once: while the victim (one lane) runs FaultSlow, the 1-second
  // InlineImageGC keeps running, on the other runner.
  const slowSince = (await history(db)).length;
  await waitFor('InlineImageGC running on the other runner meanwhile', async () => (await history(db, 'InlineImageGC')).filter((r) => !r.host.endsWith(`:${pid}`)).length >= 2, 10_000);
  assert.ok((await history(db)).slice(slowSince).every((r) => !r.host.endsWith(`:${pid}`)), 'the busy runner ran nothing else');
  const { ms: failoverMs } = await killAndTimeTakeover(victim.child, pid, () => leaseOwnerPid(db, 'task:FaultSlow'), 15_000);
  t.diagnostic(`taken over ${failoverMs} ms after the kill (TTL 4 s, cron_sleep 1 s)`);
  assert.ok(failoverMs <= 4000 + 1000 + 500, `taken over within TTL + cron_sleep (${failoverMs} ms)`);
  const results = await Promise.all(runners.map((r) => r.done));
  const survivor = results.find((r) => r.signal === null);
  assert.equal(survivor?.code, 0, survivor?.stderr);
  const slow = await history(db, 'FaultSlow');
  assert.equal(slow.length, 1, 'one recorded run: the killed one never finished');
  assert.match(slow[0]!.message ?? '', /^\[taken over: the previous run, by \S+:\d+:[0-9a-f]+, did not finish\] done after/);
  assert.doesNotMatch(slow[0]!.host, new RegExp(`:${pid}$`));
  assert.deepEqual(await slowRow(db), [[0, 1]]);
});

test('a runner paused (SIGSTOP) past its TTL, then resumed, writes nothing with its old lease', { timeout: 120_000 }, async (t) => {
  const { db, runners, pid, holder: paused } = await twoRunnersOnSlow(t, 6, 25);
  paused.child.kill('SIGSTOP');
  const stoppedAt = Date.now();
  try {
    await waitFor('the other runner taking FaultSlow over', async () => {
      const owner = await leaseOwnerPid(db, 'task:FaultSlow');
      return owner !== undefined && owner !== pid;
    }, 15_000).catch(async (e: unknown) => {
      paused.child?.kill('SIGCONT');
      const all = await Promise.all(runners.map((r) => r.done));
      throw new Error(`${(e as Error).message} (${Date.now() - stoppedAt} ms after SIGSTOP)\n${all.map((r) => r.stderr.split('\n').filter((l) => /lease|cluster|FaultSlow/.test(l)).slice(-15).join('\n')).join('\n----\n')}`);
    });
    // Past the paused run's own end (6 s of work): when it resumes, it would write its bookkeeping at once.
    await sleep(7000);
  } finally {
    paused.child.kill('SIGCONT');
  }
  const results = await Promise.all(runners.map((r) => r.done));
  for (const r of results) assert.equal(r.code, 0, r.stdout + r.stderr);
  const pausedLog = results[runners.indexOf(paused)]!.stderr;
  assert.match(pausedLog, /task lease was lost/);
  const slow = await history(db, 'FaultSlow');
  assert.equal(slow.length, 1, `only the new owner's run is recorded: ${JSON.stringify(slow)}`);
  assert.doesNotMatch(slow[0]!.host, new RegExp(`:${pid}$`));
  assert.deepEqual(await slowRow(db), [[0, 1]], 'the paused runner did not write over the new owner\'s bookkeeping');
});

test('a task whose run failed (its row left running, as cron.php leaves it) is no takeover: the next run is recorded as a plain run', { timeout: 60_000 }, async (t) => {
  const { db, params } = await setup(t);
  const root = makeItopRoot(db, { ...CLUSTER, cron_max_execution_time: 5 });
  const r = await startRunner(db, params, root, { ITOP_CRON_EXTENSIONS: faultModule('flaky.mjs') }).done;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const runs = await history(db, 'FaultFlaky');
  assert.ok(runs.length >= 2, `the failed run and at least one after it: ${JSON.stringify(runs)}`);
  assert.match(runs[0]!.message ?? '', /^Processing failed with message: flaky: the first run fails/);
  for (const later of runs.slice(1)) assert.match(later.message ?? '', /^run \d+ went well$/, 'no "[taken over" note: the failed run did finish');
  assert.doesNotMatch(r.stderr, /taking over a run/);
});

test('a maintenance flag seen by one runner stops the runners of the other hosts too', { timeout: 60_000 }, async (t) => {
  const { db, params } = await setup(t);
  const hostA = makeItopRoot(db, { ...CLUSTER, cron_max_execution_time: 40 });
  const hostB = makeItopRoot(db, { ...CLUSTER, cron_max_execution_time: 40 });
  const env = { ITOP_CRON_EXTENSIONS: faultModule('ticks.mjs') };
  const a = startRunner(db, params, hostA, env);
  const b = startRunner(db, params, hostB, env);
  await waitFor('both runners running tasks', async () => new Set((await history(db)).map((r) => r.host)).size === 2 || (await history(db)).length > 6, 20_000);
  writeFileSync(join(hostA, 'data', '.maintenance'), '');
  const flagged = Date.now();
  const [ra, rb] = await Promise.all([a.done, b.done]);
  t.diagnostic(`both stopped ${Date.now() - flagged} ms after the flag`);
  assert.ok(Date.now() - flagged < 10_000, 'both stopped within seconds');
  for (const r of [ra, rb]) {
    assert.equal(r.code, EXIT_ERROR, r.stdout);
    assert.match(r.stdout, /^Maintenance detected, exiting$/m);
  }
  // A runner started meanwhile on the other host stops at its first pass.
  const c = await startRunner(db, params, hostB, env).done;
  assert.match(c.stdout, /^Maintenance detected, exiting$/m);
});

test('runners whose clocks are 30 s ahead and 30 s behind schedule on the database\'s clock: no double run, no late run', { timeout: 90_000 }, async (t) => {
  try {
    execFileSync('faketime', ['-f', '+0s', 'true']);
  } catch {
    t.skip('faketime (Debian package faketime) is not installed');
    return;
  }
  const { db, params } = await setup(t);
  const env = { ITOP_CRON_EXTENSIONS: faultModule('ticks.mjs') };
  const runners = ['+30s', '-30s'].map((skew) => startRunner(db, params, makeItopRoot(db, { ...CLUSTER, cron_max_execution_time: 15 }), env, ['faketime', '-f', skew]));
  const results = await Promise.all(runners.map((r) => r.done));
  for (const r of results) assert.equal(r.code, 0, r.stdout + r.stderr);
  const rows = await history(db);
  assert.deepEqual(doubles(rows), []);
  assert.deepEqual(overlaps(rows), []);
  const tick1 = rows.filter((r) => r.class_name === 'ClusterTick1');
  t.diagnostic(`ClusterTick1: ${tick1.length} runs, by ${[...new Set(tick1.map((r) => r.host))].join(', ')}`);
  assert.ok(tick1.length >= 10, `the 1-second task ran on time (${tick1.length} runs)`);
  // Dates are the database's clock: each run started within seconds of its planned time (iTop-local both).
  const wrong = tick1.filter((r) => Math.abs(Date.parse(r.started.replace(' ', 'T')) - Date.parse(r.planned.replace(' ', 'T'))) > 5000);
  assert.deepEqual(wrong, [], 'every run started within seconds of its planned time, on one clock');
});

test('a lease TTL not above twice its renewal period is refused in one line (exit 254), before anything runs', { timeout: 30_000 }, async (t) => {
  const { db, params } = await setup(t);
  const root = makeItopRoot(db, { ...CLUSTER, 'itop_cron.cluster_ttl_seconds': 2, 'itop_cron.cluster_renew_seconds': 1 });
  const r = await startRunner(db, params, root).done;
  assert.equal(r.code, 254, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /Invalid value for 'itop_cron\.cluster_ttl_seconds': 2 \(expected more than twice itop_cron\.cluster_renew_seconds, 1\)/);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
  const bad = await startRunner(db, params, makeItopRoot(db, { ...CLUSTER, 'itop_cron.cluster_renew_seconds': 'soon' })).done;
  assert.equal(bad.code, 254);
  assert.match(bad.stdout + bad.stderr, /Invalid value for 'itop_cron\.cluster_renew_seconds': 'soon'/);
  assert.equal((await history(db)).length, 0);
});

test('`task run` in cluster mode takes the task\'s lease, not the cron lock: refused while a runner runs that task, run beside it otherwise', { timeout: 90_000 }, async (t) => {
  const { db, params } = await setup(t);
  const env = { ITOP_CRON_EXTENSIONS: `${faultModule('slow.mjs')},${faultModule('ticks.mjs')}`, FAULT_SLOW_SECONDS: '10' };
  const root = makeItopRoot(db, { ...CLUSTER, cron_max_execution_time: 14 });
  const runner = startRunner(db, params, root, env);
  await waitFor('the runner holding FaultSlow', async () => (await leaseOwnerPid(db, 'task:FaultSlow')) !== undefined, 20_000);
  const task = (cls: string): Promise<CliResult> => runCli(['task', 'run', cls, `--param_file=${params}`, `--itop_root=${root}`], { env: cliEnv(db, env) });
  const refused = await task('FaultSlow');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stdout, /^Already running\.\.\.$/m);
  const ran = await task('ClusterTick2');
  assert.equal(ran.code, 0, ran.stdout + ran.stderr);
  assert.match(ran.stdout, /ClusterTick2: tick from \d+/);
  assert.equal((await runner.done).code, 0);
  assert.equal((await history(db, 'FaultSlow')).length, 1, 'FaultSlow ran once, on the runner');
  assert.deepEqual(doubles(await history(db)), []);
});
