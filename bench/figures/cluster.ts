/**
 * Cluster mode (itop_cron.cluster, issue 15): the failover time after kill -9 of the runner holding a task
 * lease, with the default leases, on a real 3-node Galera cluster (test/helpers/galera.ts); the statements
 * a cluster runner adds to an idle pass, from the bench server's general log, against a runner without
 * cluster mode; and exactly-once over 10,000+ occurrences of 1-second tasks run by three runners on three
 * Galera nodes.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from 'mysql2/promise';
import { applySchema } from '../../src/db/schema.js';
import { builtInTasks } from '../../src/tasks/registry.js';
import { doubles, gaps, groupByClass, HISTORY_COLUMNS, type HistoryRow } from '../../test/helpers/clusterHistory.js';
import { startGaleraCluster, galeraUnavailable, type GaleraCluster } from '../../test/helpers/galera.js';
import { createAdminUser, type TestDb } from '../../test/helpers/testDb.js';
import { cronCommand, cronEnv, REPO, seedRegistry, sharedEnv } from '../lib/cron.js';
import { isStatement, startGeneralLog, statementsOf, stopGeneralLog } from '../lib/generalLog.js';
import { makeItopRoot, writeItopRoot } from '../lib/itopRoot.js';
import { startChild, type LiveChild } from '../lib/proc.js';
import type { ResultRow } from '../lib/report.js';
import { ADMIN, CRON_SQL_USER, type BenchServer } from '../lib/server.js';
import { median } from '../lib/stats.js';

const FAULT = `${REPO}/test/fixtures/fault`;
/** The defaults a user gets (src/config/cluster.ts): what the failover figure is about. */
const DEFAULT_TTL = 10;
const IDLE_SLEEP = 2;
const IDLE_SETTLE_MS = 6000;

export interface ClusterOptions {
  /** Failover measurements (the median is kept). */
  readonly failovers: number;
  /** The idle window of each side (s). */
  readonly idleSeconds: number;
  /** 1-second tick classes of the exactly-once run, and its length (s). */
  readonly tickClasses: number;
  readonly tickSeconds: number;
  readonly lanes: number;
}

export interface ClusterResult {
  readonly rows: ResultRow[];
  readonly notes: string[];
}

/** Statements per idle pass of one runner (passes = the statements reading IS_USED_LOCK) over a window. */
async function idleStatementsPerPass(server: BenchServer, seconds: number, cluster: boolean): Promise<{ perPass: number; statements: number; passes: number; others: string[] }> {
  const db = await server.createDb(cluster ? 'cluster_idle' : 'plain_idle');
  try {
    await seedRegistry(db, builtInTasks(), '2030-01-01 00:00:00');
    const total = Math.ceil(seconds + (2 * IDLE_SETTLE_MS) / 1000);
    const root = makeItopRoot(db, { cron_sleep: IDLE_SLEEP, cron_max_execution_time: total, ...(cluster ? { 'itop_cron.cluster': true } : {}) });
    await startGeneralLog(server.root);
    const [cmd, args] = cronCommand(`--itop_root=${root}`);
    const cron = startChild(cmd, args, { env: cronEnv(db) });
    await sleep(IDLE_SETTLE_MS);
    const from = Date.now();
    await sleep(seconds * 1000);
    const to = Date.now();
    cron.kill();
    const out = await cron.done;
    await stopGeneralLog(server.root);
    const window = (await statementsOf(server.root, CRON_SQL_USER)).filter((s) => isStatement(s) && s.at >= from && s.at <= to);
    const passes = window.filter((s) => s.argument.includes('IS_USED_LOCK')).length;
    if (passes === 0) throw new Error(`no idle pass seen (cluster ${cluster}): ${out.stdout.slice(0, 300)} ${out.stderr.slice(-600)}`);
    const others = window.filter((s) => !s.argument.includes('IS_USED_LOCK')).map((s) => s.argument.slice(0, 100));
    return { perPass: window.length / passes, statements: window.length, passes, others: [...new Set(others)] };
  } finally {
    await stopGeneralLog(server.root).catch(() => undefined);
    await db.drop();
  }
}

/** A database on the cluster (through node 1) with our schema and the bench's administrator. */
async function galeraDb(cluster: GaleraCluster): Promise<{ name: string; reader: Connection }> {
  const name = `bench_cluster_${randomBytes(3).toString('hex')}`;
  const c = await cluster.nodes[0]!.connect();
  await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await c.query(`USE \`${name}\``);
  await applySchema({ execute: (sql) => c.query(sql) }, '');
  const asTestDb = {
    execute: async (sql: string, params: readonly unknown[] = []) => (await c.query(sql, [...params]))[0],
    table: (t: string) => `\`${t}\``,
  } as unknown as TestDb;
  await createAdminUser(asTestDb, { login: ADMIN.login, password: ADMIN.password, admin: true });
  await c.end();
  // Reads on node 3 wait until it applied everything committed before (wsrep_sync_wait).
  const reader = await cluster.nodes[2]!.connect(name);
  await reader.query('SET SESSION wsrep_sync_wait = 1');
  return { name, reader };
}

