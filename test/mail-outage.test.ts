/**
 * A mail server outage must not cost any mail (issue 16, item 8): with the real SMTP server of the tests
 * stopped (connection refused) or dropping every connection mid-DATA, ExecAsyncTask passes over a
 * compressed 10-minute clock leave every mail planned with its attempts untouched, back off (2 s doubling
 * to 5 min), show the outage in the status and the metrics; once the server is back every mail goes once.
 * Then the same through the built CLI: short runs against a stopped server, `itop-cron status`, a run
 * after the server is back.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { statusLines } from '../src/cli/statusText.js';
import type { PhpArray } from '../src/config/types.js';
import { backoffSeconds, isServerFailure, OUTAGE_STATE } from '../src/mail/outage.js';
import { queueMail } from '../src/mail/queue.js';
import { MailSendError } from '../src/mail/transport.js';
import { createCronMetrics } from '../src/ops/metrics.js';
import { evaluateHealth, statusJson } from '../src/ops/statusData.js';
import { encodeV2 } from '../src/mail/v2Message.js';
import { createExecAsyncTask } from '../src/tasks/ExecAsyncTask.js';
import { createClock } from '../src/time/clock.js';
import { configFor, memoryLog, openTaskDb, taskContext } from './helpers/asyncTaskCtx.js';
import { cliEnv, makeItopRoot, runCli, writeParamFile } from './helpers/cli.js';
import { startSmtpSink, type SinkOptions, type SmtpSink } from './helpers/smtpSink.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';

const TZ = 'Europe/Paris';
/** 2026-11-24 00:18:50 in Paris. */
const T0 = Date.parse('2026-11-24T00:18:50+01:00');
const MAILS = 5;
const PWD = 'Mail.Outage-Pwd7';

async function sink(t: TestContext, opts: SinkOptions = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(opts);
  t.after(() => s.close());
  return s;
}

async function insertEvent(db: TestDb): Promise<number> {
  const r = await db.execute(
    `INSERT INTO ${db.table('priv_event')} (message, date, userinfo, realclass) VALUES ('Pending', '2026-11-24 00:09:59', 'admin', 'EventNotificationEmail')`,
  );
  return r.insertId;
}

interface Row {
  id: number;
  status: string;
  started: string | null;
  remaining_retries: number;
  last_error: string;
  last_attempt: string | null;
}

async function rows(db: TestDb): Promise<Row[]> {
  return db.query<Row>(`SELECT id, status, started, remaining_retries, last_error, last_attempt FROM ${db.table('priv_async_task')} ORDER BY id`);
}

/** Every queued mail exactly as it was queued: planned, never attempted. */
async function assertUntouched(db: TestDb, ids: readonly number[], when: string): Promise<void> {
  const now = await rows(db);
  assert.deepEqual(
    now.map((r) => [r.id, r.status, r.started, r.remaining_retries, r.last_error, r.last_attempt]),
    ids.map((id) => [id, 'planned', null, 0, '', null]),
    when,
  );
}

