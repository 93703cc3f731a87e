/**
 * The Prometheus endpoint: real HTTP scrapes of the library's server and of a real cron run started with
 * --metrics_port, against a real MariaDB.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { register } from 'prom-client';
import { lockName, NamedLock } from '../src/db/lock.js';
import { createCronMetrics, startMetricsServer } from '../src/ops/metrics.js';
import { createRunOps } from '../src/ops/runOps.js';
import { statusJson } from '../src/ops/statusData.js';
import type { TaskRunEvent } from '../src/scheduler/observer.js';
import { cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { pinnedClock, recordingLogger, testConfig, testPool } from './helpers/opsEnv.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';

const PWD = 'Metrics.Pa55-word';

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('the endpoint serves run counters, durations, lateness, queues, lock and last success', async (t) => {
  const db = await createTestDb(t);
  await db.execute(
    `INSERT INTO ${db.table('priv_backgroundtask')} (class_name, latest_run_date, next_run_date, total_exec_count, min_run_duration, status) ` +
      "VALUES ('InlineImageGC', '2025-03-10 11:39:00', '2025-03-10 11:40:00', 3, 0.1, 'active')",
  );
  await db.execute(`INSERT INTO ${db.table('priv_async_task')} (status) VALUES ('planned'), ('planned'), ('error')`);
  const config = testConfig(db);
  const pool = testPool(t, config);
  const clock = pinnedClock('2025-03-10 12:00:00');
  const { log } = recordingLogger();
  const metrics = createCronMetrics(() => statusJson(pool, config, clock, []), clock, log);
  const end = clock.parse('2025-03-10 11:59:00');
  const run = (outcome: TaskRunEvent['outcome'], endMs: number, d: number): TaskRunEvent => ({
    className: 'InlineImageGC', planned: null, startMs: endMs - d * 1000, endMs, durationSeconds: d, outcome, message: null, nextRunDate: null,
  });
  metrics.observe(run('success', end - 60_000, 0.02));
  metrics.observe(run('success', end, 0.3));
  metrics.observe(run('failure', end + 1000, 7));

  const server = await startMetricsServer(metrics, '127.0.0.1', 0, log);
  t.after(() => server.close());
  assert.equal(server.host, '127.0.0.1');
  const url = `http://127.0.0.1:${server.port}/metrics`;
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.equal(sample(text, 'itop_cron_task_runs_total{task="InlineImageGC",outcome="success"}'), 2);
  assert.equal(sample(text, 'itop_cron_task_runs_total{task="InlineImageGC",outcome="failure"}'), 1);
  assert.equal(sample(text, 'itop_cron_task_duration_seconds_count{task="InlineImageGC"}'), 3);
  assert.equal(sample(text, 'itop_cron_task_duration_seconds_bucket{le="0.05",task="InlineImageGC"}'), 1);
  assert.equal(sample(text, 'itop_cron_task_lateness_seconds{task="InlineImageGC"}'), 1200);
  assert.equal(sample(text, 'itop_cron_task_last_success_timestamp_seconds{task="InlineImageGC"}'), end / 1000);
  assert.equal(sample(text, 'itop_cron_task_run_count{task="InlineImageGC"}'), 3);
  assert.equal(sample(text, 'itop_cron_queue_depth{queue="async_planned"}'), 2);
  assert.equal(sample(text, 'itop_cron_queue_depth{queue="async_error"}'), 1);
  assert.equal(sample(text, 'itop_cron_queue_depth{queue="inline_image_expired"}'), 0);
  assert.equal(sample(text, 'itop_cron_lock_held'), 0);
  assert.equal(sample(text, 'itop_cron_last_run_age_seconds'), 1260);
  assert.equal(sample(text, 'itop_cron_status_up'), 1);
  assert.equal(register.getSingleMetric('itop_cron_task_runs_total'), undefined, 'our own registry, not the global one');

  const lock = await NamedLock.open(config.db, lockName('cron', db.name, ''));
  t.after(() => lock.close());
  await lock.acquire(0);
  assert.equal(sample(await (await fetch(url)).text(), 'itop_cron_lock_held'), 1);
  assert.equal((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404);

  // The database gone: the scrape still answers, with the status marked down.
  await pool.close();
  const down = await (await fetch(url)).text();
  assert.equal(sample(down, 'itop_cron_status_up'), 0);
  assert.equal(sample(down, 'itop_cron_task_runs_total{task="InlineImageGC",outcome="success"}'), 2);
});

test('a metrics port already in use does not stop the run', async (t) => {
  const db = await createTestDb(t);
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const config = testConfig(db, { 'itop_cron.metrics_port': port });
  const pool = testPool(t, config);
  const { log, lines } = recordingLogger();
  const ops = createRunOps({ config, db: pool, clock: pinnedClock('2025-03-10 12:00:00'), log });
  await ops.observer.runStarted?.();
  assert.equal(ops.metricsServer(), undefined);
  assert.ok(lines.some((l) => l['msg'] === 'metrics endpoint not started (the run goes on)' && /EADDRINUSE/.test(String(l['err']))));
  await ops.close();
});

test('itop-cron --metrics_port serves the metrics during a real cron run, and only then', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/metrics`;
  const env = cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '5', ITOP_CRON_SLEEP: '1' });
  const running = runCli([`--param_file=${params}`, `--metrics_port=${port}`], { env });
  let text = '';
  for (let i = 0; i < 100 && !text.includes('itop_cron_task_runs_total{task="InlineImageGC"'); i++) {
    await sleep(100);
    text = await fetch(url).then((r) => r.text(), () => '');
  }
  const done = await running;
  assert.equal(done.code, 0, done.stdout + done.stderr);
  assert.ok((sample(text, 'itop_cron_task_runs_total{task="InlineImageGC",outcome="success"}') ?? 0) >= 1, text);
  assert.equal(sample(text, 'itop_cron_lock_held'), 1, 'scraped while the run held the lock');
  assert.equal(sample(text, 'itop_cron_status_up'), 1);
  await assert.rejects(fetch(url), 'the endpoint is closed with the run');
  const bad = await runCli([`--param_file=${params}`, '--metrics_port=http'], { env });
  assert.equal(bad.code, 254);
  assert.match(bad.stdout, /Invalid value for 'metrics_port'/);
});
