/**
 * Extension tasks through the built CLI: examples/extension/hello-task.mjs named in the environment or in
 * config-itop.php is loaded, registered, run, scheduled and listed; a broken module is one clear line.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { cliEnv, makeItopRoot, REPO, runCli, writeParamFile } from './helpers/cli.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const EXAMPLE = join(REPO, 'examples', 'extension', 'hello-task.mjs');
const PWD = 'Ext.Pa55word';
const FAST = { ITOP_CRON_MAX_EXECUTION_TIME: '2', ITOP_CRON_SLEEP: '1' };

async function setup(t: TestContext, prefix = ''): Promise<{ db: TestDb; params: string }> {
  const db = await createTestDb(t, { prefix });
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  return { db, params: writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`) };
}

interface TaskRow {
  first_run_date: string;
  next_run_date: string;
  total_exec_count: number;
  status: string;
}

async function helloRow(db: TestDb): Promise<TaskRow | undefined> {
  const rows = await db.query<TaskRow>(
    `SELECT first_run_date, next_run_date, total_exec_count, status FROM ${db.table('priv_backgroundtask')} WHERE class_name = ?`,
    ['Acme\\HelloTask'],
  );
  return rows[0];
}

const seconds = (local: string): number => Date.parse(`${local.replace(' ', 'T')}Z`) / 1000;

test('the example extension named in ITOP_CRON_EXTENSIONS is loaded, run, scheduled and listed', async (t) => {
  const { db, params } = await setup(t);
  const env = cliEnv(db, { ...FAST, ITOP_CRON_EXTENSIONS: EXAMPLE });
  const r = await runCli([`--param_file=${params}`, '--verbose=1'], { env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^Creating record for: Acme\\HelloTask$/m);
  assert.match(r.stdout, /^Acme\\HelloTask: Hello from Acme \(run 1\)$/m);
  const row = await helloRow(db);
  assert.ok(row !== undefined);
  assert.equal(Number(row.total_exec_count), 1);
  assert.equal(row.status, 'active');
  // Drift-free: planned (at registration, at most a second before the run started) + 5 s.
  const step = seconds(row.next_run_date) - seconds(row.first_run_date);
  assert.ok(step === 5 || step === 4, `next_run_date - first_run_date = ${step}`);
  const stored = await db.query<{ value: string }>(`SELECT value FROM ${db.table('key_value_store')} WHERE namespace = 'acme-hello'`);
  assert.deepEqual(stored.map((s) => s.value), ['1']);

  const status = await runCli([`--param_file=${params}`, '--status_only=1'], { env });
  assert.equal(status.code, 0);
  assert.match(status.stdout, new RegExp(`^\\| Acme\\\\HelloTask +\\| active +\\| ${row.first_run_date.slice(0, 10)}.* \\| ${row.next_run_date} \\| +1 \\|`, 'm'));
});

test('the example extension named in config-itop.php runs on a prefixed database', async (t) => {
  const { db, params } = await setup(t, 'pfx_');
  const root = makeItopRoot(db, { 'itop_cron.extensions': EXAMPLE });
  const r = await runCli([`--param_file=${params}`, '--verbose=1', `--itop_root=${root}`], { env: { ITOP_CRON_LOG_LEVEL: 'info' } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^Acme\\HelloTask: Hello from Acme \(run 1\)$/m);
  assert.equal((await helloRow(db))?.status, 'active');
  assert.equal((await db.query(`SELECT 1 FROM ${db.table('key_value_store')} WHERE namespace = 'acme-hello'`)).length, 1);
});

test('a broken extension module is one clear line and exit 254', async (t) => {
  const { db, params } = await setup(t);
  const dir = tempDir('itop-ext-');
  const invalid = join(dir, 'invalid.mjs');
  writeFileSync(invalid, "export default { className: '\\\\Acme\\\\Bad', process: async () => 'x', periodicity: () => 5 };\n");
  const syntax = join(dir, 'syntax.mjs');
  writeFileSync(syntax, 'export default {\n');
  const cases: [string, RegExp][] = [
    [invalid, /^The extension module '.*invalid\.mjs' must export tasks with a className \(no leading backslash\), process\(\) and either periodicity\(\) or nextOccurrence\(\)$/],
    [syntax, /^Cannot load the extension module '.*syntax\.mjs': .+$/],
    [join(dir, 'missing.mjs'), /^Cannot load the extension module '.*missing\.mjs': .+$/],
  ];
  for (const [module, expected] of cases) {
    const r = await runCli([`--param_file=${params}`], { env: cliEnv(db, { ...FAST, ITOP_CRON_EXTENSIONS: module }) });
    assert.equal(r.code, 254, r.stdout + r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0] ?? '', expected);
  }
});
