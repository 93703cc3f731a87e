/**
 * Cluster mode (itop_cron.cluster, issue 15) on a real 3-node Galera cluster (test/helpers/galera.ts), with
 * the built CLI spawned as a crontab would, one runner per node: every occurrence runs once over 5 minutes,
 * a runner killed (kill -9) or paused (SIGSTOP) past its lease's TTL is taken over and writes nothing
 * afterwards, and a node that stops takes its runner out while the others go on. The same scenarios on one
 * plain MariaDB: multi-runner.test.ts. Run by `npm run test:cluster`.
 *
 * One cluster for the file; each scenario on a fresh database of its own (our schema and an administrator,
 * created through node 1). The scenario that stops a node runs last, and starts the node again after.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { Connection, ResultSetHeader } from 'mysql2/promise';
import { applySchema } from '../src/db/schema.js';
import { EXIT_FATAL } from '../src/errors.js';
import { cliEnv, makeItopRoot, runCli, writeParamFile, type CliResult } from './helpers/cli.js';
import { doubles, gaps, groupByClass, HISTORY_COLUMNS, killAndTimeTakeover, overlaps, type HistoryRow } from './helpers/clusterHistory.js';
import { faultModule, waitFor } from './helpers/fault.js';
import { galeraUnavailable, startGaleraCluster, type GaleraCluster } from './helpers/galera.js';
import { createAdminUser, type TestDb } from './helpers/testDb.js';

const skip = galeraUnavailable() ?? false;
const PWD = 'Galera.Pa55-word';
let cluster: GaleraCluster;
let params: string;
const open: Connection[] = [];

/** A scenario's database: one TestDb per node (each pointing the CLI at its node), and a reader. */
interface ScenarioDb {
  readonly name: string;
  readonly nodes: readonly TestDb[];
  /** Rows read on node `on` (default 1) once it applied everything committed before (wsrep_sync_wait). */
  rows<T extends object>(sql: string, args?: readonly unknown[], on?: number): Promise<T[]>;
}

function nodeTestDb(index: number, name: string, conn: Connection): TestDb {
  const node = cluster.nodes[index - 1]!;
  const server = { host: '127.0.0.1', port: node.port, user: 'root', password: '', url: `mysql://root@127.0.0.1:${node.port}` };
  return {
    name, prefix: '', server, conn, url: `${server.url}/${name}`,
    async query<T extends object>(sql: string, args: readonly unknown[] = []) {
      return (await conn.query(sql, [...args]))[0] as T[];
    },
    async execute(sql: string, args: readonly unknown[] = []) {
      return (await conn.query(sql, [...args]))[0] as ResultSetHeader;
    },
    table: (t) => `\`${t}\``,
    env: { ITOP_DB_HOST: `127.0.0.1:${node.port}`, ITOP_DB_USER: 'root', ITOP_DB_PWD: '', ITOP_DB_NAME: name, ITOP_DB_SUBNAME: '' },
    drop: async () => undefined,
  };
}

/** A fresh database on the cluster with our schema and the administrator the runners log in as. */
async function scenarioDb(): Promise<ScenarioDb> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const conns: Connection[] = [];
  for (const node of cluster.nodes) {
    const c = await node.connect();
    // A connection to a node stopped on purpose fails; its 'error' event must not end the test process.
    c.on('error', () => undefined);
    open.push(c);
    conns.push(c);
  }
  const setup = conns[0]!;
  await setup.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  for (const c of conns) {
    await c.query('SET SESSION wsrep_sync_wait = 1');
    await c.query(`USE \`${name}\``);
  }
  await applySchema({ execute: (sql) => setup.query(sql) }, '');
  const nodes = conns.map((c, i) => nodeTestDb(i + 1, name, c));
  await createAdminUser(nodes[0]!, { login: 'admin', password: PWD, admin: true });
  return {
    name, nodes,
    async rows<T extends object>(sql: string, args: readonly unknown[] = [], on = 1) {
      try {
        return (await conns[on - 1]!.query(sql, [...args]))[0] as T[];
      } catch (e) {
        // Tables of itop-cron's own are created by the first runner: none before.
        if ((e as { code?: string }).code === 'ER_NO_SUCH_TABLE') return [];
        throw e;
      }
    },
  };
}

before(async () => {
  if (skip !== false) return;
  cluster = await startGaleraCluster();
  process.stderr.write(`# galera cluster of 3 nodes started in ${cluster.startMs} ms\n`);
  params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
}, { timeout: 240_000 });

