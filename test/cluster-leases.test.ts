/**
 * Leases of cluster mode (src/cluster/leases.ts, issue 15) on a real 3-node Galera cluster: runners on
 * different nodes racing for one lease, a holder that stops renewing, and writes fenced by the epoch.
 * Run by `npm run test:cluster`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { claim, fenced, holder, release, renew, LEASE_TABLE, type Lease } from '../src/cluster/leases.js';
import { openDb } from '../src/db/connect.js';
import type { Db } from '../src/db/types.js';
import { galeraUnavailable, startGaleraCluster, type GaleraCluster } from './helpers/galera.js';

const skip = galeraUnavailable() ?? false;
const PREFIX = 'pfx_';
let cluster: GaleraCluster;
let dbName: string;
/** One Db per node, as three runners pointed at three nodes would have. */
let dbs: Db[] = [];

function nodeDb(i: number): Db {
  const node = cluster.nodes[i]!;
  return openDb({
    host: `127.0.0.1:${node.port}`, user: 'root', password: '', name: dbName, prefix: PREFIX,
    tlsEnabled: false, tlsCa: undefined, socketPath: undefined,
  });
}

before(async () => {
  if (skip !== false) return;
  cluster = await startGaleraCluster();
  process.stderr.write(`# galera cluster of 3 nodes started in ${cluster.startMs} ms\n`);
  dbName = `t_${randomBytes(6).toString('hex')}`;
  const c = await cluster.nodes[0]!.connect();
  await c.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await c.query(`CREATE TABLE \`${dbName}\`.work (id int PRIMARY KEY, v varchar(32) NOT NULL)`);
  await c.end();
  dbs = [nodeDb(0), nodeDb(1), nodeDb(2)];
}, { timeout: 180_000 });

after(async () => {
  await Promise.all(dbs.map((d) => d.close()));
  await cluster?.stop();
});

/** Reads on node `i` after it applied everything committed anywhere before (wsrep_sync_wait). */
async function syncedRows(i: number, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const c = await cluster.nodes[i]!.connect(dbName);
  try {
    await c.query('SET SESSION wsrep_sync_wait = 1');
    return (await c.query<RowDataPacket[]>(sql, params))[0];
  } finally {
    await c.end();
  }
}

async function certFailures(): Promise<number> {
  let sum = 0;
  for (const node of cluster.nodes) {
    const c = await node.connect();
    const [rows] = await c.query<RowDataPacket[]>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')",
    );
    for (const r of rows) sum += Number(r['Value']);
    await c.end();
  }
  return sum;
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

test('two runners on two nodes race for one lease 50 times: exactly one winner each round', { skip, timeout: 120_000 }, async () => {
  const [a, b] = [dbs[0]!, dbs[1]!];
  const latencies: number[] = [];
  const timed = async (db: Db, name: string, owner: string): Promise<Lease | undefined> => {
    const t0 = performance.now();
    const lease = await claim(db, name, owner, 10);
    latencies.push(performance.now() - t0);
    return lease;
  };
  const conflictsBefore = await certFailures();
  let lastEpoch = 0;
  for (let round = 0; round < 50; round++) {
    // Rounds 0-24: a new name each time (both INSERT the first row); 25-49: one name, released after
    // each round (both UPDATE an expired row).
    const name = round < 25 ? `race-${round}` : 'race';
    const [la, lb] = await Promise.all([timed(a, name, 'runner-a'), timed(b, name, 'runner-b')]);
    const winners = [la, lb].filter((l) => l !== undefined);
    assert.equal(winners.length, 1, `round ${round}: exactly one winner (a: ${la?.epoch}, b: ${lb?.epoch})`);
    const won = winners[0]!;
    const rows = await syncedRows(2, `SELECT owner, epoch FROM ${PREFIX}${LEASE_TABLE} WHERE name = ?`, [name]);
    assert.deepEqual([rows[0]?.['owner'], Number(rows[0]?.['epoch'])], [won.owner, won.epoch], `round ${round}: node 3 agrees`);
    if (round >= 25) {
      if (round > 25) assert.equal(won.epoch, lastEpoch + 1, 'one claim, one epoch');
      lastEpoch = won.epoch;
      assert.equal(await release(won.owner === 'runner-a' ? a : b, won), true);
    }
  }
  const conflicts = (await certFailures()) - conflictsBefore;
  process.stderr.write(
    `# claim latency over ${latencies.length} racing claims: median ${pct(latencies, 0.5).toFixed(1)} ms, ` +
      `p95 ${pct(latencies, 0.95).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms; ` +
      `certification failures + brute-force aborts during the race: ${conflicts}\n`,
  );
});

