/**
 * Compatibility with the real thing: the real iTop 3.2 database (reference/itop-3.2/fresh-install.sql) and
 * the outputs its cron.php printed. Skipped when the reference folder is absent.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtInTasks } from '../src/tasks/registry.js';
import { cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { NO_REFERENCE, referenceDir } from './helpers/reference.js';
import { createTestDb } from './helpers/testDb.js';

const REF = referenceDir();
const ADMIN = 'auth_user=admin\nauth_pwd=Admin.123456\n';

/** iTop's discovery order on the reference install. */
const ITOP_ORDER = [
  'CheckStopWatchThresholds',
  'LogFileRotationProcess',
  'ExecAsyncTask',
  'ObsolescenceDateUpdater',
  'BulkExportResultGC',
  'InlineImageGC',
  'BackupExec',
  'Combodo\\iTop\\Service\\Notification\\Event\\EventNotificationNewsroomGC',
  'Combodo\\iTop\\Service\\TemporaryObjects\\TemporaryObjectGC',
  'Combodo\\iTop\\SessionTracker\\SessionGC',
];

/** Rebuilds priv_backgroundtask rows from a status table printed by cron.php (names are truncated to 25). */
function rowsFromStatusTable(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| Task Class'))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

test('--status_only prints, byte for byte, the table cron.php printed for the same rows', { skip: REF === undefined ? NO_REFERENCE : false }, async (t) => {
  const db = await createTestDb(t, { reference: 'fresh-install' });
  const expected = readFileSync(join(REF!, 'outputs', 'out-status_only.txt'), 'utf8');
  for (const [name, status, last, next, count, avg] of rowsFromStatusTable(expected)) {
    const full = ITOP_ORDER.find((c) => c.startsWith(name!))!;
    await db.execute(
      `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, latest_run_date, next_run_date, total_exec_count, average_run_duration, status) VALUES (?, ?, ?, ?, ?, ?)`,
      [full, last === '' ? null : last, next, Number(count), avg!.replace(/ s$/, ''), status],
    );
  }
  const r = await runCli([`--param_file=${writeParamFile(ADMIN)}`, '--status_only=1'], { env: cliEnv(db) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, expected);
  const fresh = await createTestDb(t, { reference: 'fresh-install' });
  const f = await runCli([`--param_file=${writeParamFile(ADMIN)}`, '--status_only=1'], { env: cliEnv(fresh) });
  assert.equal(f.stdout, readFileSync(join(REF!, 'outputs', 'out-status_only-fresh.txt'), 'utf8'));
});

test('a first verbose run on the real fresh install creates the rows iTop creates, in its order', { skip: REF === undefined ? NO_REFERENCE : false }, async (t) => {
  const db = await createTestDb(t, { reference: 'fresh-install' });
  const r = await runCli([`--param_file=${writeParamFile(ADMIN)}`, '--verbose=1'], {
    env: cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '3', ITOP_CRON_SLEEP: '1' }),
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const ours = new Set(builtInTasks().map((t) => t.className));
  const expectedOrder = ITOP_ORDER.filter((c) => ours.has(c));
  const created = [...r.stdout.matchAll(/^Creating record for: (.+)$/gm)].map((m) => m[1]);
  assert.deepEqual(created, expectedOrder);
  assert.match(r.stdout, new RegExp(`^Background processes: ${expectedOrder.join(', ').replace(/\\/g, '\\\\')}$`, 'm'));
  const rows = await db.query<Record<string, unknown>>(`SELECT * FROM ${db.table('priv_backgroundtask')} ORDER BY id`);
  assert.deepEqual(rows.map((row) => row['class_name']), expectedOrder);
  for (const row of rows) {
    assert.equal(row['status'], 'active');
    assert.equal(Number(row['running']), 0);
    if (Number(row['total_exec_count']) === 0) {
      assert.equal(row['min_run_duration'], '99999.999', `${String(row['class_name'])} keeps the +inf sentinel`);
      assert.equal(row['system_user'], '');
      assert.equal(row['first_run_date'], null);
    } else {
      assert.match(String(row['latest_run_duration']), /^\d+\.\d{3}$/);
    }
  }
  // Lines between the markers have cron.php's shapes (times masked).
  const masked = r.stdout.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, 'DATE').replace(/: \d{10} \(/g, ': UNIX (');
  assert.match(masked, /^Starting: UNIX \(DATE\)\nPlanned duration = 3 seconds\nLoop pause = 1 seconds\nCreating record for: /);
  assert.match(masked, /\n\d+ Tasks planned to run now \(DATE\):\n\+-{27}\+-{9}\+-{21}\+-{21}\+\n\| Task Class {16}\| Status {2}\| Last Run {12}\| Next Run {12}\|\n/);
  if (ours.has('BackupExec')) assert.match(masked, /\n-- Skipping task: BackupExec -{29} until: DATE\n/);
});