after(async () => {
  await Promise.all(open.map((c) => c.end().catch(() => undefined)));
  await cluster?.stop();
});

interface Runner {
  readonly done: Promise<CliResult>;
  readonly node: number;
  child?: ChildProcess;
}

/** The built CLI on node `node`'s own iTop root (config-itop.php naming that node), as a crontab starts it. */
function startRunner(db: ScenarioDb, node: number, settings: Record<string, string | number | boolean>, env: Record<string, string>, timeoutMs: number): Runner {
  const nodeDb = db.nodes[node - 1]!;
  const root = makeItopRoot(nodeDb, settings);
  const runner: { done?: Promise<CliResult>; child?: ChildProcess; node: number } = { node };
  runner.done = runCli([`--param_file=${params}`, `--itop_root=${root}`, '--verbose=1'], {
    env: cliEnv(nodeDb, env),
    timeoutMs,
    onSpawn: (c) => {
      runner.child = c;
    },
  });
  return runner as Runner;
}

const history = (db: ScenarioDb, cls?: string): Promise<HistoryRow[]> =>
  db.rows<HistoryRow>(
    `SELECT ${HISTORY_COLUMNS} FROM itop_cron_run_history ${cls === undefined ? '' : 'WHERE class_name = ?'} ORDER BY id`,
    cls === undefined ? [] : [cls],
  );

async function ticks(db: ScenarioDb, cls: string, on = 1): Promise<number> {
  const rows = await db.rows<{ n: number }>('SELECT COUNT(*) AS n FROM cluster_ticks WHERE class_name = ?', [cls], on);
  return Number(rows[0]?.n ?? 0);
}

/** The pid in the runner id (host:pid:random) of the live lease's owner. */
async function leaseOwnerPid(db: ScenarioDb, name: string, on = 1): Promise<number | undefined> {
  const rows = await db.rows<{ owner: string }>('SELECT owner FROM itop_cron_lease WHERE name = ? AND expires >= NOW(3)', [name], on);
  const m = /:(\d+):[0-9a-f]+$/.exec(rows[0]?.owner ?? '');
  return m === null ? undefined : Number(m[1]);
}

async function slowRow(db: ScenarioDb): Promise<Array<[number, number, string | null]>> {
  const rows = await db.rows<{ running: number; total_exec_count: number; latest_run_date: string | null }>(
    "SELECT running, total_exec_count, latest_run_date FROM priv_backgroundtask WHERE class_name = 'FaultSlow'",
  );
  return rows.map((r) => [Number(r.running), Number(r.total_exec_count), r.latest_run_date]);
}

/** The runners' `cluster runner joined` log lines: whether each took its node's cron lock. */
function joinedWithLock(stderr: string): boolean[] {
  return stderr.split('\n').filter((l) => l.includes('cluster runner joined')).map((l) => /"lock":true/.test(l));
}

interface StatusJson {
  cluster: { runners: Array<{ runner: string; alive: boolean }>; leases: Array<{ name: string; runner: string }> };
}

/** Short leases where a scenario needs the takeover within seconds: renewed every second, lost after 4 s. */
const SHORT = { 'itop_cron.cluster': true, 'itop_cron.cluster_renew_seconds': 1, 'itop_cron.cluster_ttl_seconds': 4, cron_sleep: 1 };
const TICKS = { ITOP_CRON_EXTENSIONS: faultModule('ticks.mjs') };

