/**
 * queueOrSendMail: queued rows are the ones iTop's AddToQueue writes (compared with iTop's real queued
 * rows) and ExecAsyncTask sends them; synchronous sends go straight to the SMTP server.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { PhpArray } from '../src/config/types.js';
import { cronMailSettings, isAsynchronous, queueOrSendMail } from '../src/mail/queue.js';
import { createMailTransport, MailSendError } from '../src/mail/transport.js';
import { decodeV2 } from '../src/mail/v2Message.js';
import { createExecAsyncTask } from '../src/tasks/ExecAsyncTask.js';
import { createClock } from '../src/time/clock.js';
import { configFor, loadDumpRows, memoryLog, openTaskDb, taskContext } from './helpers/asyncTaskCtx.js';
import { NO_REFERENCE, referenceDir } from './helpers/reference.js';
import { startSmtpSink, type SinkOptions, type SmtpSink } from './helpers/smtpSink.js';
import { createTestDb, type TestDb } from './helpers/testDb.js';

const REF = referenceDir();

async function sink(t: TestContext, opts: SinkOptions = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(opts);
  t.after(() => s.close());
  return s;
}

function setup(t: TestContext, tdb: TestDb, s: SmtpSink, extra: PhpArray = {}, local = '2026-11-24 00:39:59') {
  const config = configFor(tdb, {
    email_transport: 'SMTP', 'email_transport_smtp.host': s.host, 'email_transport_smtp.port': s.port, ...extra,
  });
  const db = openTaskDb(t, config);
  const clock = createClock('Europe/Paris', () => Date.parse(`${local.replace(' ', 'T')}+01:00`));
  const { log } = memoryLog();
  return { db, config, clock, log, ctx: () => taskContext({ db, config, clock, log }) };
}

type Row = Record<string, unknown>;

async function queuedRows(tdb: TestDb, id: number): Promise<{ task: Row; email: Row }> {
  const [task] = await tdb.query<Row>(`SELECT * FROM ${tdb.table('priv_async_task')} WHERE id = ?`, [id]);
  const [email] = await tdb.query<Row>(`SELECT * FROM ${tdb.table('priv_async_send_email')} WHERE id = ?`, [id]);
  assert.ok(task && email, `queued rows #${id}`);
  return { task: { ...task, id: undefined }, email: { ...email, id: undefined } };
}

for (const [label, dump, id, eventId, created] of [
  ['a ticket notification (run 2, 9 keys, headers)', 'notifications/run2-async.queued-rows.sql', 4, 2, '2026-11-24 00:39:59'],
  ['a plain message (async-email-A)', 'outputs/async-email-A-queued.sql', 1, 0, '2026-11-24 00:14:59'],
] as const) {
  test(`a queued row is byte for byte what iTop wrote: ${label}; ExecAsyncTask then sends it`, async (t) => {
    if (REF === undefined) return t.skip(NO_REFERENCE);
    const tdb = await createTestDb(t, { prefix: 'q_' });
    await loadDumpRows(tdb, join(REF, dump));
    const s = await sink(t);
    const { ctx, db, config, clock, log } = setup(t, tdb, s, { email_asynchronous: true }, created);
    const real = await queuedRows(tdb, id);
    const v2 = decodeV2(String(real.email['message']));
    assert.equal(await queueOrSendMail({ db, config, clock, log }, v2, { eventId }), 'Pending');
    const ours = await queuedRows(tdb, id + 1);
    assert.deepEqual(ours, real);
    assert.equal(s.messages.length, 0, 'nothing sent while queueing');
    await tdb.execute(`DELETE FROM ${tdb.table('priv_async_task')} WHERE id = ?`, [id]);
    assert.equal(await createExecAsyncTask().process(ctx()), 'processed 1 tasks');
    assert.equal(s.messages[0]?.parsed.subject, v2.subject);
    assert.equal((await tdb.query(`SELECT id FROM ${tdb.table('priv_async_task')}`)).length, 0);
  });
}

test('email_asynchronous=false sends at once, through the given transport when there is one', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t);
  const { db, config, clock, log } = setup(t, tdb, s);
  const mctx = { db, config, clock, log };
  const v2 = { from: { address: 'itop@example.com', label: 'iTop' }, to: 'a@example.com', subject: 'now', body: { body: '<p>now</p>', mimeType: 'text/html' } };
  assert.equal(await queueOrSendMail(mctx, v2), 'Sent');
  const transport = createMailTransport(cronMailSettings(config), log);
  try {
    assert.equal(await queueOrSendMail(mctx, { ...v2, subject: 'shared 1' }, { transport }), 'Sent');
    assert.equal(await queueOrSendMail(mctx, { ...v2, subject: 'shared 2' }, { transport }), 'Sent', 'the shared transport stays open');
  } finally {
    transport.close();
  }
  assert.deepEqual(s.messages.map((m) => m.parsed.subject), ['now', 'shared 1', 'shared 2']);
  assert.deepEqual(s.messages[0]?.parsed.from?.value, [{ address: 'itop@example.com', name: 'iTop' }]);
  assert.equal((await tdb.query('SELECT id FROM priv_async_task')).length, 0);
  assert.equal(await queueOrSendMail(mctx, v2, { forceAsync: true, eventId: 9 }), 'Pending');
  const [row] = await tdb.query<{ event_id: number; status: string; created: string }>('SELECT event_id, status, created FROM priv_async_task');
  assert.deepEqual(row, { event_id: 9, status: 'planned', created: '2026-11-24 00:39:59' });
});

test('a synchronous send that fails throws and queues nothing', async (t) => {
  const tdb = await createTestDb(t);
  const s = await sink(t, { rejectWith: { code: 554, message: 'No thanks' } });
  const { db, config, clock, log } = setup(t, tdb, s, { email_asynchronous: true });
  const v2 = { to: 'a@example.com', subject: 'refused', body: { body: 'x', mimeType: 'text/plain' } };
  await assert.rejects(queueOrSendMail({ db, config, clock, log }, v2, { forceSync: true }), (e: MailSendError) => {
    assert.ok(e instanceof MailSendError);
    assert.match(e.message, /554 No thanks/);
    return true;
  });
  await assert.rejects(queueOrSendMail({ db, config, clock, log }, { ...v2, to: 'not an address' }, { forceSync: true }), /Invalid address in to/);
  assert.equal((await tdb.query('SELECT id FROM priv_async_task')).length, 0);
});

test('isAsynchronous follows email_asynchronous with PHP truthiness; cronMailSettings reads itop_cron.smtp_timeout', async (t) => {
  const tdb = await createTestDb(t, { schema: false });
  const cfg = (settings: PhpArray) => configFor(tdb, settings);
  assert.equal(isAsynchronous(cfg({})), false);
  assert.equal(isAsynchronous(cfg({ email_asynchronous: true })), true);
  assert.equal(isAsynchronous(cfg({ email_asynchronous: 'false' })), true, "PHP's (bool)'false' is true");
  assert.equal(isAsynchronous(cfg({ email_asynchronous: '0' })), false);
  assert.equal(isAsynchronous(cfg({ email_asynchronous: true }), { forceSync: true }), false);
  assert.equal(isAsynchronous(cfg({}), { forceAsync: true, forceSync: true }), true);
  assert.equal(cronMailSettings(cfg({})).timeoutMs, undefined);
  assert.equal(cronMailSettings(cfg({ 'itop_cron.smtp_timeout': '7' })).timeoutMs, 7000);
});
