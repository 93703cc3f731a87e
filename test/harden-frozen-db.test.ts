/**
 * A frozen database server (SIGSTOP: connections stay open, nothing answers) must not keep a run alive
 * past its hard deadline: every statement is bounded, the bookkeeping that cannot be written is logged,
 * and the process exits while the server is still frozen.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliEnv, runCli } from './helpers/cli.js';
import { faultModule, waitFor } from './helpers/fault.js';
import { ownServerDb } from './helpers/ownServer.js';

const PWD = 'Frozen.DB-Pwd3';

test('a server frozen during a task: the run ends by its hard deadline, not when the server resumes', async (t) => {
  const { server, db, params, query } = await ownServerDb(t, PWD);
  const env = cliEnv(db, {
    ITOP_CRON_MAX_EXECUTION_TIME: '4',
    ITOP_CRON_SLEEP: '1',
    ITOP_CRON_EXTENSIONS: faultModule('slow.mjs'),
    FAULT_SLOW_SECONDS: '60',
    FAULT_SLOW_IGNORE_SIGNAL: '1',
  });
  const started = Date.now();
  const running = runCli([`--param_file=${params}`, '--task_grace_seconds=3'], { env, timeoutMs: 120_000 });
  let exited = false;
  void running.then(() => (exited = true));
  await waitFor('FaultSlow to be running', async () => Number((await query("SELECT running FROM priv_backgroundtask WHERE class_name = 'FaultSlow'"))[0]?.['running']) === 1);
  const pid = server.pid ?? 0;
  process.kill(pid, 'SIGSTOP');
  let frozenUntilExit: boolean;
  try {
    // The server stays frozen for up to a minute: the run's hard deadline is 7 s from its start.
    const until = Date.now() + 60_000;
    while (!exited && Date.now() < until) await sleep(200);
    frozenUntilExit = exited;
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const r = await running;
  t.diagnostic(`the run lasted ${((Date.now() - started) / 1000).toFixed(1)}s (4 s limit, 3 s grace), the server frozen throughout its end`);
  assert.ok(frozenUntilExit, `the run waited for the server to resume: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /FaultSlow exceeded its hard deadline of \d+s and was aborted/);
  assert.match(r.stderr, /could not be written/, 'the bookkeeping that could not be written is logged');
  assert.match(r.stdout, /^Starting: .+\n/);
  // cron.php's words for a database lost while a task ran, and its exit code.
  assert.match(r.stdout, /ERROR : 'MySQL has gone away' thrown when processing FaultSlow {2}\(error_code=\d+\)\n$/);
  assert.equal(r.code, 254);
  assert.ok(!r.stdout.includes(PWD) && !r.stderr.includes(PWD));

  // Once the server answers again, the next run clears the flag left behind and works.
  const next = await runCli([`--param_file=${params}`], { env: { ...env, ITOP_CRON_MAX_EXECUTION_TIME: '2', FAULT_SLOW_SECONDS: '0' } });
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.match(next.stderr, /"task":"FaultSlow".*cleared a running flag left by a previous run/);
});