for (const [name, fault] of [
  ['stopped (connection refused)', 'stopped'],
  ['dropping every connection mid-DATA', 'drop'],
] as const) {
  test(`a 10-minute outage of the mail server, ${name}: 0 mails lost, all sent once when it is back`, { timeout: 120_000 }, async (t) => {
    const tdb = await createTestDb(t);
    // The port of a server that was there: stopped, it refuses; the working one comes back on it.
    const probe = await startSmtpSink();
    const port = probe.port;
    await probe.close();
    const dropping = fault === 'drop' ? await sink(t, { port, dropMidMessage: true }) : undefined;
    const settings: PhpArray = { email_transport: 'SMTP', 'email_transport_smtp.host': '127.0.0.1', 'email_transport_smtp.port': port };
    const config = configFor(tdb, settings);
    const db = openTaskDb(t, config);
    const time = { now: T0 };
    const clock = createClock(TZ, () => time.now);
    const { log, lines } = memoryLog();
    const ctx = () => taskContext({ db, config, clock, log });
    const task = createExecAsyncTask();
    const ids: number[] = [];
    const events: number[] = [];
    for (let i = 0; i < MAILS; i += 1) {
      events.push(await insertEvent(tdb));
      const body = { body: `mail ${i}`, mimeType: 'text/plain' };
      ids.push(await queueMail(ctx(), { to: `u${i}@example.com`, subject: `mail ${i}`, body }, events[events.length - 1]));
    }

    // 10 minutes of passes, one every cron_sleep (2 s) of the compressed clock.
    let tries = 0;
    const metrics = createCronMetrics(() => statusJson(db, config, clock), clock, pino({ level: 'silent' }));
    for (time.now = T0; time.now <= T0 + 600_000; time.now += 2000) {
      assert.equal(await task.process(ctx()), 'processed 0 tasks');
      tries = lines().filter((l) => String(l['msg']).startsWith('Mail server unreachable since')).length;
      if ((time.now - T0) % 60_000 === 0) await assertUntouched(tdb, ids, `after ${(time.now - T0) / 1000}s of outage`);
    }
    await assertUntouched(tdb, ids, 'after the outage');
    const lost = (await rows(tdb)).filter((r) => r.status === 'error').length;
    t.diagnostic(`mails lost during the outage: ${lost}; tries in 600 s: ${tries}`);
    assert.equal(lost, 0);
    // Tries at 0, 2, 6, 14, 30, 62, 126, 254 and 510 s (then every 300 s): 9 in 10 minutes, not 301.
    assert.equal(tries, 9);
    for (const e of events) {
      const [ev] = await tdb.query<{ message: string }>(`SELECT message FROM ${tdb.table('priv_event')} WHERE id = ?`, [e]);
      assert.equal(ev?.message, 'Pending', 'the event says nothing happened to the mail');
    }

    // Visible: the status line, the JSON, the metrics.
    const report = await statusJson(db, config, clock);
    assert.equal(report.mailOutage?.since, '2026-11-24 00:18:50');
    assert.equal(report.mailOutage?.failures, 9);
    const limits = { maxLatenessSeconds: 900, maxAgeSeconds: 3600 };
    const shown = statusLines(report, evaluateHealth(report, limits), limits);
    const line = shown.find((l) => l.startsWith('Mail server unreachable since'));
    assert.match(line ?? '', /^Mail server unreachable since 2026-11-24 00:18:50 \(9 failed tries, mails kept queued\), next try 2026-11-24 00:32:20: .+/);
    t.diagnostic(line ?? '');
    // (No task row exists in this database: "no task has ever run" is the other problem, left out here.)
    const mailProblems = (maxLatenessSeconds: number) =>
      evaluateHealth(report, { maxLatenessSeconds, maxAgeSeconds: 3600 }).problems.filter((p) => p.includes('mail server'));
    assert.deepEqual(mailProblems(900), [], 'a 10-minute outage is within the default lateness');
    assert.deepEqual(mailProblems(300), [
      `the mail server has been unreachable for ${(time.now - T0) / 1000}s (since 2026-11-24 00:18:50, limit 300s)`,
    ]);
    const text = await metrics.text();
    assert.match(text, /\nitop_cron_mail_server_reachable 0\n/);
    assert.ok(text.includes(`\nitop_cron_mail_outage_seconds ${(time.now - T0) / 1000}\n`), text);

    // The server is back: after the pause, every mail goes, exactly once.
    assert.equal(dropping?.messages.length ?? 0, 0);
    await dropping?.close(); // replaced by a working one on the same port
    const server = await sink(t, { port });
    const before = time.now;
    for (; time.now <= before + 300_000 && (await rows(tdb)).length > 0; time.now += 2000) await task.process(ctx());
    assert.equal((await rows(tdb)).length, 0, 'all sent and deleted');
    assert.deepEqual(server.messages.map((m) => m.parsed.subject).sort(), ids.map((_id, i) => `mail ${i}`));
    for (const e of events) {
      const [ev] = await tdb.query<{ message: string }>(`SELECT message FROM ${tdb.table('priv_event')} WHERE id = ?`, [e]);
      assert.equal(ev?.message, 'Sent');
    }
    assert.equal((await statusJson(db, config, clock)).mailOutage, null);
    assert.match(await metrics.text(), /\nitop_cron_mail_server_reachable 1\n/);
    assert.ok(lines().some((l) => /^Mail server reachable again after \d+s: sending resumed$/.test(String(l['msg']))));
  });
}

