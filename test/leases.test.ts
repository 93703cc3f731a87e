/**
 * Cluster leases (src/cluster/leases.ts) on one plain MariaDB, in the regular suite: reading creates
 * nothing, a first claim creates the table, renew/release/re-claim and the epoch, bad TTLs. The races and
 * failovers across nodes are in test/cluster-leases.test.ts (a real Galera cluster, npm run test:cluster).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claim, holder, release, renew, LEASE_TABLE } from '../src/cluster/leases.js';
import { openDb } from '../src/db/connect.js';
import { createTestDb } from './helpers/testDb.js';

async function setup(t: Parameters<typeof createTestDb>[0]) {
  const tdb = await createTestDb(t, { schema: false, prefix: 'p_' });
  const db = openDb({
    host: `${tdb.server.host}:${tdb.server.port}`, user: tdb.server.user, password: tdb.server.password,
    name: tdb.name, prefix: 'p_', tlsEnabled: false, tlsCa: undefined, socketPath: undefined,
  });
  t.after(() => db.close());
  return { tdb, db };
}

test('holder() on a database where no lease was ever claimed: undefined, and no table created', async (t) => {
  const { tdb, db } = await setup(t);
  assert.equal(await holder(db, 'registry-resync'), undefined);
  assert.deepEqual(await tdb.query('SHOW TABLES'), []);
});

test('claim, renew, release, claim again: the table with the prefix, one epoch per claim, released means free', async (t) => {
  const { tdb, db } = await setup(t);
  const a = await claim(db, 'task:Foo', 'host-a:1', 10);
  assert.deepEqual(a, { name: 'task:Foo', owner: 'host-a:1', epoch: 1, previous: '', released: false });
  assert.equal((await tdb.query(`SHOW TABLES LIKE 'p\\_${LEASE_TABLE}'`)).length, 1);
  assert.equal(await claim(db, 'task:Foo', 'host-b:2', 10), undefined, 'held by a');
  assert.equal(await renew(db, a, 10), true);
  assert.equal((await holder(db, 'task:Foo'))?.owner, 'host-a:1');
  assert.equal(await release(db, a), true);
  assert.equal(await holder(db, 'task:Foo'), undefined, 'released: nobody holds it');
  assert.equal(await renew(db, a, 10), false, 'a released lease is not renewed');
  const b = await claim(db, 'task:Foo', 'host-b:2', 10);
  assert.equal(b?.epoch, 2, 'the next claim, the next epoch');
  assert.equal(b?.previous, 'host-a:1', 'who held it before');
  const again = await claim(db, 'task:Foo', 'host-b:2', 10);
  assert.equal(again?.epoch, 3, "the holder's own claim starts a new epoch too");
  assert.equal(await renew(db, b!, 10), false, 'and the old epoch is no longer held');
});

test('a TTL that is not a positive number of seconds is refused before anything is written', async (t) => {
  const { tdb, db } = await setup(t);
  for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(claim(db, 'x', 'o', ttl), /lease TTL must be a positive number of seconds/);
  }
  assert.deepEqual(await tdb.query('SHOW TABLES'), []);
});

test('released: whether the holder a claim replaced released the lease or let it expire (died, paused, cut off)', async (t) => {
  const { db } = await setup(t);
  const a = await claim(db, 'task:Bar', 'host-a:1', 0.3);
  assert.deepEqual([a?.previous, a?.released], ['', false], 'the first claim ever');
  await new Promise((r) => setTimeout(r, 400));
  const b = await claim(db, 'task:Bar', 'host-b:2', 10);
  assert.deepEqual([b?.previous, b?.released], ['host-a:1', false], 'a let it expire: b takes it over from a');
  assert.equal(await release(db, b!), true);
  assert.equal(await holder(db, 'task:Bar'), undefined, 'released: free at once');
  const c = await claim(db, 'task:Bar', 'host-c:3', 10);
  assert.deepEqual([c?.previous, c?.released, c?.epoch], ['host-b:2', true, 3], 'b released it');
  assert.equal(await claim(db, 'task:Bar', 'host-a:1', 10), undefined, 'held by c: no claim');
  const again = await claim(db, 'task:Bar', 'host-c:3', 10);
  assert.deepEqual([again?.previous, again?.released, again?.epoch], ['host-c:3', false, 4], "the holder's own re-claim");
});
