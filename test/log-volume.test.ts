/**
 * The default log of a crontab run stays small (issue 13): at info, one summary line per run instead of one
 * line per task run (~50 MB a day with cron_sleep 1 before); a task that failed keeps its own line, at warn.
 * Real runs of the built CLI on a real MariaDB, logging to a real file.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliEnv, makeItopRoot, runCli, writeParamFile } from './helpers/cli.js';
import { faultModule } from './helpers/fault.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const PWD = 'Log.Volume-Pwd7';
type Line = Record<string, unknown>;
const parse = (file: string): Line[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
const summaries = (lines: Line[]): Line[] => lines.filter((l) => String(l['msg']).startsWith('cron run: '));

test('the default level: one summary line per run, no line per task that succeeded, under 1 MB a day at one run a minute', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const logFile = join(tempDir('log-volume-'), 'cron.log');
  // No ITOP_CRON_LOG_LEVEL: the default.
  const env = cliEnv(db, { ITOP_CRON_LOG_LEVEL: undefined, ITOP_CRON_MAX_EXECUTION_TIME: '8', ITOP_CRON_SLEEP: '1', ITOP_CRON_LOG: logFile });
  const r = await runCli([`--param_file=${params}`], { env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const history = await runCli(['history', '--json', '--limit=500', `--param_file=${params}`], { env: { ...env, ITOP_CRON_LOG: join(tempDir('log-volume-'), 'h.log') } });
  const runs = JSON.parse(history.stdout) as unknown[];
  assert.ok(runs.length >= 3, `several task runs in 8 s: ${runs.length}`);

  const lines = parse(logFile);
  assert.deepEqual(lines.filter((l) => l['msg'] === 'task run'), [], 'no per-task line at info when the task succeeded');
  const [summary, ...more] = summaries(lines);
  assert.equal(more.length, 0);
  assert.equal(summary?.['level'], 30);
  assert.equal(summary?.['taskRuns'], runs.length);
  assert.equal(summary?.['failures'], 0);
  assert.equal(summary?.['exit'], 'time-limit');
  assert.ok(Number(summary?.['duration']) >= 7, String(summary?.['duration']));
  assert.match(String(summary?.['msg']), new RegExp(`^cron run: ${runs.length} task run\\(s\\), 0 failed, [\\d.]+s$`));
  // A crontab line every minute: 1440 runs a day, whatever each run's length (nothing is logged per pass).
  const perDay = statSync(logFile).size * 1440;
  assert.ok(perDay <= 1024 * 1024, `${perDay} bytes a day: ${readFileSync(logFile, 'utf8')}`);
});

test('a task that failed keeps its line, at warn, and the summary names it', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const root = makeItopRoot(db, { cron_max_execution_time: 2, cron_sleep: 1, 'itop_cron.extensions': faultModule('evil.mjs') });
  const logFile = join(tempDir('log-volume-'), 'cron.log');
  const r = await runCli([`--param_file=${params}`, `--itop_root=${root}`], { env: cliEnv(db, { ITOP_CRON_LOG_LEVEL: undefined, ITOP_CRON_LOG: logFile }) });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = parse(logFile);
  const failed = lines.filter((l) => l['msg'] === 'task run');
  assert.deepEqual(failed.map((l) => [l['task'], l['outcome'], l['level']]), [['FaultThrows', 'failure', 40]]);
  assert.match(String(failed[0]?.['message']), /failed on purpose/);
  const [summary] = summaries(lines);
  assert.equal(summary?.['failures'], 1);
  assert.deepEqual(summary?.['failedTasks'], { FaultThrows: 1 });
  assert.ok(Number(summary?.['taskRuns']) >= 2, 'the other tasks ran too');
});
