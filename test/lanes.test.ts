// Parallel lanes (itop_cron.max_parallel): a slow task does not hold the others back. With one lane (the
// default, cron.php's order) InlineImageGC, due every second, waits for the 6 s FaultSlow; with two lanes it
// keeps running every cron_sleep meanwhile. Both runs of the built CLI on a real MariaDB.
import assert from 'node:assert/strict';
import test from 'node:test';
import { cliEnv, makeItopRoot, runCli, writeParamFile } from './helpers/cli.js';
import { faultModule } from './helpers/fault.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';
import { createClock } from '../src/time/clock.js';

interface TaskRun {
  task: string;
  start: string;
  end: string;
  outcome: string;
}

function taskRuns(stderr: string): TaskRun[] {
  return stderr
    .split('\n')
    .filter((l) => l.includes('"msg":"task run"'))
    .map((l) => JSON.parse(l) as TaskRun);
}

test('with two lanes a slow task does not delay the others; with one, it does (cron.php order)', { timeout: 120_000 }, async (t) => {
  const db = await createTestDb(t);
  const pwd = 'Lanes.Pa55-word';
  await createAdminUser(db, { login: 'admin', password: pwd, admin: true });
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${pwd}\n`);
  const run = async (lanes: number): Promise<TaskRun[]> => {
    await db.execute(`DELETE FROM ${db.table('priv_backgroundtask')}`);
    const root = makeItopRoot(db, { cron_sleep: 1, 'itop_cron.max_parallel': lanes });
    const r = await runCli([`--param_file=${params}`, `--itop_root=${root}`, '--verbose=1'], {
      env: cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '9', ITOP_CRON_LOG_LEVEL: 'debug', ITOP_CRON_EXTENSIONS: faultModule('slow.mjs'), FAULT_SLOW_SECONDS: '6' }),
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /ERROR/);
    return taskRuns(r.stderr);
  };
  const during = (runs: TaskRun[]): TaskRun[] => {
    const slow = runs.find((x) => x.task === 'FaultSlow');
    assert.ok(slow !== undefined && slow.outcome === 'success', JSON.stringify(runs));
    return runs.filter((x) => x.task === 'InlineImageGC' && x.start > slow.start && x.start < slow.end);
  };

  const oneLane = await run(1);
  assert.equal(during(oneLane).length, 0, 'one lane: nothing starts while the slow task runs');

  const twoLanes = await run(2);
  const meanwhile = during(twoLanes);
  t.diagnostic(`InlineImageGC ran ${meanwhile.length} times during the 6 s task`);
  assert.ok(meanwhile.length >= 3, `two lanes: InlineImageGC kept running (${meanwhile.length} times)`);
  const rows = await db.query<{ class_name: string; running: number }>(`SELECT class_name, running FROM ${db.table('priv_backgroundtask')}`);
  assert.ok(rows.every((r) => Number(r.running) === 0), 'every task finished before the run ended');
});

test('max_parallel=3 with a 30 s task: the 1-second and 2-second tasks keep their schedule (lateness p99 ≤ cron_sleep + 100 ms)', { timeout: 120_000 }, async (t) => {
  const db = await createTestDb(t);
  const pwd = 'Lanes.Pa55-word';
  await createAdminUser(db, { login: 'admin', password: pwd, admin: true });
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${pwd}\n`);
  const root = makeItopRoot(db, { cron_sleep: 1, 'itop_cron.max_parallel': 3 });
  const r = await runCli([`--param_file=${params}`, `--itop_root=${root}`], {
    env: cliEnv(db, {
      ITOP_CRON_MAX_EXECUTION_TIME: '36',
      ITOP_CRON_LOG_LEVEL: 'debug',
      ITOP_CRON_EXTENSIONS: `${faultModule('slow.mjs')},${faultModule('ticks.mjs')}`,
      FAULT_SLOW_SECONDS: '30',
    }),
    timeoutMs: 90_000,
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const clock = createClock('Europe/Paris');
  const lines = r.stderr.split('\n').filter((l) => l.includes('"msg":"task run"')).map((l) => JSON.parse(l) as TaskRun & { time: number; duration: number; planned: string });
  const slow = lines.find((x) => x.task === 'FaultSlow');
  assert.ok(slow !== undefined && slow.outcome === 'success' && slow.duration >= 30, 'the 30 s task ran to its end');
  const slowStart = slow.time - slow.duration * 1000;
  // The runs planned while the slow task ran: their start (log time − duration) against their planned time.
  const lateness = lines
    .filter((x) => (x.task === 'ClusterTick1' || x.task === 'ClusterTick2') && clock.parse(x.planned) > slowStart)
    .map((x) => x.time - x.duration * 1000 - clock.parse(x.planned))
    .sort((a, b) => a - b);
  assert.ok(lateness.length >= 40, `the quick tasks ran during the slow one (${lateness.length} runs)`);
  const p99 = lateness[Math.min(lateness.length - 1, Math.ceil(lateness.length * 0.99) - 1)]!;
  t.diagnostic(`${lateness.length} runs of the 1 s and 2 s tasks during the 30 s task: lateness p50 ${lateness[Math.floor(lateness.length / 2)]} ms, p99 ${p99} ms, max ${lateness.at(-1)} ms`);
  assert.ok(p99 <= 1000 + 100, `lateness p99 ${p99} ms ≤ cron_sleep + 100 ms`);
});