function galeraRunner(cluster: GaleraCluster, node: number, name: string, settings: Record<string, string | number | boolean>, env: Record<string, string>): LiveChild {
  const root = writeItopRoot({ host: `127.0.0.1:${cluster.nodes[node - 1]!.port}`, user: 'root', password: '', name }, { 'itop_cron.cluster': true, ...settings });
  const [cmd, args] = cronCommand(`--itop_root=${root}`);
  return startChild(cmd, args, { env: { ...sharedEnv(), ITOP_CRON_LOG_LEVEL: 'info', ...env }, timeoutMs: 30 * 60_000 });
}

async function rowsOf<T>(c: Connection, sql: string, params: unknown[] = []): Promise<T[]> {
  try {
    return (await c.query(sql, params))[0] as T[];
  } catch (e) {
    if ((e as { code?: string }).code === 'ER_NO_SUCH_TABLE') return [];
    throw e;
  }
}

/** The pid of the live `task:FaultSlow` lease's owner and when it claimed it (epoch ms, database clock). */
async function slowLease(reader: Connection): Promise<{ pid: number; claimedMs: number } | undefined> {
  const rows = await rowsOf<{ owner: string; claimed: string }>(reader,
    "SELECT owner, UNIX_TIMESTAMP(claimed) * 1000 AS claimed FROM itop_cron_lease WHERE name = 'task:FaultSlow' AND expires >= NOW(3)");
  const m = /:(\d+):[0-9a-f]+$/.exec(rows[0]?.owner ?? '');
  return m === null ? undefined : { pid: Number(m[1]), claimedMs: Number(rows[0]?.claimed) };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number, everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * One failover: runners on nodes 1 and 2 (default leases and cron_sleep), FaultSlow claimed by one, which
 * is killed (-9); the time from the kill to the other's claim of the lease (its `claimed`, on the
 * database's clock: the same host's clock here).
 */
