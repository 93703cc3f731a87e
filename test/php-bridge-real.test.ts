// (Runs are at least 3 s: the time limit counts whole seconds from the start, as cron.php's time() does.)
// itop-cron beside the real cron.php, on a real installed iTop 3.2 (shared/reference/itop-3.2-installed):
// the same first-run output (iTop's own ObsolescenceDateUpdater run through the PHP bridge, the native
// tasks in between), the same --status_only table, one named lock between both, and a task that nothing
// can run when PHP is missing is logged and makes `status` unhealthy.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { runCli, writeParamFile, type CliResult } from './helpers/cli.js';
import { ADMIN, installedItop, realItopMissing, setItopSetting } from './helpers/installedItop.js';
import { waitFor } from './helpers/fault.js';
import { lockName } from '../src/db/lock.js';

const missing = realItopMissing();

/** `php webservices/cron.php <args>` in the tree, as a crontab runs it. */
function cronPhp(root: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('php', [join(root, 'webservices', 'cron.php'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Dates, Unix times and durations vary from run to run; the first pass (up to its `Sleeping...`) does not otherwise. */
function firstPass(out: string): string {
  const normal = out
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, 'D')
    .replace(/(Starting|Exiting): \d+/g, '$1: T');
  const end = normal.indexOf('Sleeping...');
  return end < 0 ? normal : normal.slice(0, end);
}

test('itop-cron and the real cron.php on one real iTop 3.2', { skip: missing, timeout: 600_000 }, async (t) => {
  const itop = await installedItop(t, { cronMax: 4 });
  const creds = [`--auth_user=${ADMIN.login}`, `--auth_pwd=${ADMIN.password}`];
  const params = writeParamFile(`auth_user=${ADMIN.login}\nauth_pwd=${ADMIN.password}\n`);
  const ours = (args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> =>
    runCli([...args, `--param_file=${params}`, `--itop_root=${itop.root}`], { env: { ITOP_CRON_LOG_LEVEL: 'info', ...env }, timeoutMs: 120_000 });

  await t.test("on two copies of one database, a first verbose run prints what cron.php's prints and leaves the same rows", async (t2) => {
    // Copy B: the same tree and database, for itop-cron while cron.php runs on copy A (itop).
    const copy = await installedItop(t2, { cronMax: 4 });
    const paramsB = writeParamFile(`auth_user=${ADMIN.login}\nauth_pwd=${ADMIN.password}\n`);
    const [php, r] = await Promise.all([
      cronPhp(itop.root, [...creds, '--verbose=1']),
      runCli(['--verbose=1', `--param_file=${paramsB}`, `--itop_root=${copy.root}`], { env: { ITOP_CRON_LOG_LEVEL: 'info' }, timeoutMs: 120_000 }),
    ]);
    assert.equal(php.code, 0, php.stdout + php.stderr);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(firstPass(r.stdout), firstPass(php.stdout));
    assert.match(r.stdout, /\nObsolescenceDateUpdater: Obsolescence date updated \(classes: \d+ ; set: \d+ ; reset: \d+\)\n/);
    // Class, status, dates without their times, and counts; in the order cron.php created them.
    const rows = (db: typeof itop.db): Promise<unknown[]> =>
      db.query(
        'SELECT class_name, status, DATE(first_run_date) AS first_run, DATE(latest_run_date) AS latest_run, DATE(next_run_date) AS next_run, ' +
          'total_exec_count, running FROM priv_backgroundtask ORDER BY id',
      );
    assert.deepEqual(await rows(copy.db), await rows(itop.db));
  });

  await t.test("--status_only prints cron.php's table, byte for byte", async () => {
    const php = await cronPhp(itop.root, [...creds, '--status_only=1']);
    const r = await ours(['--status_only=1']);
    assert.equal(r.code, php.code);
    assert.equal(r.stdout, php.stdout);
  });

  await t.test('one named lock: cron.php started during an itop-cron run says Already running..., and the other way round', async () => {
    // The name both compute from the database (iTop's formula): its holder is whoever runs.
    const lock = lockName('cron', itop.db.name, '');
    const held = async (): Promise<boolean> =>
      (await itop.db.query<{ h: number | null }>('SELECT IS_USED_LOCK(?) AS h', [lock]))[0]?.h !== null;
    const running = ours(['--verbose=1'], { ITOP_CRON_MAX_EXECUTION_TIME: '6' });
    await waitFor('itop-cron holds the lock', held);
    const php = await cronPhp(itop.root, creds);
    assert.match(php.stdout, /Already running\.\.\./);
    assert.equal((await running).code, 0);
    await waitFor('the lock is free again', async () => !(await held()));

    const phpRun = cronPhp(itop.root, creds);
    await waitFor('cron.php holds the lock', held);
    const r = await ours([]);
    assert.match(r.stdout, /\nAlready running\.\.\.\n/);
    assert.equal(r.code, 0);
    assert.equal((await phpRun).code, 0);
  });

  await t.test("with no PHP, iTop's own task has no runner: logged at every run, and status is unhealthy", async () => {
    const r = await ours(['--verbose=1'], { ITOP_CRON_MAX_EXECUTION_TIME: '3', ITOP_CRON_PHP_BIN: '/nonexistent/php' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /not run by itop-cron: ObsolescenceDateUpdater \(PHP was not found \('\/nonexistent\/php'/);
    assert.match(r.stdout, /\nWARNING: no runner for ObsolescenceDateUpdater: PHP was not found/);
    assert.match(r.stdout, /\nInlineImageGC: Cleaned 0 old temporary InlineImage/, 'the native tasks still run');
    const s = await ours(['status', '--php_bin=/nonexistent/php']);
    assert.equal(s.code, 1, s.stdout + s.stderr);
    assert.match(s.stdout, /\nNo runner: ObsolescenceDateUpdater\n/);
    assert.match(s.stdout, /ObsolescenceDateUpdater has no runner: PHP was not found/);
    const ok = await ours(['status', '--json']);
    const report = JSON.parse(ok.stdout) as { tasks: Array<{ className: string; runner: string }> };
    const runner = Object.fromEntries(report.tasks.map((x) => [x.className, x.runner]));
    assert.equal(runner['ObsolescenceDateUpdater'], 'php');
    assert.equal(runner['CheckStopWatchThresholds'], 'native');
  });

  await t.test('itop_cron.php_tasks runs a class in PHP although itop-cron has it; itop_cron.php_bridge = false turns PHP off', async () => {
    setItopSetting(itop.configFile, 'itop_cron.php_tasks', "'InlineImageGC'");
    try {
      const r = await ours(['--verbose=1'], { ITOP_CRON_MAX_EXECUTION_TIME: '3', ITOP_CRON_LOG_LEVEL: 'debug' });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /\nInlineImageGC: Cleaned 0 old temporary InlineImage\(s\) and 0 old temporary Attachment\(s\)\.\n/);
      assert.match(r.stderr, /"task":"InlineImageGC".*"msg":"PHP task answered"/, "iTop's own InlineImageGC answered");
      const s = JSON.parse((await ours(['status', '--json'])).stdout) as { tasks: Array<{ className: string; runner: string }> };
      assert.equal(s.tasks.find((x) => x.className === 'InlineImageGC')?.runner, 'php');
    } finally {
      setItopSetting(itop.configFile, 'itop_cron.php_tasks', "''");
    }
    setItopSetting(itop.configFile, 'itop_cron.php_bridge', 'false');
    try {
      const r = await ours(['--verbose=1'], { ITOP_CRON_MAX_EXECUTION_TIME: '3' });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /\nWARNING: no runner for ObsolescenceDateUpdater: the PHP bridge is turned off/);
      const s = await ours(['status']);
      assert.equal(s.code, 1);
      assert.match(s.stdout, /ObsolescenceDateUpdater has no runner: the PHP bridge is turned off/);
    } finally {
      setItopSetting(itop.configFile, 'itop_cron.php_bridge', 'true');
    }
  });
});