test('three runners on three nodes for 5 minutes (default leases): every occurrence once, no overlap, spread over the runners', { skip, timeout: 420_000 }, async (t) => {
  const db = await scenarioDb();
  // The defaults a user gets (renewed every 2 s, lost after 10 s); cron_sleep 1 for the 1-second task.
  const settings = { 'itop_cron.cluster': true, cron_sleep: 1, cron_max_execution_time: 300 };
  const started = Date.now();
  const runners = [1, 2, 3].map((n) => startRunner(db, n, settings, TICKS, 360_000));
  let seen: StatusJson | undefined;
  const statusRoot = makeItopRoot(db.nodes[0]!, settings);
  await waitFor('three runners alive in the status', async () => {
    const s = await runCli(['status', '--json', `--param_file=${params}`, `--itop_root=${statusRoot}`], { env: cliEnv(db.nodes[0]!, TICKS) });
    seen = JSON.parse(s.stdout) as StatusJson;
    return seen.cluster.runners.filter((r) => r.alive).length === 3;
  }, 30_000);
  const pids = runners.map((r) => r.child?.pid);
  assert.deepEqual(new Set(seen?.cluster.runners.map((r) => Number(/:(\d+)$/.exec(r.runner)?.[1]))), new Set(pids), 'the status names the three runners');
  const results = await Promise.all(runners.map((r) => r.done));
  const wallS = (Date.now() - started) / 1000;
  for (const r of results) {
    assert.equal(r.code, 0, r.stdout + r.stderr.slice(-3000));
    assert.doesNotMatch(r.stdout, /Already running|ERROR/, r.stdout);
    // One runner per node: each takes its node's cron lock (GET_LOCK is node-local), none is refused.
    assert.deepEqual(joinedWithLock(r.stderr), [true], 'the runner took its node\'s cron lock');
  }
  const rows = await history(db);
  assert.deepEqual(doubles(rows), [], 'no occurrence recorded twice');
  assert.deepEqual(overlaps(rows), [], 'no two runs of one task at the same time');
  for (const cls of ['ClusterTick1', 'ClusterTick2']) {
    const runs = rows.filter((r) => r.class_name === cls);
    assert.equal(await ticks(db, cls), runs.length, `${cls}: each execution recorded once in the history, and each recorded run executed once`);
  }
  const byClass = groupByClass(rows);
  const tick1 = byClass.get('ClusterTick1') ?? [];
  const tick2 = byClass.get('ClusterTick2') ?? [];
  const g1 = gaps(tick1, 1);
  const g2 = gaps(tick2, 2);
  const perRunner = pids.map((pid) => rows.filter((r) => r.host.endsWith(`:${pid}`)).length);
  t.diagnostic(`${wallS.toFixed(0)} s: ClusterTick1 ${tick1.length} runs (${g1.count} skipped occurrences ${g1.first.join(', ')}), ClusterTick2 ${tick2.length} (${g2.count} skipped); runs per runner ${perRunner.join(' / ')}`);
  // 300 s of a 1-second task: a run per second (300 runs, none skipped, when measured alone). A run that
  // starts more than a second late skips an occurrence by cron.php's rule; the bound leaves room for that
  // on a 2-core machine that runs the other cluster test files (each a Galera cluster) meanwhile.
  assert.ok(tick1.length >= 285, `the 1-second task kept its schedule (${tick1.length} runs)`);
  assert.ok(g1.count <= 10, `few skipped occurrences (${g1.count})`);
  assert.ok(perRunner.every((n) => n >= 10), `the runs spread over the three runners (${perRunner.join(' / ')})`);
  const perClass = await db.rows<{ class_name: string; n: number }>('SELECT class_name, COUNT(*) AS n FROM priv_backgroundtask GROUP BY class_name HAVING n > 1');
  assert.deepEqual(perClass, [], 'one registry row per class');
  const stopped = await db.rows<{ n: number; stopped: number }>('SELECT COUNT(*) AS n, SUM(stopped IS NOT NULL) AS stopped FROM itop_cron_runner');
  assert.deepEqual([Number(stopped[0]?.n), Number(stopped[0]?.stopped)], [3, 3], 'three runners registered, each recorded its stop');
});

