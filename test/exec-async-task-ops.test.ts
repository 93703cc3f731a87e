/**
 * ExecAsyncTask beyond cron.php: recovery of rows left `running`, classes it does not run, newsroom
 * notifications, deadline and abort, throughput over one SMTP connection, and the built CLI end to end.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test, type TestContext } from 'node:test';
import type { PhpArray } from '../src/config/types.js';
import { encodeV2 } from '../src/mail/v2Message.js';
import { createExecAsyncTask } from '../src/tasks/ExecAsyncTask.js';
import { createClock } from '../src/time/clock.js';
import { configFor, memoryLog, openTaskDb, taskContext } from './helpers/asyncTaskCtx.js';
import { makeItopRoot, runCli, writeParamFile } from './helpers/cli.js';
import { startSmtpSink, type SmtpSink } from './helpers/smtpSink.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';

const TZ = 'Europe/Paris';
const T0 = Date.parse('2026-11-24T00:19:00+01:00');

async function sink(t: TestContext): Promise<SmtpSink> {
  const s = await startSmtpSink();
  t.after(() => s.close());
  return s;
}

function setup(t: TestContext, tdb: TestDb, s: SmtpSink, extra: PhpArray = {}, start = T0) {
  const config = configFor(tdb, {
    email_transport: 'SMTP', 'email_transport_smtp.host': s.host, 'email_transport_smtp.port': s.port, ...extra,
  });
  const db = openTaskDb(t, config);
  const time = { now: start };
  const clock = createClock(TZ, () => time.now);
  const { log, lines } = memoryLog();
  return { db, clock, time, lines, config, ctx: (o: { deadline?: number; signal?: AbortSignal } = {}) => taskContext({ db, config, clock, log, ...o }) };
}

const message = (subject: string): string =>
  encodeV2({ from: { address: 'itop@example.com', label: 'iTop' }, to: 'u@example.com', subject, body: { body: `<p>${subject}</p>`, mimeType: 'text/html' } });

/** Root + subclass rows; `status`, `started`, `last_attempt`, `remaining_retries` as given. */
async function insertMail(db: TestDb, subject: string, o: { status?: string; started?: string | null; lastAttempt?: string; remaining?: number; realclass?: string } = {}): Promise<number> {
  const r = await db.execute(
    `INSERT INTO ${db.table('priv_async_task')} (status, created, started, event_id, remaining_retries, last_error, last_attempt, realclass) VALUES (?, '2026-11-24 00:00:00', ?, 0, ?, '', ?, ?)`,
    [o.status ?? 'planned', o.started ?? null, o.remaining ?? 0, o.lastAttempt ?? null, o.realclass ?? 'AsyncSendEmail'],
  );
  if ((o.realclass ?? 'AsyncSendEmail') === 'AsyncSendEmail') {
    await db.execute(`INSERT INTO ${db.table('priv_async_send_email')} (id, version, \`to\`, subject, message) VALUES (?, 2, 'u@example.com', ?, ?)`, [r.insertId, subject, message(subject)]);
  }
  return r.insertId;
}

async function row(db: TestDb, id: number) {
  const rows = await db.query<{ status: string; started: string | null; planned: string | null; remaining_retries: number; last_error: string }>(
    `SELECT status, started, planned, remaining_retries, last_error FROM ${db.table('priv_async_task')} WHERE id = ?`, [id],
  );
  return rows[0];
}

test('rows left running are recovered after itop_cron.async_running_timeout as a failed attempt, within the retry policy', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t);
  const { ctx, time, lines } = setup(t, tdb, s, { async_task_retries: { AsyncSendEmail: { max_retries: 1, retry_delay: 0 } } });
  const stuck = await insertMail(tdb, 'stuck', { status: 'running', started: '2026-11-24 00:07:10' });
  const noStart = await insertMail(tdb, 'no start', { status: 'running', started: null });
  const recent = await insertMail(tdb, 'recent', { status: 'running', started: '2026-11-24 00:17:20' });
  const spent = await insertMail(tdb, 'spent', { status: 'running', started: '2026-11-24 00:05:00', lastAttempt: '2026-11-24 00:04:00', remaining: 0 });
  const task = createExecAsyncTask();

  // Requeued for now + 0 s: not due again within this run (cron.php's `planned < now` with now fixed at the start).
  assert.equal(await task.process(ctx()), 'processed 0 tasks');
  assert.deepEqual(await row(tdb, stuck), {
    status: 'planned', started: null, planned: '2026-11-24 00:19:00', remaining_retries: 0,
    last_error: 'Interrupted while running (started 2026-11-24 00:07:10); requeued',
  });
  assert.equal((await row(tdb, noStart))?.status, 'planned');
  assert.equal((await row(tdb, recent))?.status, 'running', 'younger than the timeout: left alone');
  const gaveUp = await row(tdb, spent);
  assert.deepEqual([gaveUp?.status, gaveUp?.planned], ['error', null], 'no retry left: error, never resent');
  assert.equal(lines().filter((l) => /Interrupted while running/.test(String(l['msg']))).length >= 3, true);
  assert.equal(s.messages.length, 0);

  time.now += 1000;
  assert.equal(await task.process(ctx()), 'processed 2 tasks');
  assert.deepEqual(s.messages.map((m) => m.parsed.subject).sort(), ['no start', 'stuck']);

  // A shorter timeout catches the younger row too.
  const short = setup(t, tdb, s, { 'itop_cron.async_running_timeout': 60 }, T0 + 1000);
  assert.equal(await createExecAsyncTask().process(short.ctx()), 'processed 0 tasks');
  assert.equal((await row(tdb, recent))?.status, 'error', 'default policy: one failure is final');
});

