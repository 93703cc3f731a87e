/**
 * Registry rows with a NULL `class_name` or `status` (iTop's UI or a failed extension install can leave
 * them, issue 16 item 3): `--status_only`, `status`, `task list` and the task commands show them as
 * cron.php would (empty cells) and exit as usual; a run leaves them alone and runs the others.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';

const PWD = 'Null.Rows-Pa55';

async function setup(t: Parameters<typeof createTestDb>[0]): Promise<{ db: TestDb; params: string }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const table = db.table('priv_backgroundtask');
  await db.execute(
    `INSERT INTO ${table} (class_name, latest_run_date, next_run_date, total_exec_count, average_run_duration, status) VALUES ` +
      "('InlineImageGC', '2026-01-01 10:00:00', '2026-01-01 10:01:00', 4, 0.250, 'active'), " +
      "(NULL, '2026-01-01 09:00:00', '2026-01-01 09:00:00', 2, 0.100, 'active'), " +
      "('SomeExtensionTask', NULL, '2026-01-01 09:30:00', 0, 0.000, NULL), " +
      '(NULL, NULL, NULL, NULL, NULL, NULL)',
  );
  return { db, params: writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`) };
}

function noCrash(r: { code: number | null; stdout: string; stderr: string }): void {
  const all = r.stdout + r.stderr;
  assert.doesNotMatch(all, /Cannot read properties|TypeError|\n\s+at /, all);
}

test('--status_only, status and task list show NULL class_name/status rows as empty cells and exit as usual', async (t) => {
  const { db, params } = await setup(t);
  const env = cliEnv(db);

  const only = await runCli([`--param_file=${params}`, '--status_only=1'], { env });
  noCrash(only);
  assert.equal(only.code, 0, only.stdout + only.stderr);
  const lines = only.stdout.split('\n');
  // cron.php prints PHP's null as an empty string in its table (sprintf('%-25.25s', null)).
  assert.ok(lines.includes('|                           | active  | 2026-01-01 09:00:00 | 2026-01-01 09:00:00 |      2 |   0.100 s |'), only.stdout);
  assert.ok(lines.includes('|                           |         |                     |                     |      0 |   0.000 s |'), only.stdout);
  assert.ok(lines.includes('| SomeExtensionTask         |         |                     | 2026-01-01 09:30:00 |      0 |   0.000 s |'), only.stdout);
  assert.ok(lines.includes('| InlineImageGC             | active  | 2026-01-01 10:00:00 | 2026-01-01 10:01:00 |      4 |   0.250 s |'), only.stdout);

  const status = await runCli(['status', `--param_file=${params}`], { env });
  noCrash(status);
  // Overdue InlineImageGC: unhealthy (1), not a crash (255).
  assert.equal(status.code, 1, status.stdout + status.stderr);
  assert.match(status.stdout, /^\| InlineImageGC {13}\| active {2}\|/m);
  assert.match(status.stdout, /^Bad registry row #2: class_name is NULL$/m);
  assert.match(status.stdout, /^Bad registry row #3: status is NULL \(SomeExtensionTask\)$/m);
  assert.match(status.stdout, /^Bad registry row #4: class_name is NULL, status is NULL$/m);
  assert.match(status.stdout, /^Health: UNHEALTHY$/m);

  const json = await runCli(['status', '--json', `--param_file=${params}`], { env });
  noCrash(json);
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout) as { tasks: Array<{ className: string | null; status: string | null }> };
  assert.deepEqual(
    report.tasks.map((x) => [x.className, x.status]).sort(),
    [[null, 'active'], [null, null], ['InlineImageGC', 'active'], ['SomeExtensionTask', null]].sort(),
  );

  const list = await runCli(['task', 'list', `--param_file=${params}`], { env });
  noCrash(list);
  assert.equal(list.code, 0, list.stdout + list.stderr);
  assert.ok(list.stdout.split('\n').includes('|                           |         |                     |                     |      0 |   0.000 s |'), list.stdout);
  const listJson = await runCli(['task', 'list', '--json', `--param_file=${params}`], { env });
  noCrash(listJson);
  assert.equal(listJson.code, 0);
  assert.equal((JSON.parse(listJson.stdout) as unknown[]).length, 4);

  // The task commands resolve names among the rows that have one.
  const pause = await runCli(['task', 'pause', 'someextensiontask', `--param_file=${params}`], { env });
  noCrash(pause);
  assert.equal(pause.code, 0, pause.stdout + pause.stderr);
  assert.match(pause.stdout, /^Paused SomeExtensionTask:/);
  const unknown = await runCli(['task', 'resume', 'NoSuchTask', `--param_file=${params}`], { env });
  noCrash(unknown);
  assert.equal(unknown.code, 254, unknown.stdout + unknown.stderr);
  const history = await runCli(['history', 'InlineImageGC', `--param_file=${params}`], { env });
  noCrash(history);
  assert.equal(history.code, 0, history.stdout + history.stderr);
});

test('a verbose run with NULL class_name/status rows runs the other tasks and leaves those rows alone', async (t) => {
  const { db, params } = await setup(t);
  const r = await runCli([`--param_file=${params}`, '--verbose=1'], { env: cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '2' }) });
  noCrash(r);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^InlineImageGC: /m);
  assert.match(r.stdout, /^Reached normal execution time limit/m);
  const rows = await db.query<{ id: number; class_name: string | null; status: string | null; total_exec_count: number | null }>(
    `SELECT id, class_name, status, total_exec_count FROM ${db.table('priv_backgroundtask')} WHERE id <= 4 ORDER BY id`,
  );
  assert.ok(Number(rows[0]?.total_exec_count) > 4, 'InlineImageGC ran');
  assert.deepEqual(rows.slice(1).map((x) => [x.class_name, x.status, x.total_exec_count === null ? null : Number(x.total_exec_count)]), [
    [null, 'active', 2],
    ['SomeExtensionTask', null, 0],
    [null, null, null],
  ]);
});
