/**
 * Threshold notifications, run 2 of the captures:
 * `email_asynchronous` on, ticket R-000004 crossing tto 75 %: the mail is queued as the V2
 * AsyncSendEmail row iTop wrote (message id aside), the event says `Pending`, then ExecAsyncTask sends
 * it and the event says `Sent`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeV2 } from '../src/mail/v2Message.js';
import { activateThresholdTriggers } from '../src/notify/index.js';
import { createExecAsyncTask } from '../src/tasks/ExecAsyncTask.js';
import { capture, capturedRows, eventRows, NOTIF, parseCapturedMail, queuedFormOfSentHtml, replay, setup } from './fixtures/notify/harness.js';
import { startSmtpSink } from './helpers/smtpSink.js';

const HIT = { class: 'UserRequest', id: 4, stopwatch: 'tto', threshold: 75 } as const;
const MESSAGE_ID = /^iTop_UserRequest_4_\d{10}\.\d{6}@a3453d1454c1970b3c6176658327cf1c-production\.openitop\.org$/;

for (const prefix of ['', 'pfx_']) {
  test(`run 2${prefix ? ' (table prefix)' : ''}: the queued V2 row and the pending event are iTop's; ExecAsyncTask sends the mail iTop sent`, async (t) => {
    if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
    const tdb = await replay(t, 'before-notification-async.sql', prefix);
    const sink = await startSmtpSink();
    t.after(() => sink.close());
    const { ctx } = setup(t, tdb, {
      email_transport: 'SMTP', 'email_transport_smtp.host': sink.host, 'email_transport_smtp.port': sink.port,
      email_asynchronous: true,
    }, '2026-11-24 00:39:58');
    await activateThresholdTriggers(ctx(), HIT);
    assert.equal(sink.messages.length, 0, 'queued, not sent');

    const real = await capturedRows(tdb, 'run2-async.queued-rows.sql');
    const [task] = await tdb.conn.query({ sql: `SELECT * FROM ${tdb.table('priv_async_task')} WHERE id = 4`, rowsAsArray: true });
    const [email] = await tdb.conn.query({ sql: `SELECT * FROM ${tdb.table('priv_async_send_email')} WHERE id = 4`, rowsAsArray: true });
    // iTop set `created` one second after the event date (00:39:59); the clock is pinned here.
    const expectedTask = [...(real.get('priv_async_task')?.[0] ?? [])];
    expectedTask[2] = '2026-11-24 00:39:58';
    assert.deepEqual((task as unknown[][])[0], expectedTask);
    const [ours, theirs] = [(email as unknown[][])[0] ?? [], real.get('priv_async_send_email')?.[0] ?? []];
    assert.deepEqual(ours.slice(0, 4), theirs.slice(0, 4), 'id, version, to, subject');
    const v2 = decodeV2(String(ours[4]));
    const realV2 = decodeV2(String(theirs[4]));
    assert.match(v2.messageId ?? '', MESSAGE_ID);
    assert.equal(v2.body?.body, readFileSync(capture('run2-async.queued-body.html'), 'utf8'), 'the CSS-inlined body, byte for byte');
    assert.deepEqual({ ...v2, messageId: '' }, { ...realV2, messageId: '' });
    assert.equal(String(ours[4]).replace(v2.messageId ?? '', realV2.messageId ?? ''), theirs[4], 'the serialized message, byte for byte');

    const pending = await capturedRows(tdb, 'run2-async.event-rows-pending.sql');
    assert.deepEqual(await eventRows(tdb, 2), [
      pending.get('priv_event')?.[0], pending.get('priv_event_notification')?.[0], pending.get('priv_event_email')?.[0],
    ]);

    assert.equal(await createExecAsyncTask().process(ctx()), 'processed 1 tasks');
    assert.equal(sink.messages.length, 1);
    const mail = sink.messages[0]!.parsed;
    const sent = await parseCapturedMail('run2-async-send.mail.log');
    assert.equal(mail.subject, sent.subject);
    assert.deepEqual(mail.from?.value, sent.from?.value);
    assert.deepEqual(mail.to, sent.to);
    assert.equal(mail.references, sent.references);
    assert.equal(mail.inReplyTo, '<iTop_UserRequest_4@a3453d1454c1970b3c6176658327cf1c-production.openitop.org>');
    assert.equal(mail.messageId, `<${v2.messageId}>`);
    assert.equal(mail.html, queuedFormOfSentHtml(String(sent.html)));
    const after = await capturedRows(tdb, 'run2-async-send.event-rows-after.sql');
    assert.deepEqual(await eventRows(tdb, 2), [
      after.get('priv_event')?.[0], after.get('priv_event_notification')?.[0], after.get('priv_event_email')?.[0],
    ]);
    assert.equal((await tdb.query(`SELECT id FROM ${tdb.table('priv_async_task')} WHERE id = 4`)).length, 0);
  });
}
