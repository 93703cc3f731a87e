/**
 * Alerts: dead man's switch pings against a real HTTP server (one that answers, one that returns 500,
 * one that hangs) and the failure mail through a real SMTP sink, driven by real task runs.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { insertTask, taskByClass } from '../src/db/backgroundTasks.js';
import { createRunOps, type RunOps } from '../src/ops/runOps.js';
import { pingUrl, sendPing } from '../src/ops/pings.js';
import { opsSettings } from '../src/ops/settings.js';
import { runTask } from '../src/scheduler/runTask.js';
import type { RunEnv } from '../src/scheduler/runEnv.js';
import type { BackgroundTask } from '../src/tasks/types.js';
import { cliEnv, runCli, writeParamFile } from './helpers/cli.js';
import { controllableTask, opsEnv, recordingLogger, testConfig, testPool } from './helpers/opsEnv.js';
import { startSmtpSink } from './helpers/smtpSink.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';

interface Hit {
  method: string;
  path: string;
  body: string;
}

/** A check server: /ok/... answers 200, /err/... 500, /hang/... never answers. */
async function startCheckServer(t: TestContext): Promise<{ base: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      hits.push({ method: req.method ?? '', path: req.url ?? '', body });
      if ((req.url ?? '').startsWith('/hang/')) hanging.push(res);
      else if ((req.url ?? '').startsWith('/err/')) res.writeHead(500).end('boom');
      else res.writeHead(200).end('OK');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

test('ping URLs and single pings: 2xx, 500, a hanging server, a refused connection', async (t) => {
  assert.equal(pingUrl('https://hc.example/ping/abc', 'start'), 'https://hc.example/ping/abc/start');
  assert.equal(pingUrl('https://hc.example/ping/abc/', 'success'), 'https://hc.example/ping/abc');
  assert.equal(pingUrl('https://hc.example/ping/abc?rid=1', 'fail'), 'https://hc.example/ping/abc/fail?rid=1');
  const { base, hits } = await startCheckServer(t);
  const { log, lines } = recordingLogger();
  assert.equal(await sendPing(`${base}/ok/x`, 'hello', 2000, log), true);
  assert.deepEqual(hits[0], { method: 'POST', path: '/ok/x', body: 'hello' });
  assert.equal(await sendPing(`${base}/err/x`, '', 2000, log), false);
  assert.ok(lines.some((l) => l['msg'] === 'ping refused (ignored)' && l['status'] === 500));
  assert.equal(await sendPing(`${base}/hang/x`, '', 300, log), false);
  assert.ok(lines.some((l) => l['msg'] === 'ping failed (ignored)' && l['err'] === 'no answer within 300 ms'));
  assert.equal(await sendPing('http://127.0.0.1:1/x', '', 2000, log), false);
  assert.ok(!JSON.stringify(lines).includes('/hang/x'), 'the check path (its secret) is not logged');
});

/** Runs `task` once through the scheduler's runTask, creating its row first if needed. */
async function runOnce(env: RunEnv, task: BackgroundTask): Promise<string> {
  let row = await taskByClass(env.db, task.className);
  if (row === undefined) {
    await insertTask(env.db, task.className, env.clock.nowLocal());
    row = await taskByClass(env.db, task.className);
  }
  assert.ok(row);
  return (await runTask(env, task, row, env.clock.nowMs() + 60_000)).outcome;
}

test('run and task pings follow the runs in order; failing and hanging checks never fail a run', async (t) => {
  const db = await createTestDb(t);
  const { base, hits } = await startCheckServer(t);
  const config = testConfig(db, {
    'itop_cron.ping_url': `${base}/ok/run`,
    'itop_cron.task_ping_urls': { TaskA: `${base}/ok/a`, TaskB: `${base}/err/b`, TaskC: `${base}/hang/c` },
    'itop_cron.ping_timeout': 1,
  });
  const pool = testPool(t, config);
  const { env: base0 } = opsEnv(config, pool);
  const ops: RunOps = createRunOps({ config, db: pool, clock: base0.clock, log: base0.log });
  const { env, lines } = opsEnv(config, pool, { observer: ops.observer });
  const a = { fail: false };
  await ops.observer.runStarted?.();
  assert.equal(await runOnce(env, controllableTask('TaskA', a)), 'success');
  a.fail = true;
  assert.equal(await runOnce(env, controllableTask('TaskA', a)), 'failure');
  assert.equal(await runOnce(env, controllableTask('TaskB', { fail: false })), 'success');
  assert.equal(await runOnce(env, controllableTask('TaskC', { fail: false })), 'success');
  await ops.observer.runFinished?.({ kind: 'time-limit' });
  await ops.close();

  const paths = (prefix: string): string[] => hits.filter((h) => h.path.startsWith(prefix)).map((h) => h.path);
  assert.deepEqual(paths('/ok/a'), ['/ok/a/start', '/ok/a', '/ok/a/start', '/ok/a/fail']);
  assert.equal(hits.find((h) => h.path === '/ok/a/fail')?.body, 'Processing failed with message: TaskA broke');
  assert.deepEqual(paths('/err/b'), ['/err/b/start', '/err/b']);
  assert.deepEqual(paths('/hang/c'), ['/hang/c/start', '/hang/c'], 'each hanging ping timed out, then the next was sent');
  assert.deepEqual(paths('/ok/run'), ['/ok/run/start', '/ok/run/fail'], 'a task failed during the run');
  assert.match(hits.find((h) => h.path === '/ok/run/fail')?.body ?? '', /^run ended: time-limit\nTaskA: failure: Processing failed/);
  assert.equal(Number((await taskByClass(pool, 'TaskC'))?.total_exec_count), 1);
  assert.ok(!lines.some((l) => l['msg'] === 'run observer failed (ignored)'));
});

test('settings: bad ping URLs, bad addresses and bad numbers are refused with the key named', async (t) => {
  const db = await createTestDb(t, { schema: false });
  assert.throws(() => opsSettings(testConfig(db, { 'itop_cron.ping_url': 'ftp://x/y' })), /'ping_url': not an http\(s\) URL/);
  assert.throws(() => opsSettings(testConfig(db), { ping_url: 'not a url' }), /'ping_url': not a URL/);
  assert.throws(() => opsSettings(testConfig(db, { 'itop_cron.alert_email': 'ops@, x' })), /Invalid address in 'itop_cron.alert_email'/);
  assert.throws(() => opsSettings(testConfig(db, { 'itop_cron.alert_after_failures': 0 })), /'itop_cron.alert_after_failures'/);
  assert.throws(() => opsSettings(testConfig(db, { 'itop_cron.task_ping_urls': 'http://x' })), /task_ping_urls/);
  const s = opsSettings(testConfig(db, { 'itop_cron.metrics_port': '9464', 'itop_cron.alert_email': 'a@example.org, "Ops" <b@example.org>' }), { ping_url: 'https://hc/x/' });
  assert.equal(s.metricsPort, 9464);
  assert.equal(s.metricsHost, '127.0.0.1');
  assert.equal(s.pingUrl, 'https://hc/x');
  assert.deepEqual(s.alertEmail, ['a@example.org', 'b@example.org']);
  assert.equal(s.alertAfterFailures, 3);
  assert.equal(s.historyMaxRows, 1000);
});

test('the failure mail: one per streak of N consecutive failures, through the configured SMTP server', async (t) => {
  const db = await createTestDb(t);
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const config = testConfig(db, {
    email_transport: 'SMTP',
    'email_transport_smtp.host': sink.host,
    'email_transport_smtp.port': sink.port,
    email_default_sender_address: 'itop@example.org',
    'itop_cron.alert_email': 'ops@example.org, oncall@example.org',
    'itop_cron.alert_after_failures': 2,
  });
  const pool = testPool(t, config);
  const { env: base0 } = opsEnv(config, pool);
  const ops = createRunOps({ config, db: pool, clock: base0.clock, log: base0.log });
  const { env } = opsEnv(config, pool, { observer: ops.observer });
  const state = { fail: true };
  const task = controllableTask('Flaky', state);
  await runOnce(env, task);
  await runOnce(env, task);
  await sink.waitForMessages(1);
  await runOnce(env, task);
  state.fail = false;
  await runOnce(env, task);
  state.fail = true;
  await runOnce(env, task);
  await runOnce(env, task);
  await ops.close();
  assert.equal(sink.messages.length, 2, 'the third failure in a row sends nothing; a new streak after a success does');
  const [mail] = sink.messages;
  assert.deepEqual(mail?.envelope, { from: 'itop@example.org', to: ['ops@example.org', 'oncall@example.org'] });
  assert.match(mail?.parsed.subject ?? '', /^\[itop-cron\] Flaky failed 2 times in a row \(t_[0-9a-f]+\)$/);
  const text = mail?.parsed.text ?? '';
  assert.match(text, /^The background task Flaky failed 2 times in a row\./);
  assert.equal(text.match(/ failure {2}\d+\.\d{3} s {2}Processing failed with message: Flaky broke/g)?.length, 2);
});

test('no alert address: failures send no mail and load no mail transport', async (t) => {
  const db = await createTestDb(t);
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const config = testConfig(db, { email_transport: 'SMTP', 'email_transport_smtp.host': sink.host, 'email_transport_smtp.port': sink.port });
  const pool = testPool(t, config);
  const { env: base0 } = opsEnv(config, pool);
  const ops = createRunOps({ config, db: pool, clock: base0.clock, log: base0.log });
  const { env } = opsEnv(config, pool, { observer: ops.observer });
  for (let i = 0; i < 4; i++) await runOnce(env, controllableTask('Broken', { fail: true }));
  await ops.close();
  assert.equal(sink.connections(), 0);
});

test('itop-cron --ping_url on a real run: /start then the result; a failing check leaves the run alone', async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: 'Alerts.Pa55-word', admin: true });
  const params = writeParamFile('auth_user=admin\nauth_pwd=Alerts.Pa55-word\n');
  const { base, hits } = await startCheckServer(t);
  const env = cliEnv(db, { ITOP_CRON_MAX_EXECUTION_TIME: '2', ITOP_CRON_SLEEP: '1' });
  const ok = await runCli([`--param_file=${params}`, `--ping_url=${base}/ok/run`], { env });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const run = hits.filter((h) => h.path.startsWith('/ok/run'));
  assert.equal(run.length, 2);
  assert.equal(run[0]?.path, '/ok/run/start');
  assert.match(run[1]?.path ?? '', /^\/ok\/run(\/fail)?$/);
  assert.match(run[1]?.body ?? '', /^run ended: time-limit/);

  const failing = await runCli([`--param_file=${params}`, `--ping_url=${base}/err/run`], { env });
  assert.equal(failing.code, 0);
  assert.match(failing.stdout, /^Starting: \d+ \(.*\)\nExiting: \d+ \(.*\)\n$/);
  assert.match(failing.stderr, /ping refused \(ignored\)/);
});
