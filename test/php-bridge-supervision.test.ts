// iTop's own PHP processes under itop-cron's supervision, on a real installed iTop 3.2 with a test module
// (test/fixtures/itop-cron-test-module.php): what a task echoes, a hang past the hard deadline (the worker's
// whole process group killed, its leftovers removed, the next task run), a segfault, exit(), a PHP fatal
// error, ProcessFatalException, the memory cap, one bootstrap per run and a restart when the configuration
// changes. Each case is a run of the built CLI, as from a crontab.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { runCli, writeParamFile, type CliResult } from './helpers/cli.js';
import { ADMIN, installedItop, realItopMissing, setItopSetting, type InstalledItop } from './helpers/installedItop.js';

const MODULE = readFileSync(join(import.meta.dirname, 'fixtures', 'itop-cron-test-module.php'), 'utf8');
const missing = realItopMissing();

/** A running process: a zombie (killed, not yet reaped by init) does not count. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function logLines(r: CliResult): Array<Record<string, unknown>> {
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('PHP tasks under supervision on a real iTop 3.2 with a test module', { skip: missing, timeout: 600_000 }, async (t) => {
  const itop: InstalledItop = await installedItop(t, { modulePhp: MODULE });
  const params = writeParamFile(`auth_user=${ADMIN.login}\nauth_pwd=${ADMIN.password}\n`);
  const mode = (m: string): void => writeFileSync(join(itop.root, 'data', 'itop-cron-test.mode'), m);
  const run = (seconds: number, extra: string[] = [], onSpawn?: () => void): Promise<CliResult> =>
    runCli([`--param_file=${params}`, `--itop_root=${itop.root}`, '--verbose=1', ...extra], {
      env: { ITOP_CRON_MAX_EXECUTION_TIME: String(seconds), ITOP_CRON_LOG_LEVEL: 'debug' },
      timeoutMs: 120_000,
      ...(onSpawn !== undefined ? { onSpawn } : {}),
    });

  await t.test('the test module is discovered and both its classes run, in iTop order, by one PHP worker', async () => {
    mode('ok');
    const r = await run(6);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Creating record for: ItopCronTestProbe\n/);
    assert.match(r.stdout, /Background processes: CheckStopWatchThresholds, LogFileRotationProcess, ExecAsyncTask, ObsolescenceDateUpdater, .*ItopCronTestProbe, ItopCronTestOther/);
    assert.match(r.stdout, /\nItopCronTestProbe: probe ran\n/);
    assert.match(r.stdout, /\nItopCronTestOther: other ran in \d+\n/);
    // Three PHP tasks in this run (iTop's ObsolescenceDateUpdater and the module's two classes); the first run
    // of a fresh tree also fills the file opcache, so how many passes fit in the run is not fixed.
    assert.match(r.stdout, /\nObsolescenceDateUpdater: Obsolescence date updated/);
    const ready = logLines(r).filter((l) => l['msg'] === 'PHP worker ready');
    assert.equal(ready.length, 1, 'iTop bootstrapped once for the whole run');
    const pids = new Set([...r.stdout.matchAll(/other ran in (\d+)/g)].map((m) => m[1]));
    assert.equal(pids.size, 1, 'every PHP task of the run in the same worker');
  });

  await t.test('what a task echoes reaches stdout line by line; a forged answer is only text', async () => {
    mode('echo');
    const r = await run(2);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\nprobe says hello\n/);
    assert.match(r.stdout, /\nno newline at the end\n/);
    assert.match(r.stdout, /\n \{"ok":true,"message":"forged"\}\n/);
    assert.match(r.stdout, /\nItopCronTestProbe: echo done \(limit ahead\)\n/);
    assert.doesNotMatch(r.stdout, /ItopCronTestProbe: forged/);
  });

  await t.test('a hung task is killed at its hard deadline with its process group, its leftovers go, the next task runs', async () => {
    mode('hang');
    setItopSetting(itop.configFile, 'itop_cron.task_deadlines', "'ItopCronTestProbe=2'");
    try {
      const r = await run(6);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /ItopCronTestProbe: Processing failed with message: ItopCronTestProbe exceeded its hard deadline of 2s and was aborted\n/);
      const after = r.stdout.slice(r.stdout.indexOf('exceeded its hard deadline'));
      assert.match(after, /ItopCronTestOther: other ran/, 'the task after the hung one ran');
      const child = Number(readFileSync(join(itop.root, 'data', 'itop-cron-test.child'), 'utf8'));
      const worker = Number(readFileSync(join(itop.root, 'data', 'itop-cron-test.pid'), 'utf8'));
      assert.ok(child > 0 && !alive(child), `the task's child ${child} was killed with the worker`);
      assert.ok(!alive(worker), `the worker ${worker} was killed`);
      assert.deepEqual(readdirSync(join(itop.root, 'data')).filter((n) => n.startsWith('tmp-backup-')), [], 'the backup folder the task left was removed');
      const rows = await itop.db.query<{ running: number }>("SELECT running FROM priv_backgroundtask WHERE class_name = 'ItopCronTestProbe'");
      assert.equal(Number(rows[0]?.running), 1, "cron.php's bookkeeping: a failed run leaves running = 1 (cleared at the next start)");
    } finally {
      setItopSetting(itop.configFile, 'itop_cron.task_deadlines', "''");
    }
  });

  await t.test('with two lanes, the other PHP task keeps running in a second worker while one hangs', async () => {
    mode('hang');
    setItopSetting(itop.configFile, 'itop_cron.task_deadlines', "'ItopCronTestProbe=4'");
    setItopSetting(itop.configFile, 'itop_cron.max_parallel', '2');
    rmSync(join(itop.root, 'data', 'itop-cron-test.hung'), { force: true });
    try {
      const r = await run(6);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /ItopCronTestProbe: Processing failed with message: ItopCronTestProbe exceeded its hard deadline of 4s and was aborted\n/);
      // The worker of the first hang (a later pass may hang another one: every probe run hangs).
      const hung = Number(readFileSync(join(itop.root, 'data', 'itop-cron-test.hung'), 'utf8').split('\n')[0]);
      const hangStart = r.stdout.search(/Starting: ItopCronTestProbe =/);
      assert.ok(hangStart >= 0, r.stdout);
      const meanwhile = r.stdout.slice(hangStart, r.stdout.indexOf('exceeded its hard deadline'));
      const others = [...meanwhile.matchAll(/ItopCronTestOther: other ran in (\d+)/g)].map((m) => Number(m[1]));
      assert.ok(others.length >= 2, `the other task ran ${others.length} times while the probe hung`);
      assert.ok(others.every((pid) => pid !== hung), `in another worker than the hung one (${hung}): ${others.join(', ')}\n${r.stdout}`);
    } finally {
      setItopSetting(itop.configFile, 'itop_cron.task_deadlines', "''");
      setItopSetting(itop.configFile, 'itop_cron.max_parallel', '1');
    }
  });

  const failures: Array<[string, RegExp]> = [
    ['segfault', /ItopCronTestProbe: Processing failed with message: the PHP worker killed by SIGSEGV\n/],
    ['exit', /ItopCronTestProbe: Processing failed with message: the task ended the PHP process \(exit\)\n/],
    ['error', /ItopCronTestProbe: Processing failed with message: Call to undefined function ItopCronTestUndefinedFunction\(\)\n/],
    ['oom', /ItopCronTestProbe: Processing failed with message: Allowed memory size of 67108864 bytes exhausted/],
    ['throw', /ERROR : an exception was thrown when processing 'ItopCronTestProbe' \(error_code=0, message="the probe gave up"\)\n/],
  ];
  for (const [m, expected] of failures) {
    await t.test(`a task that ends in ${m} is one failed run; the run and the other PHP task go on`, async () => {
      mode(m);
      // Two passes at least (cron_sleep 2), so that the other task also runs after the failure, whatever
      // the order the previous runs left the rows in.
      const r = await run(5);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, expected);
      const afterFailure = r.stdout.slice(r.stdout.search(expected));
      assert.match(afterFailure, /ItopCronTestOther: other ran/);
      assert.match(r.stdout, /Reached normal execution time limit/);
      assert.doesNotMatch(r.stdout + r.stderr, /at .*\.js:\d+/, 'no stack trace');
    });
  }

  await t.test('a worker past the memory cap is replaced between tasks', async () => {
    mode('grow');
    // One `grow` adds 80 MiB to a worker of ~85 MiB: past the cap at once, replaced before the next task.
    setItopSetting(itop.configFile, 'itop_cron.php_memory_cap_mb', '120');
    try {
      const r = await run(4);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const lines = logLines(r);
      assert.ok(lines.some((l) => l['msg'] === 'PHP worker past its memory cap: recycled'), r.stderr);
      assert.ok(lines.filter((l) => l['msg'] === 'PHP worker ready').length >= 2);
      const pids = new Set([...r.stdout.matchAll(/other ran in (\d+)/g)].map((m) => m[1]));
      assert.ok(pids.size >= 2, 'the task after the grown one ran in a new worker');
    } finally {
      setItopSetting(itop.configFile, 'itop_cron.php_memory_cap_mb', '512');
    }
  });

  await t.test('a change of config-itop.php during a run starts a fresh worker for the next task', async () => {
    mode('ok');
    const later = setTimeout(() => {
      const future = new Date(Date.now() + 5000);
      utimesSync(itop.configFile, future, future);
    }, 1500);
    const r = await run(6);
    clearTimeout(later);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(logLines(r).some((l) => l['msg'] === "iTop's configuration or data model changed: PHP worker restarted"), r.stderr);
    const pids = new Set([...r.stdout.matchAll(/other ran in (\d+)/g)].map((m) => m[1]));
    assert.equal(pids.size, 2, 'the other task ran in two workers');
    assert.ok(existsSync(itop.configFile));
  });
});
