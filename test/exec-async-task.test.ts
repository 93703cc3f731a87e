/**
 * ExecAsyncTask against a real MariaDB and a real SMTP server: iTop's real queued rows are
 * sent and deleted, failures follow iTop's retry policy, and the rows end as iTop leaves them.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { simpleParser } from 'mailparser';
import type { PhpArray } from '../src/config/types.js';
import { queueMail } from '../src/mail/queue.js';
import { decodeV2, encodeV2, type V2Message } from '../src/mail/v2Message.js';
import { planFailure, retryPolicy, trimToColumn } from '../src/tasks/asyncRetry.js';
import { createExecAsyncTask } from '../src/tasks/ExecAsyncTask.js';
import { createClock } from '../src/time/clock.js';
import { configFor, loadDumpRows, memoryLog, openTaskDb, taskContext } from './helpers/asyncTaskCtx.js';
import { NO_REFERENCE, referenceDir } from './helpers/reference.js';
import { startSmtpSink, type SinkOptions, type SmtpSink } from './helpers/smtpSink.js';
import { createTestDb, type TestDb } from './helpers/testDb.js';

const REF = referenceDir();
const TZ = 'Europe/Paris';
/** 2026-11-24 00:18:50 in Paris (UTC+1), the time of the spec's retry table. */
const T0 = Date.parse('2026-11-24T00:18:50+01:00');

async function sink(t: TestContext, opts: SinkOptions = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(opts);
  t.after(() => s.close());
  return s;
}

function smtpSettings(s: { host: string; port: number }, extra: PhpArray = {}): PhpArray {
  return { email_transport: 'SMTP', 'email_transport_smtp.host': s.host, 'email_transport_smtp.port': s.port, ...extra };
}

/** A task context on `tdb` whose clock reads `clock.now` (mutable). */
function setup(t: TestContext, tdb: TestDb, settings: PhpArray, start = T0) {
  const config = configFor(tdb, settings);
  const db = openTaskDb(t, config);
  const time = { now: start };
  const clock = createClock(TZ, () => time.now);
  const { log, lines } = memoryLog();
  const ctx = () => taskContext({ db, config, clock, log });
  return { db, config, clock, time, ctx, lines, task: createExecAsyncTask() };
}

interface RowSpec {
  status?: string;
  created?: string;
  started?: string | null;
  planned?: string | null;
  eventId?: number;
  remaining?: number;
  lastAttempt?: string | null;
  realclass?: string;
  version?: number | null;
  to?: string;
  subject?: string;
  message?: string;
  /** Skip the priv_async_send_email row (corrupted data). */
  noSubRow?: boolean;
}

async function insertTask(db: TestDb, r: RowSpec): Promise<number> {
  const root = await db.execute(
    `INSERT INTO ${db.table('priv_async_task')} (status, created, started, planned, event_id, remaining_retries, last_error_code, last_error, last_attempt, realclass) ` +
      "VALUES (?, ?, ?, ?, ?, ?, 0, '', ?, ?)",
    [r.status ?? 'planned', r.created ?? '2026-11-24 00:10:00', r.started ?? null, r.planned ?? null, r.eventId ?? 0,
      r.remaining ?? 0, r.lastAttempt ?? null, r.realclass ?? 'AsyncSendEmail'],
  );
  if (r.noSubRow !== true && (r.realclass ?? 'AsyncSendEmail') === 'AsyncSendEmail') {
    await db.execute(`INSERT INTO ${db.table('priv_async_send_email')} (id, version, \`to\`, subject, message) VALUES (?, ?, ?, ?, ?)`, [
      root.insertId, r.version === undefined ? 2 : r.version, r.to ?? 'user1@example.com', r.subject ?? 's', r.message ?? '',
    ]);
  }
  return root.insertId;
}

