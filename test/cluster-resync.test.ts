/**
 * The registry resync of runners that start together on one Galera cluster (issue 15): priv_backgroundtask
 * has no unique key on class_name, so three unguarded resyncs on three nodes create a class's row more than
 * once; under one lease (src/cluster/guarded.ts) they create one row per class. Run by `npm run test:cluster`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { claim } from '../src/cluster/leases.js';
import { fencedDb, LeaseLostError, underLease } from '../src/cluster/guarded.js';
import { loadConfig } from '../src/config/load.js';
import { openDb } from '../src/db/connect.js';
import { applySchema } from '../src/db/schema.js';
import type { Db } from '../src/db/types.js';
import { reSyncProcesses } from '../src/scheduler/resync.js';
import type { RunEnv } from '../src/scheduler/runEnv.js';
import type { BackgroundTask } from '../src/tasks/types.js';
import { galeraUnavailable, startGaleraCluster, type GaleraCluster } from './helpers/galera.js';
import { controllableTask, opsEnv } from './helpers/opsEnv.js';
import { tempDir } from './helpers/tempDir.js';

const skip = galeraUnavailable() ?? false;
let cluster: GaleraCluster;
let dbName: string;
/** One runner per node: its RunEnv (pool on that node). */
let runners: RunEnv[] = [];
const TASKS: BackgroundTask[] = ['ClusterTaskA', 'ClusterTaskB', 'ClusterTaskC', 'ClusterTaskD', 'ClusterTaskE']
  .map((c) => controllableTask(c, { fail: false }));

function runnerEnv(i: number): RunEnv {
  const node = cluster.nodes[i]!;
  const config = loadConfig({
    raw: {},
    env: { ITOP_DB_HOST: `127.0.0.1:${node.port}`, ITOP_DB_USER: 'root', ITOP_DB_PWD: '', ITOP_DB_NAME: dbName, ITOP_DB_SUBNAME: '', ITOP_TIMEZONE: 'Europe/Paris' },
    cwd: tempDir('cluster-resync-cwd-'),
  });
  return opsEnv(config, openDb(config.db)).env;
}

before(async () => {
  if (skip !== false) return;
  cluster = await startGaleraCluster();
  process.stderr.write(`# galera cluster of 3 nodes started in ${cluster.startMs} ms\n`);
  dbName = `t_${randomBytes(6).toString('hex')}`;
  const c = await cluster.nodes[0]!.connect();
  await c.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await c.query(`USE \`${dbName}\``);
  await applySchema({ execute: (sql) => c.query(sql) }, '');
  await c.end();
  runners = [runnerEnv(0), runnerEnv(1), runnerEnv(2)];
}, { timeout: 240_000 });

after(async () => {
  await Promise.all(runners.map((r) => r.db.close()));
  await cluster?.stop();
});

/** Rows per class, read on node 3 once it applied everything committed before (wsrep_sync_wait). */
async function rowsPerClass(): Promise<Map<string, number>> {
  const c = await cluster.nodes[2]!.connect(dbName);
  try {
    await c.query('SET SESSION wsrep_sync_wait = 1');
    const [rows] = await c.query<RowDataPacket[]>('SELECT class_name, count(*) AS n FROM priv_backgroundtask GROUP BY class_name');
    return new Map(rows.map((r) => [String(r['class_name']), Number(r['n'])]));
  } finally {
    await c.end();
  }
}

/** An empty registry, seen as empty on every node. */
async function emptyRegistry(): Promise<void> {
  await runners[0]!.db.execute('DELETE FROM priv_backgroundtask');
  assert.equal((await rowsPerClass()).size, 0);
}

test('the problem: three unguarded resyncs started together on three nodes create some class twice', { skip, timeout: 120_000 }, async () => {
  const seen: string[] = [];
  for (let round = 0; round < 10 && seen.length === 0; round++) {
    await emptyRegistry();
    await Promise.all(runners.map((env) => reSyncProcesses(env, TASKS)));
    for (const [cls, n] of await rowsPerClass()) if (n > 1) seen.push(`${cls} x${n} (round ${round})`);
  }
  assert.notEqual(seen.length, 0, 'a class created more than once in 10 rounds');
  process.stderr.write(`# unguarded resync duplicates: ${seen.join(', ')}\n`);
});

test('three resyncs under one lease, started together on three nodes: one row per class, 10 rounds out of 10', { skip, timeout: 180_000 }, async () => {
  const waits: number[] = [];
  for (let round = 0; round < 10; round++) {
    await emptyRegistry();
    const results = await Promise.all(runners.map((env, i) =>
      underLease(env.db, 'registry-resync', `runner-${i}`, { ttlSeconds: 10, waitMs: 20_000, pollMs: 50 },
        (db) => reSyncProcesses({ ...env, db }, TASKS))));
    for (const r of results) {
      assert.ok(r, `round ${round}: every runner had its turn`);
      assert.equal(r.value.size, TASKS.length, 'and may run every task');
      waits.push(r.waitedMs);
    }
    const counts = await rowsPerClass();
    assert.deepEqual([...counts.entries()].sort(), TASKS.map((t) => [t.className, 1]), `round ${round}: one row per class`);
  }
  process.stderr.write(`# guarded resync: longest wait for the lease ${Math.max(...waits)} ms (3 runners, ${TASKS.length} classes)\n`);
});

test('a runner whose resync lease was taken over writes nothing: LeaseLostError, no row', { skip, timeout: 60_000 }, async () => {
  await emptyRegistry();
  const [a, b] = [runners[0]!, runners[1]!];
  const old = await claim(a.db, 'registry-resync-lost', 'runner-a', 1);
  assert.ok(old);
  await sleep(1200);
  assert.ok(await claim(b.db, 'registry-resync-lost', 'runner-b', 10), 'b takes the expired lease');
  const late: Db = fencedDb(a.db, old);
  await assert.rejects(reSyncProcesses({ ...a, db: late }, TASKS), LeaseLostError);
  assert.equal((await rowsPerClass()).size, 0, 'no registry row from the old holder');
});
