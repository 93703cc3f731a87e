/**
 * Threshold notifications, run 1 of the captures: the
 * dump taken right before iTop's cron, ticket R-000003 crossing tto 75 %, ActionEmail #5 sent at once.
 * The mail, the event rows, the subscription row and its history are compared with what iTop wrote.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { simpleParser } from 'mailparser';
import { activateThresholdTriggers } from '../src/notify/index.js';
import { capture, capturedRows, eventRows, NOTIF, parseCapturedMail, queuedFormOfSentHtml, replay, setup } from './fixtures/notify/harness.js';
import { startSmtpSink } from './helpers/smtpSink.js';
import { tempDir } from './helpers/tempDir.js';

const HIT = { class: 'UserRequest', id: 3, stopwatch: 'tto', threshold: 75 } as const;
const MESSAGE_ID = /^<iTop_UserRequest_3_\d{10}\.\d{6}@a3453d1454c1970b3c6176658327cf1c-production\.openitop\.org>$/;

test('run 1: the mail sent over SMTP carries the fields, headers and body iTop sent', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const tdb = await replay(t, 'before-notification.sql');
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const { ctx } = setup(t, tdb, {
    email_transport: 'SMTP', 'email_transport_smtp.host': sink.host, 'email_transport_smtp.port': sink.port,
    email_asynchronous: false,
  }, '2026-11-24 00:38:05');
  await activateThresholdTriggers(ctx(), HIT);

  assert.equal(sink.messages.length, 1);
  const mail = sink.messages[0]!;
  const real = await parseCapturedMail('run1-sync.mail.log');
  assert.equal(mail.parsed.subject, real.subject);
  assert.equal(mail.parsed.subject, 'Ticket R-000003 reached 75% of TTO');
  assert.deepEqual(mail.parsed.from?.value, real.from?.value);
  assert.deepEqual(mail.parsed.from?.value, [{ address: 'itop@example.com', name: 'iTop Helpdesk' }]);
  assert.deepEqual(mail.parsed.to, real.to);
  assert.equal(mail.parsed.cc, undefined);
  assert.equal(mail.parsed.replyTo, undefined);
  assert.deepEqual(mail.envelope, { from: 'itop@example.com', to: ['caller.notif@example.com'] });
  assert.equal(mail.parsed.references, real.references);
  assert.equal(mail.parsed.references, '<iTop_UserRequest_3@a3453d1454c1970b3c6176658327cf1c-production.openitop.org>');
  // iTop Q-encodes In-Reply-To (brackets inside the encoded word): decoded, the value is the same.
  assert.equal(mail.parsed.inReplyTo, '<iTop_UserRequest_3@a3453d1454c1970b3c6176658327cf1c-production.openitop.org>');
  assert.match(mail.parsed.messageId ?? '', MESSAGE_ID);
  assert.equal(mail.parsed.html, queuedFormOfSentHtml(String(real.html)));
  assert.match(mail.raw.toString(), /Content-Type: text\/html; charset=utf-8/i);
});

test('run 1: event, subscription, history change and app preferences rows are iTop\'s', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const tdb = await replay(t, 'before-notification.sql');
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const { ctx } = setup(t, tdb, {
    email_transport: 'SMTP', 'email_transport_smtp.host': sink.host, 'email_transport_smtp.port': sink.port,
  }, '2026-11-24 00:38:05');
  const changesBefore = (await tdb.query('SELECT id FROM priv_change')).length;
  await activateThresholdTriggers(ctx(), HIT);

  const real = await capturedRows(tdb, 'run1-sync.event-rows.sql');
  assert.deepEqual(await eventRows(tdb, 1), [
    real.get('priv_event')?.[0], real.get('priv_event_notification')?.[0], real.get('priv_event_email')?.[0],
  ]);
  const sub = await capturedRows(tdb, 'run1-sync.subscription-row.sql');
  const [links] = await tdb.conn.query({ sql: 'SELECT * FROM priv_lnk_action_notif_to_contact', rowsAsArray: true });
  assert.deepEqual(links, sub.get('priv_lnk_action_notif_to_contact'));
  const change = await tdb.query('SELECT date, userinfo, user_id, origin FROM priv_change ORDER BY id DESC LIMIT 1');
  assert.deepEqual(change, [{ date: '2026-11-24 00:38:05', userinfo: 'Automatic - threshold triggered', user_id: 1, origin: 'interactive' }]);
  assert.equal((await tdb.query('SELECT id FROM priv_change')).length, changesBefore + 1, 'one change');
  const ops = await tdb.query(
    'SELECT o.objclass, o.objkey, o.optype, (SELECT COUNT(*) FROM priv_changeop_create c WHERE c.id = o.id) AS created ' +
      'FROM priv_changeop o WHERE o.changeid = (SELECT MAX(id) FROM priv_change)',
  );
  assert.deepEqual(ops, [{ objclass: 'lnkActionNotificationToContact', objkey: 1, optype: 'CMDBChangeOpCreate', created: '1' }]);
  assert.deepEqual(await tdb.query('SELECT userid, preferences FROM priv_app_preferences'), [{ userid: 1, preferences: 'a:0:{}' }]);
  assert.equal((await tdb.query('SELECT id FROM priv_async_task WHERE event_id = 1')).length, 0, 'nothing queued');

  // A second activation finds the subscription: no new link, no new change.
  await activateThresholdTriggers(ctx(), HIT);
  assert.equal((await tdb.query('SELECT id FROM priv_lnk_action_notif_to_contact')).length, 1);
  assert.equal((await tdb.query('SELECT id FROM priv_change')).length, changesBefore + 1);
  assert.equal(sink.messages.length, 2);
});

test('run 1 with the LogFile transport: log/mail.log holds the message iTop would write', async (t) => {
  if (NOTIF === undefined) return t.skip('reference/itop-3.2 not found');
  const tdb = await replay(t, 'before-notification.sql');
  const root = tempDir('itop-notify-');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(root, 'log'));
  const base = setup(t, tdb, { email_transport: 'LogFile' }, '2026-11-24 00:38:05');
  const ctx = { ...base.ctx(), config: { ...base.config, appRoot: root } };
  await activateThresholdTriggers(ctx, HIT);
  const written = await simpleParser(readFileSync(join(root, 'log', 'mail.log')));
  const real = await parseCapturedMail('run1-sync.mail.log');
  assert.equal(written.subject, real.subject);
  assert.deepEqual(written.from?.value, real.from?.value);
  // The LogFile transport of itop-cron appends a line break after each message (it keeps them all).
  assert.equal(String(written.html).trimEnd(), queuedFormOfSentHtml(String(real.html)).trimEnd());
  assert.deepEqual(await tdb.query('SELECT message FROM priv_event WHERE id = 1'), [{ message: 'Sent' }]);
  assert.ok(readFileSync(capture('run1-sync.mail.log')).length > 0);
});