async function failoverOnce(cluster: GaleraCluster, name: string, reader: Connection): Promise<number> {
  for (const t of ['itop_cron_lease', 'priv_backgroundtask', 'itop_cron_run_history', 'itop_cron_runner']) {
    await reader.query(`DELETE FROM ${t}`).catch((e: { code?: string }) => {
      if (e.code !== 'ER_NO_SUCH_TABLE') throw e;
    });
  }
  const env = { ITOP_CRON_EXTENSIONS: `${FAULT}/slow.mjs`, FAULT_SLOW_SECONDS: '120' };
  const runners = [1, 2].map((n) => galeraRunner(cluster, n, name, { cron_max_execution_time: 90 }, env));
  try {
    const held = await until('a runner holding FaultSlow', () => slowLease(reader), 60_000);
    const victim = runners.find((r) => r.pid === held.pid);
    if (victim === undefined) throw new Error(`the lease's owner ${held.pid} is none of the runners`);
    const killedAt = Date.now();
    process.kill(victim.pid, 'SIGKILL');
    const taken = await until('the other runner taking FaultSlow over', async () => {
      const l = await slowLease(reader);
      return l !== undefined && l.pid !== held.pid ? l : undefined;
    }, 60_000);
    return taken.claimedMs - killedAt;
  } finally {
    for (const r of runners) {
      try { process.kill(r.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await Promise.all(runners.map((r) => r.done));
  }
}

/** Three runners on three nodes, `classes` 1-second tasks for `seconds`: occurrences, doubles, gaps. */
async function exactlyOnce(cluster: GaleraCluster, o: ClusterOptions): Promise<{ occurrences: number; doubles: string[]; gaps: number; gapSamples: string[]; executions: number; runs: number; perRunner: number[]; codes: Array<number | null> }> {
  const { name, reader } = await galeraDb(cluster);
  try {
    await reader.query('CREATE TABLE cluster_ticks (id INT AUTO_INCREMENT PRIMARY KEY, class_name VARCHAR(64) NOT NULL, pid INT NOT NULL, at DATETIME(3) NOT NULL)');
    const env = { ITOP_CRON_EXTENSIONS: `${FAULT}/ticks-n.mjs`, CLUSTER_TICK_CLASSES: String(o.tickClasses) };
    const settings = { cron_sleep: 1, cron_max_execution_time: o.tickSeconds, 'itop_cron.max_parallel': o.lanes };
    const runners = [1, 2, 3].map((n) => galeraRunner(cluster, n, name, settings, env));
    const outs = await Promise.all(runners.map((r) => r.done));
    const rows = (await rowsOf<HistoryRow>(reader, `SELECT ${HISTORY_COLUMNS} FROM itop_cron_run_history WHERE class_name LIKE 'ClusterTickN%'`));
    const byClass = groupByClass(rows);
    let gapCount = 0;
    const gapSamples: string[] = [];
    for (const [cls, runs] of byClass) {
      const g = gaps(runs, 1, 3);
      gapCount += g.count;
      if (g.count > 0 && gapSamples.length < 5) gapSamples.push(`${cls}: ${g.first.join(', ')}`);
    }
    const occurrences = new Set(rows.map((r) => `${r.class_name} ${r.planned}`)).size;
    const executions = Number((await rowsOf<{ n: number }>(reader, 'SELECT COUNT(*) AS n FROM cluster_ticks'))[0]?.n ?? 0);
    const perRunner = runners.map((r) => rows.filter((h) => h.host.endsWith(`:${r.pid}`)).length);
    for (const [i, out] of outs.entries()) {
      if (out.code !== 0) process.stderr.write(`# cluster: runner ${i + 1} exit ${out.code}: ${out.stdout.slice(-400)} ${out.stderr.slice(-1200)}\n`);
    }
    return { occurrences, doubles: doubles(rows), gaps: gapCount, gapSamples, executions, runs: rows.length, perRunner, codes: outs.map((x) => x.code) };
  } finally {
    await reader.query(`DROP DATABASE \`${name}\``).catch(() => undefined);
    await reader.end();
  }
}

export async function clusterFigures(server: BenchServer, o: ClusterOptions): Promise<ClusterResult> {
  const plain = await idleStatementsPerPass(server, o.idleSeconds, false);
  const clustered = await idleStatementsPerPass(server, o.idleSeconds, true);
  const extra = clustered.perPass - plain.perPass;
  const rows: ResultRow[] = [{
    figure: `Lease overhead: SQL statements per idle pass, cluster runner (${o.idleSeconds} s, cron_sleep ${IDLE_SLEEP}, renew 2 s)`,
    value: `${clustered.perPass.toFixed(2)} (${clustered.statements} stmts / ${clustered.passes} passes)`,
    floor: `${plain.perPass.toFixed(2)} (no cluster: ${plain.statements} / ${plain.passes})`,
    ratio: clustered.perPass / plain.perPass,
    target: '≤ 1 extra statement per pass',
    pass: extra <= 1,
  }];
  const notes = [
    `Idle passes on the bench's MariaDB (general log), ${o.idleSeconds} s after ${IDLE_SETTLE_MS / 1000} s of start-up, one side after the other; statements of the cluster runner other than the pass: ${clustered.others.join(' ; ') || 'none'}.`,
  ];
  const why = galeraUnavailable();
  if (why !== undefined) {
    notes.push(`Failover and exactly-once not measured: ${why}.`);
    return { rows, notes };
  }
  const cluster = await startGaleraCluster();
  try {
    const { name, reader } = await galeraDb(cluster);
    const times: number[] = [];
    try {
      for (let i = 0; i < o.failovers; i++) {
        times.push(await failoverOnce(cluster, name, reader));
        process.stderr.write(`# cluster: failover ${i + 1}/${o.failovers}: ${times.at(-1)} ms\n`);
      }
    } finally {
      await reader.query(`DROP DATABASE \`${name}\``).catch(() => undefined);
      await reader.end();
    }
    const med = median(times);
    rows.push({
      figure: `Failover after kill -9 of the lease holder, default leases (renew 2 s, TTL ${DEFAULT_TTL} s, cron_sleep 2), Galera, median of ${times.length}`,
      value: `${(med / 1000).toFixed(2)} s`,
      floor: `${DEFAULT_TTL} s (TTL)`,
      ratio: med / (DEFAULT_TTL * 1000),
      target: `≤ TTL + 2 s (${DEFAULT_TTL + 2} s)`,
      pass: med <= (DEFAULT_TTL + 2) * 1000,
    });
    notes.push(`Failover times (ms, kill to the survivor's claim): ${times.join(', ')}; min ${Math.min(...times)}, max ${Math.max(...times)}.`);
    const e = await exactlyOnce(cluster, o);
    rows.push(
      {
        figure: `Exactly-once: ${o.tickClasses} tasks of period 1 s, 3 runners on 3 Galera nodes, ${o.tickSeconds} s, max_parallel ${o.lanes}: occurrences run twice`,
        value: `${e.doubles.length} of ${e.occurrences} occurrences`,
        floor: '—', ratio: Number.NaN, target: '0 (and ≥ 10,000 occurrences)', pass: e.doubles.length === 0 && e.occurrences >= 10_000 && e.executions === e.runs,
      },
      {
        figure: 'Exactly-once: occurrences skipped between a task\'s first and last run',
        value: `${e.gaps}`, floor: '—', ratio: Number.NaN, target: '0', pass: e.gaps === 0,
      },
    );
    notes.push(
      `Exactly-once run: ${e.runs} recorded runs, ${e.executions} executions (rows the tasks inserted), per runner ${e.perRunner.join(' / ')}; exit codes ${e.codes.join(', ')}.` +
        (e.doubles.length > 0 ? ` Doubles: ${e.doubles.slice(0, 5).join('; ')}.` : '') +
        (e.gapSamples.length > 0 ? ` Skipped, first ones: ${e.gapSamples.join('; ')}.` : ''),
    );
  } finally {
    await cluster.stop();
  }
  return { rows, notes };
}
