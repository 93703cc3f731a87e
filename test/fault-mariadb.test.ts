/**
 * Fault injection, the database (issue 5): a MariaDB restart during a task ends the run with cron.php's
 * "MySQL has gone away" line and exit 254; the server dying between tasks ends it with `ERROR: '...'` and
 * exit 0 (cron.php's main catch); in both cases the next run, once the server is back, finds consistent
 * state. Each scenario uses a server of its own (startThrowawayServer), since it is stopped and restarted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mysql from 'mysql2/promise';
import { builtInTasks } from '../src/tasks/registry.js';
import { cliEnv } from './helpers/cli.js';
import { faultModule, OutputRecorder, waitFor } from './helpers/fault.js';
import { ownServerDb } from './helpers/ownServer.js';

const PWD = 'Fault.MariaDB-Pwd7';
const recorder = new OutputRecorder();

async function row(query: (sql: string) => Promise<Record<string, unknown>[]>, cls: string): Promise<Record<string, unknown> | undefined> {
  return (await query(`SELECT * FROM priv_backgroundtask WHERE class_name = '${cls}'`))[0];
}

test('a MariaDB restart during a task: MySQL has gone away, exit 254; the next run clears the flag and works', async (t) => {
  const { server, db, params, query } = await ownServerDb(t, PWD);
  const env = cliEnv(db, {
    ITOP_CRON_MAX_EXECUTION_TIME: '60',
    ITOP_CRON_SLEEP: '1',
    ITOP_CRON_EXTENSIONS: faultModule('slow.mjs'),
    FAULT_SLOW_SECONDS: '40',
  });
  const running = recorder.run('restart during a task', [`--param_file=${params}`, '--verbose=1'], { env, timeoutMs: 60_000 });
  await waitFor('FaultSlow to be running', async () => Number((await row(query, 'FaultSlow'))?.['running']) === 1);
  await server.restart();
  const r = await running;
  assert.equal(r.code, 254, r.stdout + r.stderr);
  assert.match(r.stdout, /\nERROR : 'MySQL has gone away' thrown when processing FaultSlow {2}\(error_code=\d+\)\n$/);
  const left = await row(query, 'FaultSlow');
  assert.equal(Number(left?.['running']), 1, 'the row is not updated any further, as cron.php');
  assert.equal(Number(left?.['total_exec_count']), 0);

  const next = await recorder.run('run after the restart', [`--param_file=${params}`], {
    env: { ...env, ITOP_CRON_MAX_EXECUTION_TIME: '2', FAULT_SLOW_SECONDS: '0' },
  });
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.match(next.stderr, /"task":"FaultSlow".*cleared a running flag left by a previous run/);
  const after = await row(query, 'FaultSlow');
  assert.equal(Number(after?.['running']), 0);
  assert.equal(Number(after?.['total_exec_count']), 1);
  assert.ok(Number((await row(query, 'InlineImageGC'))?.['total_exec_count']) >= 1);
  recorder.assertNever(PWD);
});

test("the server dying between tasks: ERROR: '...' and exit 0 as cron.php; the next run works once it is back", async (t) => {
  const { server, db, params, query } = await ownServerDb(t, PWD);
  // No task is due (every built-in one is paused): the loop only runs its own statement, then sleeps.
  for (const task of builtInTasks()) {
    await query(`INSERT INTO priv_backgroundtask (class_name, next_run_date, status) VALUES (${mysql.escape(task.className)}, NOW(), 'paused')`);
  }
  const env = cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '60', ITOP_CRON_SLEEP: '1' });
  let started!: () => void;
  const isStarted = new Promise<void>((resolve) => (started = resolve));
  const running = recorder.run('server killed while idle', [`--param_file=${params}`], {
    env,
    timeoutMs: 60_000,
    onSpawn: (child) => child.stdout?.on('data', (d: Buffer) => d.toString().includes('Starting:') && started()),
  });
  await isStarted;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  process.kill(server.pid ?? 0, 'SIGKILL');
  const r = await running;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^Starting: .+\nERROR: 'MySQL has gone away'\nExiting: .+\n$/);
  await server.restart();
  const next = await recorder.run('run after the server is back', [`--param_file=${params}`], {
    env: { ...env, ITOP_CRON_MAX_EXECUTION_TIME: '2' },
  });
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.match(next.stdout, /^Starting: .+\nExiting: .+\n$/);
  assert.equal((await row(query, 'InlineImageGC'))?.['status'], 'paused');
  recorder.assertNever(PWD);
});