test('a holder that stops renewing loses the lease after the TTL; the other node takes over with a higher epoch', { skip, timeout: 60_000 }, async () => {
  const [a, b] = [dbs[0]!, dbs[1]!];
  const TTL = 2;
  const held = await claim(a, 'ttl', 'runner-a', TTL);
  assert.ok(held, 'runner a claims the free lease');
  // While a renews (every 0.5 s, well inside the TTL), b's claims fail.
  let lastRenewal = 0;
  for (let i = 0; i < 6; i++) {
    await sleep(500);
    // Taken before the statement: the database's NOW(3) + TTL is at least this + TTL.
    lastRenewal = Date.now();
    assert.equal(await renew(a, held, TTL), true, `renewal ${i}`);
    assert.equal(await claim(b, 'ttl', 'runner-b', TTL), undefined, `b must not take a renewed lease (${i})`);
  }
  let taken: Lease | undefined;
  while (taken === undefined && Date.now() - lastRenewal < 10_000) {
    taken = await claim(b, 'ttl', 'runner-b', TTL);
    if (taken === undefined) await sleep(50);
  }
  const failoverMs = Date.now() - lastRenewal;
  assert.ok(taken, 'b took the lease over');
  assert.ok(taken.epoch > held.epoch, `a higher epoch (${taken.epoch} > ${held.epoch})`);
  assert.ok(failoverMs >= TTL * 1000 - 5, `not before the TTL (${failoverMs} ms)`);
  assert.ok(failoverMs <= TTL * 1000 + 1000, `soon after it (${failoverMs} ms)`);
  assert.equal(await renew(a, held, TTL), false, "a's late renewal is refused");
  assert.deepEqual(await holder(dbs[2]!, 'ttl').then((h) => [h?.owner, h?.epoch]), ['runner-b', taken.epoch]);
  process.stderr.write(`# failover after the holder stopped renewing: ${failoverMs} ms (TTL ${TTL} s, claims every 50 ms)\n`);
});

test("a write fenced by the old owner's epoch changes nothing once the lease was taken over", { skip, timeout: 60_000 }, async () => {
  const [a, b] = [dbs[0]!, dbs[1]!];
  const write = (v: string) => (tx: Parameters<Parameters<typeof fenced>[2]>[0]) =>
    tx.execute(`INSERT INTO work (id, v) VALUES (1, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)`, [v]);
  const old = await claim(a, 'fence', 'runner-a', 1);
  assert.ok(old);
  assert.ok(await fenced(a, old, write('a-while-holding')), 'the holder writes');
  await sleep(1200);
  const now = await claim(b, 'fence', 'runner-b', 10);
  assert.ok(now && now.epoch === old.epoch + 1, 'b takes the expired lease, next epoch');
  assert.equal(await fenced(a, old, write('a-after-losing')), undefined, "a's fenced write is refused");
  assert.ok(await fenced(b, now, write('b-holding')), 'the new owner writes');
  const rows = await syncedRows(2, 'SELECT v FROM work WHERE id = 1');
  assert.equal(rows[0]?.['v'], 'b-holding');
  assert.equal(await fenced(a, old, write('a-again')), undefined);
  assert.equal((await syncedRows(0, 'SELECT v FROM work WHERE id = 1'))[0]?.['v'], 'b-holding', 'nothing of the old owner after the takeover');
});