test('tasks of an unknown class are left alone and reported once per run', async (t) => {
  const tdb = await createTestDb(t, { prefix: 'x_' });
  const s = await sink(t);
  const { ctx, lines } = setup(t, tdb, s);
  const other = await insertMail(tdb, '', { realclass: 'AsyncSendWebhook' });
  await insertMail(tdb, 'mail');
  const task = createExecAsyncTask();
  assert.equal(await task.process(ctx()), 'processed 1 tasks');
  assert.equal(await task.process(ctx()), 'processed 0 tasks');
  assert.deepEqual(await row(tdb, other), { status: 'planned', started: null, planned: null, remaining_retries: 0, last_error: '' });
  const reports = () => lines().filter((l) => String(l['msg']).includes("class 'AsyncSendWebhook' left alone"));
  assert.equal(reports().length, 1);
  await createExecAsyncTask().process(ctx());
  assert.equal(reports().length, 2, 'a new run reports it again');
});

test('AsyncSendNewsroom: one unread EventNotificationNewsroom per recipient, task deleted; a bad list is a failure', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t);
  const { ctx } = setup(t, tdb, s);
  const icon = Buffer.from('89504e47', 'hex');
  await tdb.execute("INSERT INTO priv_action (id, name, status, realclass) VALUES (7, 'Newsroom', 'enabled', 'ActionNewsroom')");
  await tdb.execute("INSERT INTO priv_action_newsroom (id, title, message, icon_data, icon_mimetype, icon_filename, priority) VALUES (7, 't', 'm', ?, 'image/png', 'bell.png', '2')", [icon]);
  const add = async (recipients: string): Promise<number> => {
    const id = await insertMail(tdb, '', { realclass: 'AsyncSendNewsroom' });
    await tdb.execute(
      'INSERT INTO priv_async_send_newsroom (id, recipients, action_id, trigger_id, title, message, object_id, object_class, url, date) ' +
        "VALUES (?, ?, 7, 4, 'Ticket R-000004 is late', '<p>Late</p>', 4, 'UserRequest', 'http://itop/UI.php?id=4', '2026-11-24 00:15:00')",
      [id, recipients],
    );
    return id;
  };
  const ok = await add('[3, "5"]');
  const bad = await add('{"not": "a list"}');
  assert.equal(await ctx().db.hasTable('priv_async_send_newsroom'), true);
  assert.equal(await createExecAsyncTask().process(ctx()), 'processed 2 tasks');
  assert.equal(await row(tdb, ok), undefined);
  const events = await tdb.query<Record<string, unknown>>(
    'SELECT e.message, e.date, e.realclass, n.trigger_id, n.action_id, n.object_id, n.object_class, n.realclass AS nclass, ' +
      'r.title, r.priority, r.url, r.`read`, r.read_date, r.contact_id, r.icon_data, r.icon_filename ' +
      'FROM priv_event e JOIN priv_event_notification n ON n.id = e.id JOIN priv_event_newsroom r ON r.id = e.id ORDER BY r.contact_id',
  );
  assert.equal(events.length, 2);
  assert.deepEqual(events.map((e) => e['contact_id']), [3, 5]);
  assert.deepEqual({ ...events[0], contact_id: undefined }, {
    message: '<p>Late</p>', date: '2026-11-24 00:15:00', realclass: 'EventNotificationNewsroom', trigger_id: 4, action_id: 7,
    object_id: 4, object_class: 'UserRequest', nclass: 'EventNotificationNewsroom', title: 'Ticket R-000004 is late', priority: '2',
    url: 'http://itop/UI.php?id=4', read: 'no', read_date: null, contact_id: undefined, icon_data: icon, icon_filename: 'bell.png',
  });
  const failed = await row(tdb, bad);
  assert.equal(failed?.status, 'error');
  assert.match(failed.last_error, /^Invalid recipients list \(not an array\)/);
  assert.equal(s.messages.length, 0);
});

