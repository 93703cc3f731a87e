import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { applySchema, listSchemaFiles, schemaStatements } from '../src/db/schema.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';
import { NO_REFERENCE, referenceDir } from './helpers/reference.js';

/** The tables our schema must create, unprefixed (what sql/ must hold). */
const EXPECTED_TABLES = [
  'priv_backgroundtask', 'priv_user', 'priv_internaluser', 'priv_user_local', 'priv_user_ldap',
  'priv_urp_profiles', 'priv_urp_userprofile', 'priv_urp_userorg', 'priv_async_task', 'priv_async_send_email',
  'priv_async_send_newsroom', 'priv_event', 'priv_event_notification', 'priv_event_email', 'priv_event_newsroom',
  'inline_image', 'attachment', 'ticket', 'ticket_request', 'ticket_incident', 'lnkcontacttoticket', 'contact',
  'person', 'organization', 'priv_change', 'priv_changeop', 'priv_changeop_setatt', 'priv_changeop_setatt_scalar',
  'priv_changeop_create',
  'priv_bulk_export_result', 'priv_temporary_object_descriptor', 'priv_trigger', 'priv_trigger_onobject',
  'priv_trigger_threshold', 'priv_link_action_trigger', 'priv_action', 'priv_action_notification',
  'priv_action_email', 'priv_action_newsroom', 'priv_lnk_action_notif_to_contact', 'key_value_store',
  'priv_module_install', 'priv_db_properties',
];

async function tableNames(db: TestDb): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name', [db.name],
  );
  return rows.map((r) => r.name);
}

/** Column definitions as information_schema sees them, one string per column, in table order. */
async function columns(db: TestDb, table: string): Promise<string[]> {
  const rows = await db.query<Record<string, string | null>>(
    'SELECT column_name, column_type, is_nullable, column_default, collation_name, extra ' +
      'FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position',
    [db.name, table],
  );
  return rows.map((r) => Object.values(r).map(String).join(' | '));
}

/** Index parts as information_schema sees them, sorted by index name and position. */
async function indexes(db: TestDb, table: string): Promise<string[]> {
  const rows = await db.query<Record<string, string | number | null>>(
    'SELECT index_name, seq_in_index, column_name, sub_part, non_unique, index_type ' +
      'FROM information_schema.statistics WHERE table_schema = ? AND table_name = ? ORDER BY index_name, seq_in_index',
    [db.name, table],
  );
  return rows.map((r) => Object.values(r).map(String).join(' | '));
}

test('schema files are numbered and every statement is prefixed', () => {
  const names = listSchemaFiles().map((f) => basename(f));
  assert.ok(names.length >= 9, `only ${names.length} schema files`);
  assert.deepEqual(names, [...names].sort());
  for (const statement of schemaStatements('pfx_')) {
    assert.doesNotMatch(statement, /\{prefix\}/);
    const m = /^(?:CREATE TABLE IF NOT EXISTS|INSERT IGNORE INTO) `([^`]+)`/.exec(statement);
    assert.ok(m, `unexpected statement: ${statement.slice(0, 80)}`);
    assert.ok(m[1]?.startsWith('pfx_'), `${m[1]} is not prefixed`);
  }
  for (const file of listSchemaFiles()) {
    assert.doesNotMatch(readFileSync(file, 'utf8'), /CREATE TABLE `(?!\{prefix\})/, `${file} has an unprefixed table`);
  }
});

test('an invalid prefix is refused', () => {
  for (const bad of ['pfx-', 'a b', 'x`; DROP TABLE y; --', 'é_', '{prefix}']) {
    assert.throws(() => schemaStatements(bad), /invalid table prefix/, bad);
  }
  assert.doesNotThrow(() => schemaStatements(''));
  assert.doesNotThrow(() => schemaStatements('Itop_2_'));
});