test('kill -9 of the runner holding FaultSlow\'s lease: another node\'s runner takes it over within TTL + cron_sleep, the history says so', { skip, timeout: 120_000 }, async (t) => {
  const db = await scenarioDb();
  const env = { ITOP_CRON_EXTENSIONS: faultModule('slow.mjs'), FAULT_SLOW_SECONDS: '8' };
  const runners = [1, 2, 3].map((n) => startRunner(db, n, { ...SHORT, cron_max_execution_time: 30 }, env, 90_000));
  let pid: number | undefined;
  await waitFor('a runner holding FaultSlow', async () => (pid = await leaseOwnerPid(db, 'task:FaultSlow')) !== undefined, 30_000);
  const victim = runners.find((r) => r.child?.pid === pid);
  assert.ok(victim !== undefined, `the lease's owner (pid ${pid}) is one of the runners`);
  const { ms: failoverMs, newOwner } = await killAndTimeTakeover(victim.child!, pid!, () => leaseOwnerPid(db, 'task:FaultSlow'), 20_000);
  t.diagnostic(`taken over ${failoverMs} ms after the kill by the runner on node ${runners.find((r) => r.child?.pid === newOwner)?.node} (TTL 4 s, cron_sleep 1 s)`);
  // The lease expires at most TTL after the kill (renewed at most a renewal before it); the next pass of
  // another runner comes within cron_sleep. The slack: this test's poll (100 ms, a synced read on node 1
  // that waits for the claim's write set) and a pass statement on a 2-core machine running 3 nodes.
  assert.ok(failoverMs <= 4000 + 1000 + 1000, `taken over within TTL + cron_sleep + 1 s (${failoverMs} ms)`);
  const results = await Promise.all(runners.map((r) => r.done));
  for (const [i, r] of results.entries()) {
    if (runners[i] === victim) assert.equal(r.signal, 'SIGKILL');
    else assert.equal(r.code, 0, r.stdout + r.stderr.slice(-3000));
  }
  const slow = await history(db, 'FaultSlow');
  assert.equal(slow.length, 1, `one recorded run, the killed one never finished: ${JSON.stringify(slow)}`);
  assert.match(slow[0]!.message ?? '', /^\[taken over: the previous run, by \S+:\d+:[0-9a-f]+, did not finish\] done after/);
  assert.match(slow[0]!.message ?? '', new RegExp(`by \\S+:${pid}:`), 'the takeover names the killed runner');
  assert.match(slow[0]!.host, new RegExp(`:${newOwner}$`), 'the run is the new owner\'s');
  assert.deepEqual(await slowRow(db), [[0, 1, slow[0]!.ended]], 'registry row: not running, one execution, the new owner\'s end');
});

test('a runner paused (SIGSTOP) past its TTL, then resumed: nothing written with its old lease', { skip, timeout: 120_000 }, async () => {
  const db = await scenarioDb();
  const env = { ITOP_CRON_EXTENSIONS: faultModule('slow.mjs'), FAULT_SLOW_SECONDS: '6', ITOP_CRON_LOG_LEVEL: 'debug' };
  const runners = [1, 2, 3].map((n) => startRunner(db, n, { ...SHORT, cron_max_execution_time: 25 }, env, 90_000));
  let pid: number | undefined;
  // Paused in the middle of the task: its lease held and its row marked running (a claim alone may be one
  // that finds the occurrence already run and gives the lease back at once).
  await waitFor('a runner running FaultSlow', async () => (pid = await leaseOwnerPid(db, 'task:FaultSlow')) !== undefined && (await slowRow(db))[0]?.[0] === 1, 30_000);
  const paused = runners.find((r) => r.child?.pid === pid);
  assert.ok(paused?.child !== undefined);
  paused.child.kill('SIGSTOP');
  let newOwner: number | undefined;
  try {
    await waitFor('another runner taking FaultSlow over', async () => {
      newOwner = await leaseOwnerPid(db, 'task:FaultSlow');
      return newOwner !== undefined && newOwner !== pid;
    }, 20_000);
    // Past the paused run's own end (6 s of work): once resumed, it would write its bookkeeping at once.
    await sleep(7000);
  } finally {
    paused.child.kill('SIGCONT');
  }
  const results = await Promise.all(runners.map((r) => r.done));
  for (const r of results) assert.equal(r.code, 0, r.stdout + r.stderr.slice(-3000));
  assert.match(results[runners.indexOf(paused)]!.stderr, /task lease was lost/);
  const slow = await history(db, 'FaultSlow');
  assert.equal(slow.length, 1, `only the new owner's run is recorded: ${JSON.stringify(slow)}`);
  assert.match(slow[0]!.host, new RegExp(`:${newOwner}$`));
  assert.deepEqual(await slowRow(db), [[0, 1, slow[0]!.ended]], 'the registry row\'s bookkeeping is the new owner\'s');
});