test('a refused SMTP login: the mail stays queued untouched, sending pauses, and the password is nowhere', async (t) => {
  const tdb = await createTestDb(t);
  const s = await startSmtpSink({ auth: { user: 'itop', pass: 'right' } });
  t.after(() => s.close());
  const secret = 'Wr0ng.Smtp-Pa55';
  const { ctx, lines } = setup(t, tdb, s, { 'email_transport_smtp.username': 'itop', 'email_transport_smtp.password': secret });
  const first = await insertMail(tdb, 'first');
  const second = await insertMail(tdb, 'second');
  assert.equal(await createExecAsyncTask().process(ctx()), 'processed 0 tasks');
  const [r] = await tdb.query<{ status: string; remaining_retries: number; last_attempt: string | null; last_error: string }>(
    'SELECT status, remaining_retries, last_attempt, last_error FROM priv_async_task WHERE id = ?', [first],
  );
  assert.deepEqual(r, { status: 'planned', remaining_retries: 0, last_attempt: null, last_error: '' }, 'a login refused is the server\'s failure');
  assert.equal((await row(tdb, second))?.status, 'planned', 'waits for the next try');
  const [state] = await tdb.query<{ value: string }>('SELECT value FROM itop_cron_state');
  assert.match(state?.value ?? '', /535/);
  const everything = JSON.stringify(lines()) + JSON.stringify(await tdb.query('SELECT * FROM priv_async_task')) + JSON.stringify(state);
  for (const form of [secret, Buffer.from(secret).toString('base64')]) assert.ok(!everything.includes(form), 'password leaked');
});

test('past the deadline or once aborted, nothing is taken', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t);
  const { ctx, clock } = setup(t, tdb, s);
  const id = await insertMail(tdb, 'wait');
  const task = createExecAsyncTask();
  assert.equal(await task.process(ctx({ deadline: clock.nowMs() })), 'processed 0 tasks');
  const aborted = new AbortController();
  aborted.abort();
  assert.equal(await task.process(ctx({ signal: aborted.signal })), 'processed 0 tasks');
  assert.equal((await row(tdb, id))?.status, 'planned');
  assert.equal(await task.process(ctx()), 'processed 1 tasks');
});

test('throughput: 1,000 queued mails in one process() call, over one pooled SMTP transport', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t);
  const N = 1000;
  const values = Array.from({ length: N }, (_v, i) => `(${i + 1}, 'planned', '2026-11-24 00:00:00', 'AsyncSendEmail')`).join(', ');
  await tdb.execute(`INSERT INTO priv_async_task (id, status, created, realclass) VALUES ${values}`);
  const subs = Array.from({ length: N }, (_v, i) => [i + 1, `mail ${i + 1}`, message(`mail ${i + 1}`)]);
  await tdb.execute("INSERT INTO priv_async_send_email (id, version, `to`, subject, message) VALUES " + subs.map(() => "(?, 2, 'u@example.com', ?, ?)").join(', '), subs.flat());
  const { ctx } = setup(t, tdb, s, {}, Date.now());
  const started = performance.now();
  assert.equal(await createExecAsyncTask().process({ ...ctx(), clock: createClock(TZ), deadline: Date.now() + 300_000 }), `processed ${N} tasks`);
  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(`${N} mails in ${seconds.toFixed(2)} s = ${Math.round(N / seconds)} mails/s`);
  assert.equal(s.messages.length, N);
  // One pooled transport for the run; nodemailer's pool opens a fresh connection every 100 messages.
  assert.ok(s.connections() <= Math.ceil(N / 100), `${s.connections()} SMTP connections`);
  assert.equal((await tdb.query('SELECT id FROM priv_async_task')).length, 0);
  assert.equal((await tdb.query('SELECT id FROM priv_async_send_email')).length, 0);
});

test('the built CLI sends the queue: ExecAsyncTask: processed N tasks', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t);
  const pwd = 'Cr0n.Pa55-word';
  await createAdminUser(tdb, { login: 'admin', password: pwd, admin: true });
  for (const subject of ['one', 'two', 'three']) await insertMail(tdb, subject);
  const root = makeItopRoot(tdb, { email_transport: 'SMTP', 'email_transport_smtp.host': s.host, 'email_transport_smtp.port': s.port });
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${pwd}\n`);
  // ExecAsyncTask is first due 1 s after the start and then every 2 s: a 3 s run could end just as its second
  // pass came due (seen on CI), so the run is long enough for two passes after the one that sends.
  const r = await runCli([`--param_file=${params}`, `--itop_root=${root}`, '--verbose=1'], {
    env: { ITOP_CRON_MAX_EXECUTION_TIME: '6', ITOP_CRON_LOG_LEVEL: 'warn' },
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\nExecAsyncTask: processed 3 tasks\n/);
  assert.match(r.stdout, /\nExecAsyncTask: processed 0 tasks\n/, 'later passes find nothing');
  assert.deepEqual(s.messages.map((m) => m.parsed.subject).sort(), ['one', 'three', 'two']);
  assert.equal((await tdb.query('SELECT id FROM priv_async_task')).length, 0);
});
