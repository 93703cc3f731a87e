/**
 * `itop-cron init` never harms a real iTop: on an installed one (the real iTop 3.2 dump, and a database
 * whose priv_module_install lists a module) it refuses and changes nothing; with --existing_itop=1 it
 * adds only itop-cron's own table, never an administrator nor a table of a module that is not installed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { NO_REFERENCE, referenceDir } from './helpers/reference.js';
import { createTestDb, type TestDb } from './helpers/testDb.js';

/** A login that is not in the dump: today's mistake that created a new administrator. */
const MISTYPED = 'auth_user=admn\nauth_pwd=Typo.Pa55-word\n';

async function snapshot(db: TestDb): Promise<{ tables: string[]; users: string[]; profiles: number }> {
  const tables = await db.query<{ name: string }>(
    'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME', [db.name],
  );
  const users = await db.query<{ login: string }>(`SELECT login FROM ${db.table('priv_user')} ORDER BY id`);
  const [profiles] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.table('priv_urp_userprofile')}`);
  return { tables: tables.map((t) => t.name), users: users.map((u) => u.login), profiles: Number(profiles?.n) };
}

/** Refused, nothing changed; then --existing_itop=1 adds only the run history table. */
async function assertProtected(db: TestDb): Promise<void> {
  const params = writeParamFile(MISTYPED);
  const before = await snapshot(db);
  const refused = await runCli(['init', `--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(refused.code, 254, refused.stdout + refused.stderr);
  assert.match(
    refused.stdout,
    new RegExp(`^Error: database '${db.name}' \\(prefix '${db.prefix}'\\) holds an installed iTop \\(priv_module_install lists \\d+ modules\\): ` +
      "init creates tables and an administrator for a trial database only, so it changed nothing\\. To add only itop-cron's own tables there, run itop-cron init --existing_itop=1\\n$"),
  );
  assert.deepEqual(await snapshot(db), before);

  for (const flag of ['--existing_itop=1', '--existing_itop']) {
    const forced = await runCli(['init', `--param_file=${params}`, flag], { env: cliEnv(db) });
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    assert.match(forced.stdout, /no iTop table and no user were created\.\n$/);
    const after = await snapshot(db);
    assert.deepEqual(after.tables.filter((t) => !before.tables.includes(t)), [`${db.prefix}itop_cron_run_history`]);
    assert.deepEqual([after.users, after.profiles], [before.users, before.profiles], 'no user, no profile link');
    assert.ok(!after.tables.includes(`${db.prefix}ticket_incident`), 'ticket_incident must not appear');
  }
}

test('the real iTop 3.2 database: init refuses; --existing_itop=1 adds only its own table, no admin, no ticket_incident', async (t) => {
  if (referenceDir() === undefined) return t.skip(NO_REFERENCE);
  const db = await createTestDb(t, { reference: 'fresh-install' });
  assert.ok(!(await snapshot(db)).tables.includes('ticket_incident'), 'the dump has no incident module');
  await assertProtected(db);
});

test('a prefixed database whose priv_module_install lists a module is an installed iTop (no reference dump needed)', async (t) => {
  const db = await createTestDb(t, { prefix: 'it_' });
  await db.execute(`INSERT INTO ${db.table('priv_module_install')} (name, version) VALUES ('itop-tickets', '3.2.0')`);
  await db.execute(`DROP TABLE ${db.table('ticket_incident')}`);
  await assertProtected(db);
});

test('a trial database made by init is still init-able again (idempotent), and a fresh one is created', async (t) => {
  const db = await createTestDb(t, { schema: false });
  const params = writeParamFile('auth_user=admin\nauth_pwd=Trial.Pa55-word\n');
  const first = await runCli(['init', `--param_file=${params}`], { env: cliEnv(db) });
  assert.match(first.stdout, /administrator 'admin' created/);
  const again = await runCli(['init', `--param_file=${params}`], { env: cliEnv(db) });
  assert.equal(again.code, 0, again.stdout);
  assert.match(again.stdout, /already exists, kept/);
});
