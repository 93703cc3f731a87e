/**
 * Issue 15 on a real 3-node Galera cluster (test/helpers/galera.ts): why cron.php's GET_LOCK is no cluster
 * mutex. Run by `npm run test:cluster` (not part of `npm test`: the cluster takes ~20 s to start).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { galeraUnavailable, startGaleraCluster, type GaleraCluster } from './helpers/galera.js';

const skip = galeraUnavailable() ?? false;
let cluster: GaleraCluster;

before(async () => {
  if (skip !== false) return;
  cluster = await startGaleraCluster();
  process.stderr.write(`# galera cluster of 3 nodes started in ${cluster.startMs} ms\n`);
}, { timeout: 180_000 });

after(async () => { await cluster?.stop(); });

test('the three nodes form one cluster: a row written on node 1 is read on nodes 2 and 3', { skip }, async () => {
  const [n1, n2, n3] = await Promise.all(cluster.nodes.map((n) => n.connect()));
  try {
    const [size] = await n1!.query<RowDataPacket[]>("SHOW STATUS LIKE 'wsrep_cluster_size'");
    assert.equal(size[0]?.['Value'], '3');
    await n1!.query('CREATE DATABASE t_replication');
    await n1!.query('CREATE TABLE t_replication.t (id int PRIMARY KEY, v varchar(10))');
    await n1!.query("INSERT INTO t_replication.t VALUES (1, 'one')");
    for (const c of [n2!, n3!]) {
      // wsrep_sync_wait: the read waits until the node has applied everything committed before it.
      await c.query('SET SESSION wsrep_sync_wait = 1');
      const [rows] = await c.query<RowDataPacket[]>('SELECT v FROM t_replication.t WHERE id = 1');
      assert.equal(rows[0]?.['v'], 'one');
    }
    await n1!.query('DROP DATABASE t_replication');
  } finally {
    await Promise.all([n1, n2, n3].map((c) => c?.end()));
  }
});

test("GET_LOCK is node-local: while node 1 holds 'x', GET_LOCK('x', 0) on node 2 also returns 1", { skip }, async () => {
  const [n1, n2] = await Promise.all(cluster.nodes.slice(0, 2).map((n) => n.connect()));
  try {
    const [a] = await n1!.query<RowDataPacket[]>("SELECT GET_LOCK('x', 0) AS got");
    assert.equal(Number(a[0]?.['got']), 1, 'node 1 takes the lock');
    const [b] = await n2!.query<RowDataPacket[]>("SELECT GET_LOCK('x', 0) AS got");
    assert.equal(Number(b[0]?.['got']), 1, 'node 2 takes it as well: two cron.php runs at once on one cluster');
    // On one node the same call is refused, which is all cron.php relies on.
    const n1b = await cluster.nodes[0]!.connect();
    try {
      const [c] = await n1b.query<RowDataPacket[]>("SELECT GET_LOCK('x', 0) AS got");
      assert.equal(Number(c[0]?.['got']), 0, 'a second session on node 1 is refused');
    } finally {
      await n1b.end();
    }
  } finally {
    await Promise.all([n1, n2].map((c) => c?.end()));
  }
});
