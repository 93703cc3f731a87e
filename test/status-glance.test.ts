/**
 * `itop-cron status` at a glance, on a real MariaDB: human units, each overdue task once, no "overdue by
 * 0s", async tasks in error flagged, whole class names (status and `task list`), colours on a terminal
 * only (a real pseudo-terminal through script(1)), NO_COLOR respected.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { statusLines } from '../src/cli/statusText.js';
import { evaluateHealth, statusJson } from '../src/ops/statusData.js';
import { humanDuration } from '../src/output/human.js';
import { inlineImageGC } from '../src/tasks/InlineImageGC.js';
import { BIN, cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { controllableTask, pinnedClock, testConfig, testPool } from './helpers/opsEnv.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const LONG = 'Combodo\\iTop\\Extension\\Reporting\\NightlyDigestTask';
const PWD = 'Glance.Pa55-word';
const ESC = '\u001b[';

async function addRow(db: TestDb, cls: string, next: string | null, last: string | null, count: number): Promise<void> {
  await db.execute(
    `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, first_run_date, latest_run_date, next_run_date, total_exec_count, ` +
      "latest_run_duration, min_run_duration, max_run_duration, average_run_duration, running, status, system_user) VALUES (?, ?, ?, ?, ?, '0.2', '0.1', '0.5', '0.3', 0, 'active', 'www-data')",
    [cls, last, last, next, count],
  );
}

async function fill(db: TestDb): Promise<void> {
  await addRow(db, 'InlineImageGC', '2025-03-10 11:40:00', '2025-03-10 11:39:00', 5); // 20 min late: past the 15 min limit
  await addRow(db, 'SomePhpTask', '2025-03-10 11:00:00', '2025-03-10 10:00:00', 2); // 1 h late, not ours: never judged
  await addRow(db, 'DueNow', '2025-03-10 12:00:00', '2025-03-10 11:30:00', 1); // due this very second
  await addRow(db, LONG, '2025-03-10 13:00:00', '2025-03-10 11:30:00', 1);
  await db.execute(`INSERT INTO ${db.table('priv_async_task')} (status, created, planned) VALUES ('error', NOW(), NOW()), ('planned', NOW(), NOW())`);
}

test('humanDuration: two units at most, no zero tail', () => {
  assert.deepEqual(
    [0, 45, 60, 485, 900, 3600, 7800, 86_400, 8 * 86_400 + 2 * 3600 + 59, 2191 * 86_400 + 5 * 3600].map(humanDuration),
    ['0s', '45s', '1m', '8m 5s', '15m', '1h', '2h 10m', '1d', '8d 2h', '2191d 5h'],
  );
});

test('status lines: human units, each overdue task once, no "by 0s", async errors flagged, whole names', async (t) => {
  const db = await createTestDb(t);
  await fill(db);
  const config = testConfig(db);
  const pool = testPool(t, config);
  const tasks = [inlineImageGC, controllableTask('DueNow', { fail: false }), controllableTask(LONG, { fail: false })];
  const report = await statusJson(pool, config, pinnedClock('2025-03-10 12:00:00'), tasks);
  const limits = { maxLatenessSeconds: 900, maxAgeSeconds: 3600 };
  const lines = statusLines(report, evaluateHealth(report, limits), limits);
  const text = lines.join('\n');

  assert.deepEqual(lines.filter((l) => /overdue/i.test(l)), [
    'Overdue: SomePhpTask by 1h (not run by itop-cron)',
    '  - InlineImageGC is overdue by 20m (next run 2025-03-10 11:40:00, limit 15m)',
  ]);
  assert.doesNotMatch(text, /by 0s/);
  assert.ok(!lines.some((l) => l.includes('DueNow') && /overdue/i.test(l)), 'due this second is not overdue');
  assert.match(text, /\nLast task run: 2025-03-10 11:39:00 \(21m ago\)\n/);
  assert.match(text, /\nAsync tasks in error: 1 \(its retries are spent: not sent again; see priv_async_task\.last_error\)\n/);
  assert.ok(lines.some((l) => l.startsWith(`| ${LONG} | active  |`)), text);
  assert.ok(lines.every((l) => !l.includes(ESC)), 'no colour unless asked');
  // The verdict's lines are evaluateHealth's problems, in human units.
  assert.equal(lines.filter((l) => l.startsWith('  - ')).length, evaluateHealth(report, limits).problems.length);
  assert.match(text, /\nHealth: UNHEALTHY\n {2}- InlineImageGC/);

  const coloured = statusLines(report, evaluateHealth(report, limits), limits, true);
  assert.ok(coloured.includes(`${ESC}31mHealth: UNHEALTHY${ESC}0m`), coloured.join('\n'));
});

/** Runs `itop-cron status` on a pseudo-terminal (script(1)); resolves with what the terminal showed. */
function onTerminal(args: readonly string[], env: Record<string, string | undefined>): Promise<string> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: tempDir('itop-cron-tty-'),
      env: { PATH: process.env['PATH'], TERM: 'xterm', ...env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

test('colours on a terminal only, never with NO_COLOR; task list shows whole class names', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  await fill(db);
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const env = cliEnv(db);
  const piped = await runCli(['status', `--param_file=${params}`], { env });
  assert.equal(piped.code, 1, piped.stdout + piped.stderr);
  assert.ok(!piped.stdout.includes(ESC), 'no colour into a pipe');
  assert.ok(piped.stdout.includes(`| ${LONG} |`), piped.stdout);
  const list = await runCli(['task', 'list', `--param_file=${params}`], { env });
  assert.ok(list.stdout.includes(`| ${LONG} | active  |`), list.stdout);

  if (!existsSync('/usr/bin/script') && !existsSync('/bin/script')) return t.skip('script(1) is not installed: no pseudo-terminal');
  const tty = await onTerminal(['status', `--param_file=${params}`], env);
  assert.ok(tty.includes(`${ESC}31mHealth: UNHEALTHY${ESC}0m`), tty);
  const noColour = await onTerminal(['status', `--param_file=${params}`], { ...env, NO_COLOR: '1' });
  assert.match(noColour, /Health: UNHEALTHY/);
  assert.ok(!noColour.includes(ESC), noColour);
});