test('isServerFailure: no connection, a lost connection, TLS, login and 421 are the server\'s; replies about the message are not', () => {
  for (const code of ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EAUTH']) assert.equal(isServerFailure(new MailSendError('x', code)), true, code);
  assert.equal(isServerFailure(new MailSendError('421 closing', 'EENVELOPE', 421)), true);
  assert.equal(isServerFailure(new MailSendError('550 no such user', 'EENVELOPE', 550)), false);
  assert.equal(isServerFailure(new MailSendError('554 rejected', 'EMESSAGE', 554)), false);
  assert.equal(isServerFailure(new MailSendError('451 later', 'EENVELOPE', 451)), false);
  assert.equal(isServerFailure(new MailSendError('sendmail not available')), false);
  assert.equal(isServerFailure(new Error('Invalid address')), false);
  assert.deepEqual([1, 2, 3, 8, 9, 10, 1000].map(backoffSeconds), [2, 4, 8, 256, 300, 300, 300]);
});

/** A queued e-mail as iTop writes it (priv_async_task + priv_async_send_email, format V2). */
async function queueRaw(db: TestDb, subject: string): Promise<number> {
  const root = await db.execute(
    `INSERT INTO ${db.table('priv_async_task')} (status, created, started, planned, event_id, remaining_retries, last_error_code, last_error, last_attempt, realclass) ` +
      "VALUES ('planned', '2026-01-01 00:00:00', NULL, NULL, 0, 0, 0, '', NULL, 'AsyncSendEmail')",
  );
  const message = encodeV2({ from: { address: 'itop@example.com', label: 'iTop' }, to: 'user@example.com', subject, body: { body: 'x', mimeType: 'text/plain' } });
  await db.execute(`INSERT INTO ${db.table('priv_async_send_email')} (id, version, \`to\`, subject, message) VALUES (?, 2, 'user@example.com', ?, ?)`, [
    root.insertId, subject, message,
  ]);
  return root.insertId;
}

test('the built CLI: short runs against a stopped mail server keep every mail; status shows the outage; the next run sends them once', { timeout: 120_000 }, async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const probe = await startSmtpSink();
  const port = probe.port;
  await probe.close();
  const root = (seconds: number): string =>
    makeItopRoot(db, { cron_max_execution_time: seconds, cron_sleep: 2, email_transport: 'SMTP', 'email_transport_smtp.host': '127.0.0.1', 'email_transport_smtp.port': port });
  const ids = [await queueRaw(db, 'one'), await queueRaw(db, 'two'), await queueRaw(db, 'three')];
  const args = (r: string): string[] => [`--param_file=${params}`, `--itop_root=${r}`, '--verbose=1'];

  for (const run of [1, 2]) {
    // Each run must try the server at least once: past the backoff the previous run stored (how many tries
    // fitted in it, hence how long the pause is, depends on the machine's speed).
    const stored = await db.query<{ value: string }>(`SELECT value FROM ${db.table('itop_cron_state')} WHERE name = ?`, [OUTAGE_STATE]).catch(() => []);
    const nextTry = stored[0] === undefined ? 0 : (JSON.parse(stored[0].value) as { nextTry: number }).nextTry;
    if (nextTry > Date.now()) await sleep(nextTry - Date.now() + 100);
    const r = await runCli(args(root(4)), { env: cliEnv(db) });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\nExecAsyncTask: processed 0 tasks\n/);
    assert.match(r.stderr, /Mail server unreachable since .*ECONNREFUSED/);
    await assertUntouched(db, ids, `after short run ${run} against a stopped server`);
  }
  const status = await runCli(['status', `--param_file=${params}`, `--itop_root=${root(4)}`], { env: cliEnv(db) });
  assert.match(status.stdout, /\nMail server unreachable since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+ failed tries, mails kept queued\), next try \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: .*ECONNREFUSED/);
  const json = await runCli(['status', '--json', `--param_file=${params}`, `--itop_root=${root(4)}`], { env: cliEnv(db) });
  assert.ok((JSON.parse(json.stdout) as { mailOutage: { failures: number } | null }).mailOutage!.failures >= 2);

  const good = await sink(t, { port });
  const r = await runCli(args(root(16)), { env: cliEnv(db) });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /Mail server reachable again after \d+s: sending resumed/);
  assert.deepEqual(good.messages.map((m) => m.parsed.subject).sort(), ['one', 'three', 'two'], 'each sent exactly once');
  assert.deepEqual(await rows(db), []);
  const after = await runCli(['status', `--param_file=${params}`, `--itop_root=${root(4)}`], { env: cliEnv(db) });
  assert.doesNotMatch(after.stdout, /Mail server unreachable/);
});