test('a Galera node stopped: its runner stops writing and ends with one line, the runners on the other nodes run every task', { skip, timeout: 240_000 }, async (t) => {
  const db = await scenarioDb();
  const runners = [1, 2, 3].map((n) => startRunner(db, n, { ...SHORT, cron_max_execution_time: 40 }, TICKS, 90_000));
  await waitFor('each runner running ticks', async () => {
    const hosts = new Set((await history(db)).map((r) => Number(/:(\d+)$/.exec(r.host)?.[1])));
    return runners.every((r) => hosts.has(r.child?.pid ?? -1));
  }, 30_000);
  const cut = runners[2]!;
  const cutPid = cut.child?.pid;
  // A crash of the node (SIGKILL of mariadbd), not a clean shutdown: nothing is told to its clients.
  await cluster.stopNode(3, 'SIGKILL');
  const stoppedAt = Date.now();
  try {
    const r3 = await cut.done;
    t.diagnostic(`node 3's runner ended ${Date.now() - stoppedAt} ms after its node: ${r3.stdout.trim().split('\n').slice(-2).join(' | ')}`);
    // As cron.php when its server goes away (docs/reliability.md): between two tasks `ERROR: 'MySQL has
    // gone away'` and exit 0, inside a task its `ERROR : ... thrown when processing` line and exit 254.
    assert.match(r3.stdout, /^ERROR ?: 'MySQL has gone away'/m, r3.stdout + r3.stderr.slice(-3000));
    assert.ok(r3.code === 0 || r3.code === EXIT_FATAL, `exit ${r3.code}`);
    assert.doesNotMatch(r3.stdout + r3.stderr, /\n\s+at /, 'no stack trace');
    const endedAt = Date.now();
    const results = await Promise.all(runners.slice(0, 2).map((r) => r.done));
    for (const r of results) {
      assert.equal(r.code, 0, r.stdout + r.stderr.slice(-3000));
      assert.doesNotMatch(r.stdout, /ERROR/, r.stdout);
    }
    const rows = await history(db);
    assert.deepEqual(doubles(rows), [], 'no occurrence recorded twice');
    assert.deepEqual(overlaps(rows), []);
    // Nothing of node 3's runner after its node went away (history dates are iTop-local: compare ids instead).
    const byCut = rows.filter((r) => r.host.endsWith(`:${cutPid}`));
    const afterCut = await db.rows<{ n: number }>(
      'SELECT COUNT(*) AS n FROM cluster_ticks WHERE pid = ? AND at > FROM_UNIXTIME(?)', [cutPid, endedAt / 1000],
    );
    assert.equal(Number(afterCut[0]?.n), 0, 'node 3\'s runner executed nothing once it ended');
    const lastSeconds = (Date.now() - stoppedAt) / 1000;
    for (const cls of ['ClusterTick1', 'ClusterTick2']) {
      const runs = rows.filter((r) => r.class_name === cls);
      const others = runs.filter((r) => !r.host.endsWith(`:${cutPid}`));
      const n = await ticks(db, cls);
      // A tick whose INSERT node 3 had replicated before it died, but whose bookkeeping it never wrote, is
      // run again by the runner taking over (at least once rather than never): one extra execution at most.
      assert.ok(n >= runs.length && n <= runs.length + 1, `${cls}: ${n} executions for ${runs.length} recorded runs`);
      assert.ok(others.length >= 5, `${cls} kept running on nodes 1 and 2 (${others.length} runs)`);
    }
    // A task node 3's runner was in the middle of (its row still `running`) is taken over by another runner
    // once its lease expires: every row ends not running, and the takeover names node 3's runner.
    const inFlight = /thrown when processing (\S+)/.exec(r3.stdout)?.[1]?.replace(/\\\\/g, '\\');
    if (inFlight !== undefined) {
      const takeover = rows.find((r) => r.class_name === inFlight && (r.message ?? '').startsWith('[taken over: the previous run, by ') && (r.message ?? '').includes(`:${cutPid}:`));
      assert.ok(takeover, `${inFlight}, cut off in the middle, was taken over: ${JSON.stringify(rows.filter((r) => r.class_name === inFlight))}`);
    }
    assert.deepEqual(await db.rows('SELECT class_name FROM priv_backgroundtask WHERE running = 1'), [], 'no row left running');
    const tick1After = rows.filter((r) => r.class_name === 'ClusterTick1' && !r.host.endsWith(`:${cutPid}`)).length;
    t.diagnostic(`runs by node 3's runner before its node died: ${byCut.length}; ClusterTick1 runs on nodes 1-2 in all: ${tick1After} (${lastSeconds.toFixed(0)} s after the stop)`);
  } finally {
    await cluster.startNode(3);
  }
  // Back in the cluster: node 3 catches up and sees the history of the others.
  const n3 = await db.rows<{ n: number }>('SELECT COUNT(*) AS n FROM itop_cron_run_history', [], 1);
  const fresh = await cluster.nodes[2]!.connect(db.name);
  try {
    await fresh.query('SET SESSION wsrep_sync_wait = 1');
    const [rows] = await fresh.query('SELECT COUNT(*) AS n FROM itop_cron_run_history');
    assert.equal(Number((rows as Array<{ n: number }>)[0]?.n), Number(n3[0]?.n), 'node 3 rejoined with the history of nodes 1 and 2');
  } finally {
    await fresh.end();
  }
});