async function insertEvent(db: TestDb, message = 'Pending'): Promise<number> {
  const r = await db.execute(
    `INSERT INTO ${db.table('priv_event')} (message, date, userinfo, realclass) VALUES (?, '2026-11-24 00:09:59', 'admin', 'EventNotificationEmail')`,
    [message],
  );
  return r.insertId;
}

interface TaskState {
  status: string;
  started: string | null;
  planned: string | null;
  remaining_retries: number;
  last_error: string;
  last_error_code: number;
  last_attempt: string | null;
}

async function taskRow(db: TestDb, id: number): Promise<TaskState | undefined> {
  const rows = await db.query<TaskState>(
    `SELECT status, started, planned, remaining_retries, last_error, last_error_code, last_attempt FROM ${db.table('priv_async_task')} WHERE id = ?`,
    [id],
  );
  return rows[0];
}

async function subRowCount(db: TestDb, id: number): Promise<number> {
  const rows = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.table('priv_async_send_email')} WHERE id = ?`, [id]);
  return Number(rows[0]?.n);
}

async function eventMessage(db: TestDb, id: number): Promise<string | undefined> {
  const rows = await db.query<{ message: string }>(`SELECT message FROM ${db.table('priv_event')} WHERE id = ?`, [id]);
  return rows[0]?.message;
}

const simple = (to: string, subject: string): string =>
  encodeV2({ from: { address: 'itop@example.com', label: 'iTop' }, to, subject, body: { body: '<p>x</p>', mimeType: 'text/html' } });

test("iTop's real queued rows (async-email-C, table prefix) are sent and deleted; error rows are left alone", async (t) => {
  if (REF === undefined) return t.skip(NO_REFERENCE);
  const tdb = await createTestDb(t, { prefix: 'itop_' });
  assert.equal(await loadDumpRows(tdb, join(REF, 'outputs', 'async-email-C-queued.sql')), 6);
  const s = await sink(t);
  const { ctx, task } = setup(t, tdb, smtpSettings(s));
  assert.equal(await task.process(ctx()), 'processed 1 tasks');
  assert.equal(s.messages.length, 1);
  const m = s.messages[0]!;
  assert.deepEqual(m.envelope, { from: 'itop@example.com', to: ['user1@example.com'] });
  assert.deepEqual(m.parsed.from?.value, [{ address: 'itop@example.com', name: 'iTop' }]);
  assert.equal(m.parsed.subject, 'Async email C (transport LogFile)');
  assert.equal(String(m.parsed.html).trimEnd(), '<p>Hello from the async email queue</p>');
  assert.equal(await taskRow(tdb, 3), undefined);
  assert.equal(await subRowCount(tdb, 3), 0);
  for (const id of [1, 2]) {
    const r = await taskRow(tdb, id);
    assert.equal(r?.status, 'error');
    assert.equal(r?.last_error, 'Unable to send mail: Unknown error');
    assert.equal(await subRowCount(tdb, id), 1);
  }
  assert.equal(await task.process(ctx()), 'processed 0 tasks');
});

test('a real queued notification (run 2) is sent with its headers and its event becomes Sent', async (t) => {
  if (REF === undefined) return t.skip(NO_REFERENCE);
  const tdb = await createTestDb(t);
  const dir = join(REF, 'notifications');
  await loadDumpRows(tdb, join(dir, 'run2-async.queued-rows.sql'));
  await loadDumpRows(tdb, join(dir, 'run2-async.event-rows-pending.sql'));
  const s = await sink(t);
  const { ctx, task } = setup(t, tdb, smtpSettings(s));
  const queued = (await tdb.query<{ message: string }>('SELECT message FROM priv_async_send_email WHERE id = 4'))[0]!.message;
  const v2 = decodeV2(queued);
  assert.equal(await task.process(ctx()), 'processed 1 tasks');
  const p = s.messages[0]!.parsed;
  assert.deepEqual(p.from?.value, [{ address: 'itop@example.com', name: 'iTop Helpdesk' }]);
  assert.equal(p.subject, 'Ticket R-000004 reached 75% of TTO');
  assert.equal(p.messageId, `<${v2.messageId}>`);
  assert.equal(p.headers.get('references'), v2.headers?.['References']);
  assert.equal(p.inReplyTo, v2.headers?.['In-Reply-To']);
  assert.equal(p.cc, undefined);
  assert.equal(p.replyTo, undefined);
  assert.equal(String(p.html).replace(/\r\n/g, '\n').trimEnd(), v2.body?.body.trimEnd());
  // The event as iTop left it after its own send (run2-async-send.event-rows-after.sql): message 'Sent'.
  assert.equal(await eventMessage(tdb, 2), 'Sent');
  assert.equal((await tdb.query('SELECT id FROM priv_async_task')).length, 0);
});

test('every field of a queued message arrives: cc, reply-to, attachment, inline image as a cid part', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t);
  const { ctx, task, db, config, clock } = setup(t, tdb, smtpSettings(s));
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  const img = await tdb.execute(
    `INSERT INTO inline_image (expire, temp_id, item_class, item_id, contents_data, contents_mimetype, contents_filename, secret) ` +
      "VALUES ('2026-11-25 00:00:00', '', 'UserRequest', 4, ?, 'image/png', 'logo.png', 'a1b2c3')",
    [png],
  );
  const v2: V2Message = {
    from: { address: 'helpdesk@example.com', label: 'Help Desk' },
    subject: 'Résumé R-1',
    body: { body: `<p>Hi</p><img data-img-id="${img.insertId}" data-img-secret="a1b2c3" src="x.png"><img data-img-id="${img.insertId}" data-img-secret="wrong" src="y.png">`, mimeType: 'text/html' },
    to: 'a@example.com, "B, Person" <b@example.com>',
    cc: 'c@example.com',
    bcc: 'd@example.com',
    replyTo: { address: 'reply@example.com', label: '' },
    attachments: [{ data: Buffer.from('hello'), filename: 'hello.txt', mimeType: 'text/plain' }],
    messageId: 'id-1@example.com',
  };
  await queueMail({ db, config, clock, log: ctx().log }, v2);
  assert.equal(await task.process(ctx()), 'processed 1 tasks');
  const m = s.messages[0]!;
  assert.deepEqual(m.envelope.to.sort(), ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com']);
  const p = await simpleParser(m.raw, { keepCidLinks: true });
  assert.deepEqual(p.from?.value, [{ address: 'helpdesk@example.com', name: 'Help Desk' }]);
  assert.deepEqual(!Array.isArray(p.to) && p.to?.value, [{ address: 'a@example.com', name: '' }, { address: 'b@example.com', name: 'B, Person' }]);
  assert.equal(!Array.isArray(p.cc) && p.cc?.text, 'c@example.com');
  assert.equal(p.bcc, undefined, 'Bcc is not a header');
  assert.equal(p.replyTo?.text, 'reply@example.com');
  assert.equal(p.subject, 'Résumé R-1');
  assert.equal(p.messageId, '<id-1@example.com>');
  const file = p.attachments.find((a) => a.filename === 'hello.txt');
  assert.equal(file?.content.toString(), 'hello');
  const inline = p.attachments.find((a) => a.filename === 'logo.png');
  assert.ok(inline?.cid, 'the inline image is a cid part');
  assert.equal(inline.contentDisposition, 'inline');
  assert.deepEqual(inline.content, png);
  const html = String(p.html);
  assert.ok(html.includes(`src="cid:${inline.cid}"`), html);
  assert.ok(html.includes('data-img-secret="wrong" src="y.png"'), 'an image with a wrong secret is left alone');
});

test('bad input: corrupt message, unknown version, version 1, bad address, missing data — each row ends as iTop leaves it', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t);
  const { ctx, task, time, clock } = setup(t, tdb, smtpSettings(s));
  const ev = async () => insertEvent(tdb);
  const e1 = await ev();
  const corrupt = await insertTask(tdb, { eventId: e1, message: 'a:1:{s:4:"body";s:99:"short";}', created: '2026-11-24 00:10:01' });
  const e2 = await ev();
  const unknown = await insertTask(tdb, { eventId: e2, version: 3, message: 'whatever', created: '2026-11-24 00:10:02' });
  const v1 = await insertTask(tdb, { version: 1, message: 'O:5:"EMail":0:{}', created: '2026-11-24 00:10:03' });
  const e4 = await ev();
  const badTo = await insertTask(tdb, { eventId: e4, message: simple('Not an address', 'bad to'), created: '2026-11-24 00:10:04' });
  const e5 = await ev();
  const missing = await insertTask(tdb, { eventId: e5, noSubRow: true, created: '2026-11-24 00:10:05' });
  const good = await insertTask(tdb, { message: simple('ok@example.com', 'still sent'), created: '2026-11-24 00:10:06' });
  const later = await insertTask(tdb, { message: simple('ok@example.com', 'later'), planned: '2026-11-24 00:20:00' });

  assert.equal(await task.process(ctx()), 'processed 6 tasks');
  const now = clock.format(time.now);
  const failed = async (id: number) => {
    const r = await taskRow(tdb, id);
    assert.ok(r);
    assert.equal(r.status, 'error');
    assert.equal(r.started, null);
    assert.equal(r.planned, null);
    assert.equal(r.last_attempt, now);
    assert.equal(r.remaining_retries, 0);
    return r;
  };
  const c = await failed(corrupt);
  assert.match(c.last_error, /^Corrupted V2 message: /);
  assert.equal(await eventMessage(tdb, e1), `${c.last_error}\nFailed to process async task.`);
  assert.equal(await taskRow(tdb, unknown), undefined, 'an unknown version counts as done, as in iTop');
  assert.equal(await eventMessage(tdb, e2), 'Unknown version of the serialization format: 3');
  assert.match((await failed(v1)).last_error, /^Version 1 of the serialization format .* cannot be replayed by itop-cron/);
  assert.equal((await failed(badTo)).last_error, 'Invalid address in to: "Not an address"');
  assert.equal(await taskRow(tdb, missing), undefined, 'a task without its data is deleted');
  assert.match((await eventMessage(tdb, e5)) ?? '', /^Failed, corrupted data: no AsyncSendEmail row #\d+ in priv_async_send_email$/);
  assert.equal(await taskRow(tdb, good), undefined);
  assert.deepEqual(s.messages.map((m) => m.parsed.subject), ['still sent']);
  assert.equal((await taskRow(tdb, later))?.status, 'planned', 'not yet due');
});

test('an SMTP server that refuses with 550: the task ends in error with the reason; the next mail is tried', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t, { rejectWith: { code: 550, message: 'Mailbox unavailable', at: 'rcpt' } });
  const { ctx, task } = setup(t, tdb, smtpSettings(s, { 'itop_cron.smtp_timeout': 1 }));
  const ev = await insertEvent(tdb);
  const id = await insertTask(tdb, { eventId: ev, message: encodeV2({ to: 'u@example.com', subject: 's', body: { body: 'x', mimeType: 'text/plain' } }) });
  const next = await insertTask(tdb, { message: simple('v@example.com', 'next'), created: '2026-11-24 00:11:00' });
  assert.equal(await task.process(ctx()), 'processed 2 tasks');
  const r = await taskRow(tdb, id);
  assert.equal(r?.status, 'error');
  t.diagnostic(`last_error: ${r.last_error}`);
  assert.match(r.last_error, /550 Mailbox unavailable/);
  assert.equal(r.last_error_code, 550);
  assert.equal(await eventMessage(tdb, ev), `${r.last_error}\nFailed to process async task.`);
  assert.equal((await taskRow(tdb, next))?.status, 'error');
  assert.equal(s.messages.length, 0);
});

// The server's failure, not the message's (issue 16): the mail goes back untouched, no attempt counted.
for (const [name, opts] of [
  ['never answers (itop_cron.smtp_timeout=1)', { hang: true }],
  ['drops the connection mid-message', { dropMidMessage: true }],
] as const) {
  test(`an SMTP server that ${name}: the mail goes back to the queue as it was; sending pauses, the rest waits`, async (t) => {
    const tdb = await createTestDb(t);
    const s = await sink(t, opts as SinkOptions);
    const { ctx, task, lines } = setup(t, tdb, smtpSettings(s, { 'itop_cron.smtp_timeout': 1 }));
    const ev = await insertEvent(tdb);
    const body = 'x'.repeat(200_000); // big enough for the drop to happen while the data is sent
    const id = await insertTask(tdb, { eventId: ev, message: encodeV2({ to: 'u@example.com', subject: 's', body: { body, mimeType: 'text/plain' } }) });
    const next = await insertTask(tdb, { message: simple('v@example.com', 'next'), created: '2026-11-24 00:11:00' });
    const before = await taskRow(tdb, id);
    assert.equal(await task.process(ctx()), 'processed 0 tasks');
    assert.deepEqual(await taskRow(tdb, id), before, 'planned, retries, errors and last attempt untouched');
    assert.equal(before?.status, 'planned');
    assert.equal(await eventMessage(tdb, ev), 'Pending');
    assert.equal((await taskRow(tdb, next))?.status, 'planned');
    const warn = lines().find((l) => String(l['msg']).startsWith('Mail server unreachable since'));
    t.diagnostic(String(warn?.['msg']));
    assert.match(String(warn?.['msg']), /sending paused for 2s/);
    assert.equal(await task.process(ctx()), 'processed 0 tasks', 'paused: nothing is tried within the backoff');
    assert.equal(s.connections(), 1);
    assert.equal(s.messages.length, 0);
  });
}

test('retries: max_retries=2, retry_delay=5, exponential → planned +5 s, then +10 s, then error', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t, { rejectWith: { code: 451, message: 'Try again later', at: 'mail' } });
  const retries = { AsyncSendEmail: { max_retries: 2, retry_delay: 5, exponential_delay: true } };
  const { ctx, task, time } = setup(t, tdb, smtpSettings(s, { async_task_retries: retries }));
  const ev = await insertEvent(tdb);
  const id = await insertTask(tdb, { eventId: ev, message: simple('u@example.com', 'retry me') });
  const at = (hms: string): number => Date.parse(`2026-11-24T${hms}+01:00`);
  const expectRow = async (status: string, remaining: number, planned: string | null, attempt: string) => {
    const r = await taskRow(tdb, id);
    assert.deepEqual(
      [r?.status, r?.remaining_retries, r?.planned, r?.started, r?.last_attempt, r?.last_error_code],
      [status, remaining, planned, null, attempt, 451],
    );
    return r!.last_error;
  };

  time.now = at('00:18:50');
  assert.equal(await task.process(ctx()), 'processed 1 tasks');
  const err = await expectRow('planned', 1, '2026-11-24 00:18:55', '2026-11-24 00:18:50');
  assert.match(err, /451 Try again later/);
  assert.equal(await eventMessage(tdb, ev), `${err}\nFailed to process async task. Remaining retries: 2. Next retry in 5s`);

  time.now = at('00:18:55'); // planned < now is strict
  assert.equal(await task.process(ctx()), 'processed 0 tasks');

  time.now = at('00:18:58');
  assert.equal(await task.process(ctx()), 'processed 1 tasks');
  await expectRow('planned', 0, '2026-11-24 00:19:08', '2026-11-24 00:18:58');
  assert.equal(await eventMessage(tdb, ev), `${err}\nFailed to process async task. Remaining retries: 1. Next retry in 10s`);

  time.now = at('00:19:09');
  assert.equal(await task.process(ctx()), 'processed 1 tasks');
  await expectRow('error', 0, null, '2026-11-24 00:19:09');
  assert.equal(await eventMessage(tdb, ev), `${err}\nFailed to process async task.`);

  time.now = at('00:30:00');
  assert.equal(await task.process(ctx()), 'processed 0 tasks', 'error rows are never picked up again');
  assert.equal(s.messages.length, 0);
});

test('last_error is cut to 255 characters with " -truncated (N chars)"; the event keeps the whole text', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t);
  const { ctx, task } = setup(t, tdb, smtpSettings(s));
  const ev = await insertEvent(tdb);
  const to = `é${'x'.repeat(299)}`;
  const id = await insertTask(tdb, { eventId: ev, message: simple(to, 'long') });
  await task.process(ctx());
  const full = `Invalid address in to: "${to}"`;
  const r = await taskRow(tdb, id);
  const suffix = ` -truncated (${[...full].length} chars)`;
  assert.equal([...(r?.last_error ?? '')].length, 255);
  assert.equal(r?.last_error, [...full].slice(0, 255 - suffix.length).join('') + suffix);
  assert.equal(await eventMessage(tdb, ev), `${full}\nFailed to process async task.`);
});

test('retryPolicy reads async_task_retries by exact class name, with iTop defaults and PHP casts', async (t) => {
  const tdb = await createTestDb(t, { schema: false });
  const policy = (v: PhpArray[string] | undefined, cls = 'AsyncSendEmail') =>
    retryPolicy(configFor(tdb, v === undefined ? {} : { async_task_retries: v }), cls);
  assert.deepEqual(policy(undefined), { maxRetries: 0, retryDelay: 600, exponentialDelay: false });
  assert.deepEqual(policy({ AsyncSendEmail: { max_retries: '3', retry_delay: '30s', exponential_delay: 'false' } }), {
    maxRetries: 3, retryDelay: 30, exponentialDelay: true, // PHP: (int)'30s' = 30, (bool)'false' = true
  });
  assert.deepEqual(policy({ asyncsendemail: { max_retries: 3 } }), { maxRetries: 0, retryDelay: 600, exponentialDelay: false });
  assert.deepEqual(policy({ AsyncSendEmail: { max_retries: 1 } }), { maxRetries: 1, retryDelay: 600, exponentialDelay: false });
  assert.deepEqual(policy({ AsyncSendEmail: { max_retries: 1 } }, 'AsyncSendNewsroom').maxRetries, 0);
});

test('planFailure: the exponent uses the remaining count before the decrement; a later failure keeps the count', () => {
  const clock = createClock(TZ, () => T0);
  const policy = { maxRetries: 3, retryDelay: 10, exponentialDelay: true };
  const first = planFailure({ last_attempt: null, remaining_retries: 0 }, policy, 'boom', 0, clock);
  assert.deepEqual([first.update.remainingRetries, first.retryIn, first.update.planned], [2, 10, '2026-11-24 00:19:00']);
  const third = planFailure({ last_attempt: '2026-11-24 00:00:00', remaining_retries: 1 }, policy, 'boom', 0, clock);
  assert.deepEqual([third.update.remainingRetries, third.retryIn, third.update.status], [0, 40, 'planned']);
  const last = planFailure({ last_attempt: '2026-11-24 00:00:00', remaining_retries: 0 }, policy, 'boom', 0, clock);
  assert.deepEqual([last.update.status, last.update.planned, last.retryIn], ['error', null, undefined]);
  assert.equal(last.eventFallback, 'Failed to process async task, more details in the log');
  assert.equal(first.eventFallback, 'Failed to process async task. Remaining retries: 3. Next retry in 10s, more details in the log');
});

test('trimToColumn counts characters, not bytes', () => {
  assert.equal(trimToColumn('x'.repeat(255)), 'x'.repeat(255));
  const long = '€'.repeat(300);
  const cut = trimToColumn(long);
  assert.equal([...cut].length, 255);
  assert.equal(cut, `${'€'.repeat(255 - ' -truncated (300 chars)'.length)} -truncated (300 chars)`);
});