for (const prefix of ['', 'pfx_']) {
  test(`schema applies twice with prefix '${prefix}'`, async (t) => {
    const db = await createTestDb(t, { prefix });
    await applySchema({ execute: (sql) => db.conn.query(sql) }, prefix);
    const tables = await tableNames(db);
    assert.deepEqual(tables, EXPECTED_TABLES.map((name) => `${prefix}${name}`).sort());
    const profiles = await db.query<{ id: number; name: string }>(
      `SELECT id, name FROM ${db.table('priv_urp_profiles')} ORDER BY id`,
    );
    assert.equal(profiles.length, 13);
    assert.deepEqual(profiles[0], { id: 1, name: 'Administrator' });
    assert.deepEqual(profiles.at(-1), { id: 1024, name: 'REST Services User' });
    const collations = await db.query<{ t: string; c: string; e: string }>(
      'SELECT table_name AS t, table_collation AS c, engine AS e FROM information_schema.tables WHERE table_schema = ?',
      [db.name],
    );
    for (const row of collations) assert.deepEqual([row.c, row.e], ['utf8mb4_unicode_ci', 'InnoDB'], row.t);
  });
}

test('createAdminUser writes a user that the cron login query finds', async (t) => {
  const db = await createTestDb(t, { prefix: 'p_' });
  const admin = await createAdminUser(db, { login: 'cron', password: 'S3cret!', admin: true });
  const legacy = await createAdminUser(db, { login: 'old', password: 'pw', admin: false, legacySha256: true });
  const rows = await db.query<{ id: number; password_hash: Buffer; password_salt: Buffer; name: string }>(
    `SELECT u.id, ul.password_hash, ul.password_salt, p.name FROM ${db.table('priv_user')} u ` +
      `JOIN ${db.table('priv_internaluser')} ui ON ui.id = u.id JOIN ${db.table('priv_user_local')} ul ON ul.id = u.id ` +
      `JOIN ${db.table('priv_urp_userprofile')} up ON up.userid = u.id JOIN ${db.table('priv_urp_profiles')} p ON p.id = up.profileid ` +
      "WHERE u.login = ? AND u.status = 'enabled'",
    ['CRON'],
  );
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.id, admin);
  assert.equal(rows[0]?.name, 'Administrator');
  const hash = rows[0]?.password_hash.toString() ?? '';
  assert.match(hash, /^\$2y\$04\$/);
  assert.equal(bcrypt.compareSync('S3cret!', hash.replace(/^\$2y\$/, '$2b$')), true);
  const [old] = await db.query<{ password_hash: Buffer; password_salt: Buffer }>(
    `SELECT password_hash, password_salt FROM ${db.table('priv_user_local')} WHERE id = ?`, [legacy],
  );
  assert.equal(old?.password_salt.length, 16);
  assert.match(old?.password_hash.toString() ?? '', /^[0-9a-f]{64}$/);
});

test('the fresh-install dump loads and its tables match ours', async (t) => {
  if (referenceDir() === undefined) return t.skip(NO_REFERENCE);
  const ref = await createTestDb(t, { reference: 'fresh-install' });
  const ours = await createTestDb(t);
  const refTables = new Set(await tableNames(ref));
  assert.ok(refTables.size > 200, `only ${refTables.size} tables in the dump`);
  const [admin] = await ref.query<{ login: string }>('SELECT login FROM priv_user WHERE id = 1');
  assert.equal(admin?.login, 'admin');
  // Every table of ours that the dump has must have the very same columns; ticket_incident is the only
  // one the dump lacks (the Incident module was not installed).
  const missing = (await tableNames(ours)).filter((name) => !refTables.has(name));
  assert.deepEqual(missing, ['ticket_incident']);
  for (const table of await tableNames(ours)) {
    if (!refTables.has(table)) continue;
    assert.deepEqual(await columns(ours, table), await columns(ref, table), table);
    assert.deepEqual(await indexes(ours, table), await indexes(ref, table), table);
  }
  const profiles = 'SELECT id, name, description FROM priv_urp_profiles ORDER BY id';
  assert.deepEqual(await ours.query(profiles), await ref.query(profiles));
});

test('a reference dump loads under a prefix', async (t) => {
  if (referenceDir() === undefined) return t.skip(NO_REFERENCE);
  const db = await createTestDb(t, { reference: 'sla-scenario', prefix: 'itop_' });
  const tasks = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.table('priv_backgroundtask')}`);
  assert.equal(Number(tasks[0]?.n), 10);
  assert.deepEqual(await db.query(`SHOW TABLES LIKE 'priv_user'`), []);
});