test('a fenced write in flight on node 1 while node 2 claims the lease: the applied claim aborts it (1213 = lost, not thrown)', { skip, timeout: 60_000 }, async () => {
  const [a, b] = [dbs[0]!, dbs[1]!];
  const old = await claim(a, 'inflight', 'runner-a', 1);
  assert.ok(old);
  let claimedMeanwhile: Lease | undefined;
  const result = await fenced(a, old, async (tx) => {
    // The lease row is touched (and locked, on node 1 only); node 2 does not see that lock.
    await sleep(1200);
    claimedMeanwhile = await claim(b, 'inflight', 'runner-b', 10);
    await sleep(300);
    return tx.execute('INSERT INTO work (id, v) VALUES (2, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', ['a-in-flight']);
  });
  assert.ok(claimedMeanwhile, 'node 2 claimed the expired lease while the transaction was open');
  assert.equal(result, undefined, "the old owner's transaction was aborted");
  assert.equal(Number((await syncedRows(1, 'SELECT count(*) AS n FROM work WHERE id = 2'))[0]?.['n']), 0, 'nothing written');
  assert.equal((await holder(a, 'inflight'))?.owner, 'runner-b');
});

test('a lock wait timeout (1205) behind a local transaction holding the lease row is "not yours", not an error', { skip, timeout: 60_000 }, async () => {
  const node = cluster.nodes[2]!;
  const admin = await node.connect(dbName);
  await admin.query('SET GLOBAL innodb_lock_wait_timeout = 1');
  // A pool opened now gets the short wait on each of its connections.
  const short = nodeDb(2);
  try {
    const held = await claim(dbs[2]!, 'waited', 'runner-c', 10);
    assert.ok(held);
    await admin.query('START TRANSACTION');
    await admin.query(`UPDATE ${PREFIX}${LEASE_TABLE} SET writes = writes + 1 WHERE name = 'waited'`);
    assert.equal(await renew(short, held, 10), false, 'the renewal waited 1 s for the row and lost');
    assert.equal(await claim(short, 'waited', 'runner-c', 10), undefined, 'so did the claim');
    assert.equal(await fenced(short, held, async () => 'written'), undefined, 'and the fenced write');
    await admin.query('ROLLBACK');
    assert.equal(await renew(short, held, 10), true, 'once the row is free again, the holder renews');
  } finally {
    await admin.query('SET GLOBAL innodb_lock_wait_timeout = 50');
    await admin.end();
    await short.close();
  }
});

test("a node cut off from the cluster: its runner's claim, renewal and fenced write are lost (1047); the others go on", { skip, timeout: 120_000 }, async () => {
  const [a, , c] = [dbs[0]!, dbs[1]!, dbs[2]!];
  const onC = await claim(c, 'isolated', 'runner-c', 2);
  assert.ok(onC);
  const admin = await cluster.nodes[2]!.connect();
  try {
    // Galera's own partition switch: node 3 stops talking to the group and leaves the primary component.
    await admin.query("SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'");
    let status = '';
    for (let i = 0; i < 100 && status !== 'non-Primary'; i++) {
      await sleep(100);
      const [rows] = await admin.query<RowDataPacket[]>("SHOW STATUS LIKE 'wsrep_cluster_status'");
      status = String(rows[0]?.['Value']);
    }
    assert.equal(status, 'non-Primary');
    assert.equal(await renew(c, onC, 2), false, 'the cut-off holder cannot renew');
    assert.equal(await fenced(c, onC, async () => 'written'), undefined, 'nor write');
    assert.equal(await claim(c, 'isolated-2', 'runner-c', 2), undefined, 'nor claim anything');
    await sleep(2100);
    const onA = await claim(a, 'isolated', 'runner-a', 10);
    assert.ok(onA && onA.epoch > onC.epoch, 'node 1 takes the lease over once its TTL passed');
  } finally {
    await admin.query("SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'");
    await admin.end();
  }
  // Back in the cluster: node 3 catches up and sees the new owner.
  for (let i = 0; i < 300; i++) {
    const c3 = await cluster.nodes[2]!.connect();
    const [rows] = await c3.query<RowDataPacket[]>("SHOW STATUS LIKE 'wsrep_local_state_comment'");
    await c3.end();
    if (rows[0]?.['Value'] === 'Synced') break;
    await sleep(200);
  }
  assert.equal((await syncedRows(2, `SELECT owner FROM ${PREFIX}${LEASE_TABLE} WHERE name = 'isolated'`))[0]?.['owner'], 'runner-a');
});
